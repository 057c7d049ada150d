//! One broker's replica of the partition: a log of (epoch, record id) entries with its
//! leader-epoch checkpoint, and the real [`Progress`] for role, high watermark and ISR. The
//! leader side answers fetches and OffsetForLeaderEpoch as handlers/fetch.rs and
//! handlers/offset_for_leader_epoch.rs do; the follower side truncates and fetches as
//! replica/fetcher.rs does.

use std::time::{Duration, Instant};

use chronik_metadata::controller::AlterPartitionRequest;
use chronik_metadata::{BrokerId, NO_LEADER, PartitionState};
use chronik_wal::EpochCache;

use super::controller::TOPIC;
use super::network::{Altered, Body, CONTROLLER, FetchReply};
use crate::replica::divergence::{epoch_end, truncation_point};
use crate::replica::{Progress, Role};

/// Entries a fetch answer carries at most.
const MAX_FETCH: usize = 8;

/// One record: the leader epoch it was written in and a unique id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub epoch: i32,
    pub record: u64,
}

/// The replica's timing parameters, in ticks.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timing {
    pub max_lag: u64,
    pub isr_period: u64,
    pub request_timeout: u64,
}

pub(super) struct Node {
    pub id: BrokerId,
    pub up: bool,
    /// Bumped by every restart; registers the broker anew.
    pub incarnation: u8,
    /// Durable: the WAL fsyncs before an ack and before a follower's next fetch.
    pub log: Vec<Entry>,
    pub epochs: EpochCache,
    /// The high-watermark file, saved now and then; survives crashes.
    pub saved_hw: Option<i64>,
    /// `None` until metadata reaches a (re)started broker.
    pub progress: Option<Progress>,
    partition_epoch: i32,
    /// As follower: when the outstanding fetch or query was sent, and for which role.
    outstanding: Option<(u64, Role)>,
    /// As leader: the ISR change last accepted, keyed by partition epoch (as isr.rs).
    isr_asked: Option<(i32, Vec<BrokerId>)>,
    /// As leader: when the AlterPartition in flight was sent (isr.rs sends one at a time).
    alter_sent: Option<u64>,
}

pub(super) type Out = Vec<(BrokerId, Body)>;

/// A simulated clock reading: `base` plus `tick` × 10 ms.
pub(super) fn instant(base: Instant, tick: u64) -> Instant {
    base + Duration::from_millis(tick * 10)
}

/// The partition layer's rule for a reader's leader epoch: -1 skips the check; any other
/// mismatch is refused.
fn epoch_refused(requested: i32, current: i32) -> bool {
    crate::partition::check_epoch(requested, current).is_err()
}

impl Node {
    pub fn new(id: BrokerId) -> Self {
        Node {
            id,
            up: true,
            incarnation: 0,
            log: Vec::new(),
            epochs: EpochCache::default(),
            saved_hw: None,
            progress: None,
            partition_epoch: -1,
            outstanding: None,
            isr_asked: None,
            alter_sent: None,
        }
    }

    pub fn end(&self) -> i64 {
        self.log.len() as i64
    }

    pub fn role(&self) -> Option<&Role> {
        self.progress.as_ref().map(|p| p.role())
    }

    /// The epoch this node leads at, if up and leading.
    pub fn leading(&self) -> Option<i32> {
        self.progress.as_ref().filter(|_| self.up)?.leader_epoch()
    }

    pub fn high_watermark(&self) -> Option<i64> {
        self.progress.as_ref().map(|p| p.high_watermark())
    }

    /// How many replicas this leader knows to hold `offset`, once its mark has passed it.
    pub fn replicas_holding(&self, offset: i64) -> Option<usize> {
        self.progress.as_ref()?.replicas_holding(offset)
    }

    /// A crash: only the durable log and the saved high watermark survive.
    pub fn crash(&mut self) {
        self.up = false;
        self.progress = None;
        self.partition_epoch = -1;
        self.outstanding = None;
        self.isr_asked = None;
        self.alter_sent = None;
    }

    pub fn restart(&mut self) {
        self.up = true;
        self.incarnation = self.incarnation.wrapping_add(1);
    }

    pub fn save_high_watermark(&mut self) {
        if let Some(hw) = self.high_watermark() {
            self.saved_hw = Some(hw);
        }
    }

    fn truncate(&mut self, end: i64) {
        self.log.truncate(end as usize);
        self.epochs.truncate_from_end(end);
    }

    fn push(&mut self, entry: Entry) {
        self.epochs.assign(entry.epoch, self.end());
        self.log.push(entry);
    }

    /// A client append (acks=all) at the leader. `None` when this node does not lead or the
    /// ISR it knows is smaller than `min_isr` (NOT_ENOUGH_REPLICAS).
    pub fn append(&mut self, record: u64, min_isr: usize) -> Option<(i32, i64)> {
        let epoch = self.leading()?;
        match self.role()? {
            Role::Leader { isr, .. } if isr.len() >= min_isr => {}
            _ => return None,
        }
        let offset = self.end();
        self.push(Entry { epoch, record });
        let end = self.end();
        self.progress.as_mut()?.advance(end);
        Some((epoch, offset))
    }

    /// Applies the controller's partition state when it is newer than what this node has.
    pub fn metadata(&mut self, ps: &PartitionState, now: Instant) {
        if ps.partition_epoch <= self.partition_epoch {
            return;
        }
        self.partition_epoch = ps.partition_epoch;
        let role = if ps.leader == self.id {
            Role::Leader {
                epoch: ps.leader_epoch,
                partition_epoch: ps.partition_epoch,
                isr: ps.isr.clone(),
                replicas: ps.replicas.clone(),
            }
        } else {
            Role::Follower {
                leader: ps.leader,
                epoch: ps.leader_epoch,
            }
        };
        let end = self.end();
        match &mut self.progress {
            Some(p) => {
                p.set_role(role, end, now);
            }
            None => {
                self.progress = Some(Progress::new(self.id, role, (0, end), self.saved_hw, now));
            }
        }
    }

    /// The periodic work of an up node: as follower, truncate or fetch; as leader, ask the
    /// controller for the ISR `Progress::wanted_isr` gives.
    pub fn tick(&mut self, tick: u64, base: Instant, timing: Timing, out: &mut Out) {
        match self
            .progress
            .as_ref()
            .filter(|_| self.up)
            .map(|p| p.role().clone())
        {
            Some(Role::Follower { leader, epoch }) if leader != NO_LEADER => {
                self.follow(tick, timing, (leader, epoch), out)
            }
            Some(Role::Leader {
                epoch,
                partition_epoch,
                ..
            }) => self.ask_for_isr(tick, base, timing, (epoch, partition_epoch), out),
            _ => {}
        }
    }

    /// As fetcher.rs `round`: truncate first in a new epoch, then fetch, one request at a time.
    fn follow(
        &mut self,
        tick: u64,
        timing: Timing,
        (leader, epoch): (BrokerId, i32),
        out: &mut Out,
    ) {
        let end = self.end();
        let p = self.progress.as_mut().expect("a follower has progress");
        let waiting = (self.outstanding.as_ref())
            .is_some_and(|(at, role)| tick - at < timing.request_timeout && role == p.role());
        if waiting {
            return;
        }
        if !p.needs_truncation() {
            out.push((leader, Body::Fetch { epoch, offset: end }));
        } else if let Some(latest) = self.epochs.latest() {
            let asked = latest.epoch;
            out.push((leader, Body::EpochQuery { epoch, asked }));
        } else {
            // An empty log has nothing to diverge.
            p.truncated(epoch, end);
            return;
        }
        self.outstanding = Some((tick, p.role().clone()));
    }

    /// As isr.rs: every period, one AlterPartition at a time, not repeated once accepted.
    fn ask_for_isr(
        &mut self,
        tick: u64,
        base: Instant,
        timing: Timing,
        (epoch, partition_epoch): (i32, i32),
        out: &mut Out,
    ) {
        let in_flight = (self.alter_sent).is_some_and(|at| tick - at < timing.request_timeout);
        if !tick.is_multiple_of(timing.isr_period) || in_flight {
            return;
        }
        let end = self.end();
        let p = self.progress.as_mut().expect("a leader has progress");
        let max_lag = Duration::from_millis(timing.max_lag * 10);
        let Some(wanted) = p.wanted_isr(end, instant(base, tick), max_lag) else {
            return;
        };
        if self.isr_asked.as_ref() == Some(&(partition_epoch, wanted.clone())) {
            return;
        }
        p.isr_requested(partition_epoch, &wanted);
        let req = AlterPartitionRequest {
            broker_id: self.id,
            topic_id: TOPIC,
            partition: 0,
            leader_epoch: epoch,
            partition_epoch,
            new_isr: wanted,
        };
        out.push((CONTROLLER, Body::Alter(req)));
        self.alter_sent = Some(tick);
    }

    /// Handles one message addressed to this (up) node; answers go to `out`.
    pub fn receive(&mut self, from: BrokerId, body: Body, now: Instant, out: &mut Out) {
        match body {
            Body::Fetch { epoch, offset } => {
                let reply = self.serve_fetch(from, epoch, offset, now);
                out.push((from, Body::FetchReply { epoch, reply }));
            }
            Body::EpochQuery { epoch, asked } => {
                let answer = self.serve_epoch_query(epoch, asked);
                out.push((
                    from,
                    Body::EpochReply {
                        epoch,
                        asked,
                        answer,
                    },
                ));
            }
            Body::FetchReply { epoch, reply } => self.fetched(from, epoch, reply),
            Body::EpochReply {
                epoch,
                asked,
                answer,
            } => self.epoch_answered(from, epoch, asked, answer),
            Body::AlterReply {
                partition_epoch,
                isr,
                outcome,
            } => self.alter_answered(partition_epoch, isr, outcome),
            Body::Metadata { state, incarnation } => {
                if incarnation == Some(self.incarnation) {
                    self.metadata(&state, now);
                }
            }
            Body::Heartbeat { .. } | Body::Alter(_) => {}
        }
    }

    /// As the partition layer serves a follower: `PartitionLayer::follower_fetched`, then
    /// `PartitionLayer::read` up to the log end.
    fn serve_fetch(&mut self, from: BrokerId, epoch: i32, offset: i64, now: Instant) -> FetchReply {
        let end = self.log.len() as i64;
        let Some(p) = self.progress.as_mut() else {
            return FetchReply::Refused;
        };
        let Some(current) = p.leader_epoch() else {
            return FetchReply::Refused;
        };
        if epoch_refused(epoch, current) {
            return FetchReply::Refused;
        }
        p.follower_fetched(from, offset, end, now);
        p.advance(end);
        let high_watermark = p.high_watermark();
        if offset < 0 || offset > end {
            return FetchReply::OutOfRange { leader_end: end };
        }
        let upto = end.min(offset + MAX_FETCH as i64);
        FetchReply::Records {
            base: offset,
            entries: self.log[offset as usize..upto as usize].to_vec(),
            high_watermark,
        }
    }

    /// As handlers/offset_for_leader_epoch.rs.
    fn serve_epoch_query(&self, epoch: i32, asked: i32) -> Option<(i32, i64)> {
        let current = self.progress.as_ref()?.leader_epoch()?;
        if epoch_refused(epoch, current) {
            return None;
        }
        let end = self.end();
        let first_start = self.epochs.entries().first().map(|e| e.start_offset);
        let lookup = self.epochs.end_offset_for(asked, end);
        Some(epoch_end(asked, current, end, lookup, first_start))
    }

    /// Whether an answer from `from` at `epoch` is for the role this node still has.
    fn follows(&self, from: BrokerId, epoch: i32) -> bool {
        matches!(self.role(), Some(Role::Follower { leader, epoch: e }) if *leader == from && *e == epoch)
    }

    /// As fetcher.rs `cut_divergent`.
    fn epoch_answered(
        &mut self,
        from: BrokerId,
        epoch: i32,
        asked: i32,
        answer: Option<(i32, i64)>,
    ) {
        if !self.follows(from, epoch) {
            return;
        }
        self.outstanding = None;
        let Some(answer) = answer else {
            return;
        };
        let p = self.progress.as_ref().expect("a follower has progress");
        if !p.needs_truncation() {
            return;
        }
        let end = self.end();
        let target = truncation_point((0, end), p.high_watermark(), asked, answer, |e| {
            self.epochs.end_offset_for(e, end)
        });
        if target < end {
            self.truncate(target);
        }
        let end = self.end();
        let p = self.progress.as_mut().expect("a follower has progress");
        p.truncated(epoch, end);
    }

    /// As fetcher.rs `apply`, `append` and `out_of_range`.
    fn fetched(&mut self, from: BrokerId, epoch: i32, reply: FetchReply) {
        if !self.follows(from, epoch) {
            return;
        }
        self.outstanding = None;
        match reply {
            FetchReply::Refused => {}
            FetchReply::OutOfRange { leader_end } => {
                if self.end() > leader_end {
                    self.truncate(leader_end);
                    let end = self.end();
                    let p = self.progress.as_mut().expect("a follower has progress");
                    p.truncated(epoch, end);
                }
            }
            FetchReply::Records {
                base,
                entries,
                high_watermark,
            } => {
                for (offset, entry) in (base..).zip(entries) {
                    if offset < self.end() {
                        continue;
                    }
                    if offset > self.end() {
                        return;
                    }
                    self.push(entry);
                }
                let end = self.end();
                let p = self.progress.as_mut().expect("a follower has progress");
                p.follow_high_watermark(high_watermark, end);
            }
        }
    }

    /// As isr.rs: an accepted change is not asked again at its partition epoch and replaces
    /// the members asked for before it; one whose ISR was refused no longer holds the high
    /// watermark back.
    fn alter_answered(&mut self, partition_epoch: i32, isr: Vec<BrokerId>, outcome: Altered) {
        self.alter_sent = None;
        match outcome {
            Altered::Accepted => {
                let end = self.end();
                if let Some(p) = self.progress.as_mut() {
                    p.isr_accepted(partition_epoch, &isr, end);
                }
                self.isr_asked = Some((partition_epoch, isr));
            }
            Altered::IsrRefused => {
                if let Some(p) = self.progress.as_mut() {
                    p.isr_request_refused(partition_epoch);
                }
            }
            Altered::Refused => {}
        }
    }
}
