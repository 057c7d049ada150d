//! A partition replica's role and replication progress as pure state: no I/O, no clock of its
//! own (callers pass `now`), so the ISR and high-watermark rules are tested deterministically.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chronik_metadata::BrokerId;

use super::isr_sizes::IsrSizes;

/// What the metadata says this broker is for a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    /// Takes writes; followers fetch from it.
    Leader {
        epoch: i32,
        partition_epoch: i32,
        isr: Vec<BrokerId>,
        replicas: Vec<BrokerId>,
    },
    /// Copies the leader's log. `leader` is [`chronik_metadata::NO_LEADER`] while offline.
    Follower { leader: BrokerId, epoch: i32 },
}

impl Role {
    pub fn epoch(&self) -> i32 {
        match self {
            Role::Leader { epoch, .. } | Role::Follower { epoch, .. } => *epoch,
        }
    }
}

/// What the leader knows of one follower.
#[derive(Debug, Clone, Copy)]
struct FollowerProgress {
    /// The follower's log end offset: the offset it last fetched from.
    end_offset: i64,
    /// When the follower last had everything the leader had (Kafka's lastCaughtUpTime).
    caught_up_at: Instant,
    /// The leader's log end offset and the time of the follower's previous fetch: a fetch
    /// reaching that offset means the follower was caught up at that time.
    previous_fetch: Option<(i64, Instant)>,
    /// The follower's log start offset as its last fetch reported it (-1: not heard yet):
    /// DeleteRecords waits for the ISR to move theirs.
    log_start: i64,
}

/// A replica's role, high watermark and (as leader) its followers' progress.
#[derive(Debug)]
pub(crate) struct Progress {
    /// This broker.
    me: BrokerId,
    role: Role,
    /// Offsets below it are on every ISR member: what consumers may read, what acks=all waits for.
    high_watermark: i64,
    followers: BTreeMap<BrokerId, FollowerProgress>,
    /// As follower: the epoch whose divergent tail was already truncated (fetching waits for it).
    truncated_for: Option<i32>,
    /// As leader: the partition epoch and the members of the ISR changes asked of the
    /// controller at it and not refused. The controller may commit such a change before this
    /// leader hears of it, and may then elect a member it added, so the high watermark waits
    /// for those members too (Kafka's maximal ISR) until the metadata moves on.
    requested: Option<(i32, Vec<BrokerId>)>,
    /// As leader: the log end when this leadership began (Kafka's leader epoch start offset).
    /// Records below it may have been acknowledged by the previous leader above this one's
    /// (lagging) high watermark, so a replica rejoins the ISR only once it holds them.
    leader_start: i64,
    /// The maximal ISR's size through the high watermark's moves, for acks=all waiters.
    isr_sizes: IsrSizes,
}

impl Progress {
    /// A replica that starts as `role`, with the high watermark it saved before a restart
    /// (kept inside the log) or, without one, the log start (a sole leader moves it to its log
    /// end at once).
    pub fn new(
        me: BrokerId,
        role: Role,
        (log_start, log_end): (i64, i64),
        saved_high_watermark: Option<i64>,
        now: Instant,
    ) -> Self {
        let high_watermark = saved_high_watermark
            .map_or(log_start, |hw| hw.clamp(log_start, log_end.max(log_start)));
        let mut p = Progress {
            me,
            role: Role::Follower {
                leader: -1,
                epoch: -1,
            },
            high_watermark,
            followers: BTreeMap::new(),
            truncated_for: None,
            requested: None,
            leader_start: log_end,
            isr_sizes: IsrSizes::default(),
        };
        p.set_role(role, log_end, now);
        p
    }

    pub fn role(&self) -> &Role {
        &self.role
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// As leader, the members of the maximal ISR, which the high watermark is counted over:
    /// the ISR and the members of changes asked of the controller (0 as follower).
    fn maximal_isr_size(&self) -> usize {
        let Role::Leader { isr, .. } = &self.role else {
            return 0;
        };
        let requested = self.requested.as_ref().map_or(&[][..], |(_, m)| m);
        isr.len() + requested.iter().filter(|id| !isr.contains(id)).count()
    }

    /// As leader, how many replicas are known to hold `offset` once the high watermark has
    /// passed it: the larger of the maximal ISR the mark passed it under and the maximal ISR
    /// now, every member of which holds all below the mark. A producer's retry of a batch the
    /// mark passed while the ISR was too small is thus acknowledged once the ISR is whole
    /// again, as in Kafka, rather than refused for good. `None` before the mark passes it.
    pub fn replicas_holding(&self, offset: i64) -> Option<usize> {
        if !matches!(self.role, Role::Leader { .. }) || self.high_watermark <= offset {
            return None;
        }
        let now = self.maximal_isr_size();
        Some(
            self.isr_sizes
                .when_passed(offset)
                .map_or(now, |then| then.max(now)),
        )
    }

    /// Records the maximal ISR's size after a change that may have altered it, with the
    /// high watermark before the change: the mark moves on from there under the new ISR.
    fn note_isr(&mut self, high_watermark_before: i64) {
        let size = self.maximal_isr_size();
        self.isr_sizes.note(high_watermark_before, size);
    }

    /// The leader epoch when this replica leads, else `None`.
    pub fn leader_epoch(&self) -> Option<i32> {
        match self.role {
            Role::Leader { epoch, .. } => Some(epoch),
            Role::Follower { .. } => None,
        }
    }

    /// Applies the role the metadata now gives. A new leadership starts every follower's
    /// caught-up clock now (as Kafka does), so no follower is dropped from the ISR for time
    /// that passed before this broker led. Returns whether the role changed.
    pub fn set_role(&mut self, role: Role, log_end: i64, now: Instant) -> bool {
        if role == self.role {
            return false;
        }
        let before = self.high_watermark;
        let new_epoch = role.epoch() != self.role.epoch();
        if let Role::Leader { replicas, isr, .. } = &role {
            if new_epoch || !matches!(self.role, Role::Leader { .. }) {
                self.followers.clear();
                self.leader_start = log_end;
            }
            // A member the controller just removed (fenced, or lagging) rejoins only after
            // fetching again: its old progress would have this leader ask to add it back at
            // once, which the controller refuses while it is fenced.
            if let Role::Leader { isr: old_isr, .. } = &self.role {
                for id in old_isr.iter().filter(|id| !isr.contains(id)) {
                    self.followers.remove(id);
                }
            }
            for &r in replicas.iter().filter(|r| **r != self.me) {
                self.followers.entry(r).or_insert(FollowerProgress {
                    end_offset: -1,
                    caught_up_at: now,
                    previous_fetch: None,
                    log_start: -1,
                });
            }
            self.followers
                .retain(|id, _| replicas.contains(id) && *id != self.me);
        } else {
            self.followers.clear();
        }
        if new_epoch {
            self.truncated_for = None;
        }
        self.role = role;
        if self.requested_at() != self.partition_epoch() {
            self.requested = None;
        }
        self.advance(log_end);
        self.note_isr(before);
        true
    }

    fn partition_epoch(&self) -> Option<i32> {
        match self.role {
            Role::Leader {
                partition_epoch, ..
            } => Some(partition_epoch),
            Role::Follower { .. } => None,
        }
    }

    fn requested_at(&self) -> Option<i32> {
        self.requested.as_ref().map(|(pe, _)| *pe)
    }

    /// As leader: the ISR change to `isr` is about to be asked of the controller at
    /// `partition_epoch`; until the metadata moves past that epoch (or the controller refuses
    /// it) its members hold the high watermark back as if already in the ISR.
    pub fn isr_requested(&mut self, partition_epoch: i32, isr: &[BrokerId]) {
        if self.partition_epoch() != Some(partition_epoch) {
            return;
        }
        if self.requested_at() != Some(partition_epoch) {
            self.requested = Some((partition_epoch, Vec::new()));
        }
        if let Some((_, members)) = &mut self.requested {
            for id in isr {
                if !members.contains(id) {
                    members.push(*id);
                }
            }
        }
        self.note_isr(self.high_watermark);
    }

    /// As leader: the controller refused the ISR asked for at `partition_epoch` itself (a
    /// member not live, or not a replica), which it checks only while that partition epoch is
    /// current: nothing asked at it was committed.
    pub fn isr_request_refused(&mut self, partition_epoch: i32) {
        if self.requested_at() == Some(partition_epoch) {
            self.requested = None;
            self.note_isr(self.high_watermark);
        }
    }

    /// As leader: the controller accepted the ISR `isr` asked for at `partition_epoch`: it is
    /// the ISR at the next partition epoch, or already was, and nothing asked before it at
    /// that epoch was committed, so only its members still hold the mark back. Returns
    /// whether the high watermark moved.
    pub fn isr_accepted(&mut self, partition_epoch: i32, isr: &[BrokerId], log_end: i64) -> bool {
        if self.requested_at() != Some(partition_epoch) {
            return false;
        }
        let before = self.high_watermark;
        self.requested = Some((partition_epoch, isr.to_vec()));
        let moved = self.advance(log_end);
        self.note_isr(before);
        moved
    }

    /// As follower: whether the log must still be truncated against the leader for the
    /// current epoch before fetching.
    pub fn needs_truncation(&self) -> bool {
        matches!(self.role, Role::Follower { .. }) && self.truncated_for != Some(self.role.epoch())
    }

    /// As follower: the log was truncated to `log_end` against the leader of `epoch`.
    pub fn truncated(&mut self, epoch: i32, log_end: i64) {
        if self.role.epoch() == epoch {
            self.truncated_for = Some(epoch);
        }
        self.high_watermark = self.high_watermark.min(log_end);
    }

    /// As follower: the leader's high watermark, capped by what this log holds.
    pub fn follow_high_watermark(&mut self, leader_hw: i64, log_end: i64) {
        let hw = leader_hw.min(log_end);
        if hw > self.high_watermark {
            self.high_watermark = hw;
        }
    }

    /// As leader: follower `id` fetched from `fetch_offset`. Returns whether the high
    /// watermark moved. Fetches from a broker that is not a replica change nothing.
    pub fn follower_fetched(
        &mut self,
        id: BrokerId,
        fetch_offset: i64,
        log_end: i64,
        now: Instant,
    ) -> bool {
        let Some(f) = self.followers.get_mut(&id) else {
            return false;
        };
        f.end_offset = fetch_offset;
        if fetch_offset >= log_end {
            f.caught_up_at = now;
        } else if let Some((end_then, at)) = f.previous_fetch
            && fetch_offset >= end_then
        {
            f.caught_up_at = f.caught_up_at.max(at);
        }
        f.previous_fetch = Some((log_end, now));
        self.advance(log_end)
    }

    /// As leader: follower `id` reported its log start offset (in a fetch). Returns whether
    /// it changed.
    pub fn follower_log_start(&mut self, id: BrokerId, log_start: i64) -> bool {
        let Some(f) = self.followers.get_mut(&id) else {
            return false;
        };
        std::mem::replace(&mut f.log_start, log_start) != log_start
    }

    /// As leader: the lowest log start offset of the ISR, this leader's `local_start`
    /// included (Kafka's low watermark, which DeleteRecords waits on); `None` as follower. A
    /// member not heard from yet counts as -1.
    pub fn low_watermark(&self, local_start: i64) -> Option<i64> {
        let Role::Leader { isr, .. } = &self.role else {
            return None;
        };
        let lowest = (isr.iter())
            .filter(|id| **id != self.me)
            .map(|id| self.followers.get(id).map_or(-1, |f| f.log_start))
            .fold(local_start, i64::min);
        Some(lowest)
    }

    /// As leader: how many records the furthest-behind follower (in the ISR or not) lacks of
    /// `log_end`, for the replica-lag alert; a follower not heard from yet lacks everything
    /// since the log start. `None` as follower.
    pub fn max_follower_lag(&self, log_end: i64, log_start: i64) -> Option<i64> {
        if !matches!(self.role, Role::Leader { .. }) {
            return None;
        }
        let lag = (self.followers.values())
            .map(|f| log_end - f.end_offset.max(log_start))
            .fold(0, i64::max);
        Some(lag.max(0))
    }

    /// As leader: the log grew or the ISR changed; returns whether the high watermark moved.
    pub fn advance(&mut self, log_end: i64) -> bool {
        let Role::Leader { isr, .. } = &self.role else {
            return false;
        };
        let requested = self.requested.as_ref().map_or(&[][..], |(_, m)| m);
        // An ISR member this leader has not heard from yet holds the mark back.
        let min_isr = isr
            .iter()
            .chain(requested)
            .filter(|id| **id != self.me)
            .map(|id| self.followers.get(id).map_or(-1, |f| f.end_offset))
            .fold(log_end, i64::min);
        if min_isr > self.high_watermark {
            self.high_watermark = min_isr;
            true
        } else {
            false
        }
    }

    /// As leader: the ISR it should ask the controller for, when that differs from the
    /// current one or withdraws a member asked for earlier: members not caught up within
    /// `max_lag` leave; replicas that reached the high watermark and this leadership's start
    /// come back. `me` always stays.
    pub fn wanted_isr(
        &self,
        log_end: i64,
        now: Instant,
        max_lag: Duration,
    ) -> Option<Vec<BrokerId>> {
        let Role::Leader { isr, replicas, .. } = &self.role else {
            return None;
        };
        let keeps = |id: &BrokerId| {
            *id == self.me
                || self.followers.get(id).is_some_and(|f| {
                    now.saturating_duration_since(f.caught_up_at) <= max_lag
                        || f.end_offset >= log_end
                })
        };
        let joins = |id: &BrokerId| {
            self.followers.get(id).is_some_and(|f| {
                f.end_offset >= self.high_watermark.max(self.leader_start)
                    && f.end_offset >= 0
                    && now.saturating_duration_since(f.caught_up_at) <= max_lag
            })
        };
        let wanted: Vec<BrokerId> = replicas
            .iter()
            .copied()
            .filter(|id| {
                if isr.contains(id) {
                    keeps(id)
                } else {
                    joins(id)
                }
            })
            .collect();
        let same = wanted.len() == isr.len() && wanted.iter().all(|id| isr.contains(id));
        // A member asked for whose answer never came holds the mark back until an accepted
        // request leaves it out.
        let requested = self.requested.as_ref().map_or(&[][..], |(_, m)| m);
        let withdrawn = requested.iter().any(|id| !wanted.contains(id));
        (!same || withdrawn).then_some(wanted)
    }
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
