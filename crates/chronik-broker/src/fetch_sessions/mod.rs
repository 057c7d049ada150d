//! Fetch sessions (KIP-227): a consumer or follower that fetches the same partitions over and
//! over opens a session with one full fetch; after that it sends only the partitions whose
//! fetch position changed and those it stops reading, and the broker answers only for the
//! partitions with something new (records, a moved high watermark, last stable offset or log
//! start, or an error). An idle consumer of thousands of partitions then exchanges a few
//! bytes per fetch instead of every partition twice.
//!
//! The cache is bounded by a number of sessions (Kafka's
//! `max.incremental.fetch.session.cache.slots`) and by the partitions they hold
//! ([`MAX_CACHED_PARTITIONS`], so no client can grow it without limit). When full, a new
//! session takes the slot of the least recently used session idle for the eviction time;
//! failing that, as in Kafka, of the session that matters least — consumers before followers,
//! then fewer partitions first — if the new one matters more, where a consumer may only evict
//! sessions older than the eviction time (a follower any). Otherwise the client gets no session
//! (session id 0) and keeps sending full fetches. A client whose session was evicted gets
//! FETCH_SESSION_ID_NOT_FOUND and starts again with a full fetch, which clients do without
//! surfacing anything.
//!
//! Pure bookkeeping: the caller passes the time and does the reads.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chronik_types::TopicPartition;

#[cfg(test)]
mod tests;

/// Most partitions all sessions together hold: a session that would grow past it is closed,
/// and its client fetches in full.
pub(crate) const MAX_CACHED_PARTITIONS: usize = 200_000;

/// How a client reads one partition, as its last request for it said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionParams {
    pub fetch_offset: i64,
    pub log_start_offset: i64,
    pub current_leader_epoch: i32,
    pub max_bytes: i32,
}

/// The session part of a Fetch request.
#[derive(Debug)]
pub(crate) struct SessionRequest {
    pub session_id: i32,
    pub epoch: i32,
    /// The broker id of a follower; `None` for a consumer. Followers' sessions are kept
    /// before consumers' when slots run out, as Kafka does, and a follower holds one session:
    /// a new one replaces any it opened before, which it may have lost track of (a fetch
    /// abandoned while parked still opens its session).
    pub follower: Option<i32>,
    /// The partitions the request names, in its order.
    pub partitions: Vec<(TopicPartition, PartitionParams)>,
    /// Partitions an incremental request removes from its session.
    pub forgotten: Vec<TopicPartition>,
}

/// How a request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchContext {
    /// A full fetch outside any session (epoch -1): every partition, session id 0.
    Sessionless,
    /// A full fetch opening a session: every partition, and the new session's id (0 when
    /// none could be created).
    Full { session_id: i32 },
    /// A fetch in a session: only the partitions with something new.
    Incremental { session_id: i32 },
}

impl FetchContext {
    /// The session id the response carries.
    pub fn session_id(self) -> i32 {
        match self {
            FetchContext::Sessionless => 0,
            FetchContext::Full { session_id } | FetchContext::Incremental { session_id } => {
                session_id
            }
        }
    }
}

/// What to read for a request.
#[derive(Debug)]
pub(crate) struct Plan {
    pub context: FetchContext,
    /// Every partition to read, in response order: the request's for a full fetch, the
    /// session's for an incremental one.
    pub partitions: Vec<(TopicPartition, PartitionParams)>,
}

/// Why a request's session cannot be used; the whole fetch fails with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("no fetch session with this id (evicted, or the broker restarted): send a full fetch")]
    IdNotFound,
    #[error("the fetch session's epoch is not the one expected: send a full fetch")]
    InvalidEpoch,
}

/// What a partition's answer tells the client besides records; an incremental response
/// repeats a partition when this changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shown {
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
}

/// One partition's answer, as far as the session cares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer {
    pub shown: Shown,
    pub has_records: bool,
    pub failed: bool,
}

/// The sessions a broker keeps.
#[derive(Debug)]
pub(crate) struct FetchSessions {
    slots: usize,
    eviction_after: Duration,
    sessions: HashMap<i32, Session>,
    /// Partitions all sessions hold, at most `max_partitions`.
    partitions: usize,
    max_partitions: usize,
    evictions: u64,
}

#[derive(Debug)]
struct Session {
    follower: Option<i32>,
    /// The epoch the next request must carry.
    epoch: i32,
    created: Instant,
    last_used: Instant,
    /// The partitions in response order (by sequence number): those that returned records
    /// move to the end, so a busy partition cannot starve the ones after it.
    order: BTreeMap<u64, TopicPartition>,
    partitions: HashMap<TopicPartition, Cached>,
    next_seq: u64,
}

#[derive(Debug)]
struct Cached {
    seq: u64,
    params: PartitionParams,
    /// What the client was last told; `None` until it was told anything.
    shown: Option<Shown>,
}

impl FetchSessions {
    /// A cache of at most `slots` sessions (0 creates none); a session unused for
    /// `eviction_after` gives its slot to a new one.
    pub fn new(slots: usize, eviction_after: Duration) -> Self {
        FetchSessions {
            slots,
            eviction_after,
            sessions: HashMap::new(),
            partitions: 0,
            max_partitions: MAX_CACHED_PARTITIONS,
            evictions: 0,
        }
    }

    #[cfg(test)]
    fn with_max_partitions(mut self, max: usize) -> Self {
        self.max_partitions = max;
        self
    }

    /// Resolves a request's session: what to read, and how to answer.
    pub fn begin(&mut self, req: SessionRequest, now: Instant) -> Result<Plan, SessionError> {
        let SessionRequest {
            session_id,
            epoch,
            follower,
            partitions,
            forgotten,
        } = req;
        match (session_id, epoch) {
            (_, -1) => {
                self.close(session_id);
                Ok(Plan {
                    context: FetchContext::Sessionless,
                    partitions,
                })
            }
            (_, 0) => {
                self.close(session_id);
                let session_id = self.create(follower, &partitions, now);
                Ok(Plan {
                    context: FetchContext::Full { session_id },
                    partitions,
                })
            }
            (id, epoch) => self.continue_session(id, epoch, partitions, &forgotten, now),
        }
    }

    /// An incremental fetch in session `id`: the session updated with the request's
    /// partitions, all of which it then reads.
    fn continue_session(
        &mut self,
        id: i32,
        epoch: i32,
        partitions: Vec<(TopicPartition, PartitionParams)>,
        forgotten: &[TopicPartition],
        now: Instant,
    ) -> Result<Plan, SessionError> {
        let session = self.sessions.get_mut(&id).ok_or(SessionError::IdNotFound)?;
        if session.epoch != epoch {
            return Err(SessionError::InvalidEpoch);
        }
        let before = session.partitions.len();
        session.epoch = next_epoch(epoch);
        session.last_used = now;
        for (tp, params) in partitions {
            session.upsert(tp, params);
        }
        for tp in forgotten {
            session.remove(tp);
        }
        let after = session.partitions.len();
        self.partitions = self.partitions + after - before;
        if self.partitions > self.max_partitions {
            self.close(id);
            return Err(SessionError::IdNotFound);
        }
        if after == 0 {
            // Nothing left to fetch in it: closed, and answered without a session.
            self.close(id);
            return Ok(Plan {
                context: FetchContext::Sessionless,
                partitions: Vec::new(),
            });
        }
        let partitions = self
            .sessions
            .get(&id)
            .map(Session::in_order)
            .unwrap_or_default();
        Ok(Plan {
            context: FetchContext::Incremental { session_id: id },
            partitions,
        })
    }

    /// Drops session `id` (0: none), if kept.
    pub fn close(&mut self, id: i32) {
        if let Some(session) = self.sessions.remove(&id) {
            self.partitions -= session.partitions.len();
        }
    }

    /// Records what the response tells the client; returns, per answer, whether the response
    /// carries it.
    pub fn finish(
        &mut self,
        context: FetchContext,
        answers: &[(TopicPartition, Answer)],
    ) -> Vec<bool> {
        let (session_id, incremental) = match context {
            FetchContext::Sessionless => return vec![true; answers.len()],
            FetchContext::Full { session_id } => (session_id, false),
            FetchContext::Incremental { session_id } => (session_id, true),
        };
        // Evicted meanwhile: answering everything is still a valid response.
        let Some(session) = self.sessions.get_mut(&session_id) else {
            return vec![true; answers.len()];
        };
        (answers.iter())
            .map(|(tp, answer)| session.answered(tp, answer, incremental))
            .collect()
    }

    /// Sessions kept, and partitions they hold.
    pub fn size(&self) -> (usize, usize) {
        (self.sessions.len(), self.partitions)
    }

    /// Sessions evicted to make room for new ones since the broker started.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// A new session for a full fetch of `partitions`, or 0 when there is no room for it.
    fn create(
        &mut self,
        follower: Option<i32>,
        partitions: &[(TopicPartition, PartitionParams)],
        now: Instant,
    ) -> i32 {
        if follower.is_some() {
            let replaced: Vec<i32> = (self.sessions.iter())
                .filter(|(_, s)| s.follower == follower)
                .map(|(id, _)| *id)
                .collect();
            replaced.into_iter().for_each(|id| self.close(id));
        }
        let room = self.partitions + partitions.len() <= self.max_partitions;
        if partitions.is_empty()
            || !room
            || !self.make_room(follower.is_some(), partitions.len(), now)
        {
            return 0;
        }
        let mut session = Session {
            follower,
            epoch: 1,
            created: now,
            last_used: now,
            order: BTreeMap::new(),
            partitions: HashMap::new(),
            next_seq: 0,
        };
        for (tp, params) in partitions {
            session.upsert(tp.clone(), *params);
        }
        self.partitions += session.partitions.len();
        let id = loop {
            let id = rand::random_range(1..=i32::MAX);
            if !self.sessions.contains_key(&id) {
                break id;
            }
        };
        self.sessions.insert(id, session);
        id
    }

    /// Whether a slot is free, after evicting a session when needed and allowed: the least
    /// recently used one if idle for the eviction time, else the one that matters least if
    /// the new one (`follower`, `size` partitions) matters more; a consumer may evict only
    /// sessions older than the eviction time.
    fn make_room(&mut self, follower: bool, size: usize, now: Instant) -> bool {
        if self.sessions.len() < self.slots {
            return true;
        }
        let old = |s: &Session| now.saturating_duration_since(s.created) >= self.eviction_after;
        let stale = (self.sessions.iter())
            .min_by_key(|(_, s)| s.last_used)
            .filter(|(_, s)| now.saturating_duration_since(s.last_used) >= self.eviction_after)
            .map(|(id, _)| *id);
        let least = || {
            (self.sessions.iter())
                .filter(|(_, s)| follower || old(s))
                .min_by_key(|(_, s)| (s.follower.is_some(), s.partitions.len(), s.last_used))
                .filter(|(_, s)| (s.follower.is_some(), s.partitions.len()) < (follower, size))
                .map(|(id, _)| *id)
        };
        match stale.or_else(least) {
            Some(id) => {
                self.close(id);
                self.evictions += 1;
                true
            }
            None => false,
        }
    }
}

impl Session {
    fn upsert(&mut self, tp: TopicPartition, params: PartitionParams) {
        match self.partitions.get_mut(&tp) {
            // Named again with new parameters: answered in full next time, whatever the
            // client made of the last answer (a follower may have dropped it).
            Some(cached) if cached.params != params => {
                cached.params = params;
                cached.shown = None;
            }
            Some(_) => {}
            None => {
                let seq = self.take_seq();
                self.order.insert(seq, tp.clone());
                let cached = Cached {
                    seq,
                    params,
                    shown: None,
                };
                self.partitions.insert(tp, cached);
            }
        }
    }

    fn remove(&mut self, tp: &TopicPartition) {
        if let Some(cached) = self.partitions.remove(tp) {
            self.order.remove(&cached.seq);
        }
    }

    fn in_order(&self) -> Vec<(TopicPartition, PartitionParams)> {
        (self.order.values())
            .filter_map(|tp| Some((tp.clone(), self.partitions.get(tp)?.params)))
            .collect()
    }

    /// Records one answer; whether the response carries it.
    fn answered(&mut self, tp: &TopicPartition, answer: &Answer, incremental: bool) -> bool {
        let seq = self.next_seq;
        let Some(cached) = self.partitions.get_mut(tp) else {
            return true;
        };
        let changed = cached.shown != Some(answer.shown);
        cached.shown = Some(answer.shown);
        if incremental && answer.has_records {
            self.order.remove(&cached.seq);
            cached.seq = seq;
            self.order.insert(seq, tp.clone());
            self.next_seq += 1;
        }
        !incremental || answer.has_records || answer.failed || changed
    }

    fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq - 1
    }
}

/// The epoch after `epoch`: it wraps to 1, since 0 and -1 mean "open" and "close".
pub(crate) fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX { 1 } else { epoch + 1 }
}
