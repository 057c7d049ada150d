//! Broker sessions as the controller judges them, with no clock or I/O of its own so the
//! leadership rules can be tested deterministically.
//!
//! Sessions belong to one leadership term. Heartbeats reach only the leader, so a node that
//! (re)gains leadership knows nothing about what brokers did while it was not leading: like
//! Kafka's KRaft controller, it gives every broker a full session from the moment it learns
//! of its term, whatever timestamps it kept from an earlier term.
//!
//! A broker also holds a session stream open to the leader. Its process dying closes the
//! stream at once, so the leader need not wait out the whole session: the session is cut to
//! a short grace, which a live broker (one that merely lost its stream) outlives by
//! attaching again or heartbeating.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::BrokerId;

/// The sessions of one leadership term.
#[derive(Debug)]
pub(crate) struct Sessions {
    timeout: Duration,
    /// Term the expiries below were set in; `None` while not leading.
    term: Option<u64>,
    /// When this node learnt that it leads `term`: the session start of every broker it has
    /// not heard from since.
    term_start: Option<Instant>,
    expiry: HashMap<BrokerId, Instant>,
    /// Each broker's newest session stream in this term: only its closing counts, not that of
    /// one it replaced.
    streams: HashMap<BrokerId, StreamId>,
}

/// Names one session stream, unique within a node's life.
pub(crate) type StreamId = u64;

impl Sessions {
    pub fn new(timeout: Duration) -> Self {
        Sessions {
            timeout,
            term: None,
            term_start: None,
            expiry: HashMap::new(),
            streams: HashMap::new(),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Notes that this node leads `term` at `now`; a term it did not know starts every session
    /// afresh.
    pub fn leading(&mut self, term: u64, now: Instant) {
        if self.term != Some(term) {
            self.term = Some(term);
            self.term_start = Some(now);
            self.expiry.clear();
            self.streams.clear();
        }
    }

    /// Forgets every session: this node no longer leads.
    pub fn not_leading(&mut self) {
        self.term = None;
        self.term_start = None;
        self.expiry.clear();
        self.streams.clear();
    }

    /// A heartbeat (or registration) from `broker`, received while leading `term`.
    pub fn heard_from(&mut self, term: u64, broker: BrokerId, now: Instant) {
        self.leading(term, now);
        self.expiry.insert(broker, now + self.timeout);
    }

    /// `broker` opened session stream `stream` while this node leads `term`; that renews its
    /// session like a heartbeat.
    pub fn attached(&mut self, term: u64, broker: BrokerId, stream: StreamId, now: Instant) {
        self.heard_from(term, broker, now);
        self.streams.insert(broker, stream);
    }

    /// Session stream `stream` of `broker` closed at `now`. When it is the broker's newest in
    /// the current `term`, the session is cut to end within `grace`; returns whether it was.
    pub fn detached(
        &mut self,
        term: u64,
        broker: BrokerId,
        stream: StreamId,
        now: Instant,
        grace: Duration,
    ) -> bool {
        if self.term != Some(term) || self.streams.get(&broker) != Some(&stream) {
            return false;
        }
        self.streams.remove(&broker);
        let Some(start) = self.term_start else {
            return false;
        };
        let expiry = (self.expiry.get(&broker).copied()).unwrap_or(start + self.timeout);
        self.expiry.insert(broker, expiry.min(now + grace));
        true
    }

    /// The broker asked to be fenced (controlled shutdown): no session to keep.
    pub fn forget(&mut self, broker: BrokerId) {
        self.expiry.remove(&broker);
        self.streams.remove(&broker);
    }

    /// Whether `broker`'s session in `term` has run out at `now`. Outside the term this node
    /// knows it leads, nothing has expired.
    pub fn expired(&self, term: u64, broker: BrokerId, now: Instant) -> bool {
        if self.term != Some(term) {
            return false;
        }
        let Some(start) = self.term_start else {
            return false;
        };
        let expiry = (self.expiry.get(&broker).copied()).unwrap_or(start + self.timeout);
        expiry <= now
    }

    /// Whether `broker` has a session this node vouches for at `now` (heard from in the
    /// current term, not yet expired).
    pub fn live(&self, broker: BrokerId, now: Instant) -> bool {
        (self.expiry.get(&broker)).is_some_and(|e| *e > now)
    }

    /// Of `brokers` (those the metadata shows live), the ones whose session in `term` has run
    /// out at `now`.
    pub fn expired_of(
        &self,
        term: u64,
        brokers: impl IntoIterator<Item = BrokerId>,
        now: Instant,
    ) -> Vec<BrokerId> {
        (brokers.into_iter())
            .filter(|b| self.expired(term, *b, now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(3);

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn a_broker_heard_from_stays_live_for_one_timeout() {
        let t0 = Instant::now();
        let mut s = Sessions::new(TIMEOUT);
        s.leading(5, t0);
        s.heard_from(5, 1, at(t0, 1_000));
        assert!(!s.expired(5, 1, at(t0, 3_999)));
        assert!(s.expired(5, 1, at(t0, 4_000)));
        assert_eq!(s.expired_of(5, [1], at(t0, 4_000)), vec![1]);
    }

    #[test]
    fn a_broker_never_heard_from_gets_one_timeout_from_the_start_of_the_term() {
        let t0 = Instant::now();
        let mut s = Sessions::new(TIMEOUT);
        s.leading(5, t0);
        assert!(s.expired_of(5, [1, 2, 3], at(t0, 2_999)).is_empty());
        assert_eq!(s.expired_of(5, [1, 2, 3], at(t0, 3_000)), vec![1, 2, 3]);
    }

    #[test]
    fn regaining_leadership_with_stale_timestamps_fences_nobody() {
        let t0 = Instant::now();
        let mut s = Sessions::new(TIMEOUT);
        s.leading(5, t0);
        for b in [1, 2, 3] {
            s.heard_from(5, b, at(t0, 100));
        }
        // Leadership lost and regained in a later term, long after those heartbeats; the
        // controller loop never saw the follower spell in between.
        let back = at(t0, 20_000);
        s.leading(7, back);
        assert!(s.expired_of(7, [1, 2, 3], back).is_empty());
        assert!(s.expired_of(7, [1, 2, 3], at(t0, 22_999)).is_empty());
        s.heard_from(7, 2, at(t0, 21_000));
        assert_eq!(s.expired_of(7, [1, 2, 3], at(t0, 23_000)), vec![1, 3]);
    }

    #[test]
    fn a_heartbeat_in_a_new_term_resets_every_other_session_too() {
        let t0 = Instant::now();
        let mut s = Sessions::new(TIMEOUT);
        s.heard_from(5, 1, t0);
        s.heard_from(5, 2, t0);
        // A heartbeat handled in term 7 before the controller loop noticed the new term.
        s.heard_from(7, 1, at(t0, 10_000));
        assert!(!s.expired(7, 2, at(t0, 10_001)));
        assert!(s.expired(7, 2, at(t0, 13_000)));
    }

    #[test]
    fn nothing_expires_in_a_term_this_node_does_not_know_it_leads() {
        let t0 = Instant::now();
        let mut s = Sessions::new(TIMEOUT);
        s.leading(5, t0);
        assert!(s.expired_of(6, [1], at(t0, 60_000)).is_empty());
        s.not_leading();
        assert!(s.expired_of(5, [1], at(t0, 60_000)).is_empty());
    }

    #[test]
    fn a_closed_stream_cuts_the_session_to_the_grace() {
        let t0 = Instant::now();
        let grace = Duration::from_millis(200);
        let mut s = Sessions::new(TIMEOUT);
        s.attached(5, 1, 10, t0);
        assert!(s.detached(5, 1, 10, at(t0, 100), grace));
        assert!(!s.expired(5, 1, at(t0, 299)));
        assert!(s.expired(5, 1, at(t0, 300)));
        // Closing it again, or after the session was renewed, changes nothing.
        assert!(!s.detached(5, 1, 10, at(t0, 100), grace));
    }

    #[test]
    fn a_live_broker_outlives_its_closed_stream_by_attaching_or_heartbeating() {
        let t0 = Instant::now();
        let grace = Duration::from_millis(200);
        let mut s = Sessions::new(TIMEOUT);
        s.attached(5, 1, 10, t0);
        s.attached(5, 2, 11, t0);
        assert!(s.detached(5, 1, 10, at(t0, 100), grace));
        assert!(s.detached(5, 2, 11, at(t0, 100), grace));
        s.attached(5, 1, 12, at(t0, 150));
        s.heard_from(5, 2, at(t0, 150));
        assert!(s.expired_of(5, [1, 2], at(t0, 3_149)).is_empty());
    }

    #[test]
    fn only_the_newest_stream_of_the_current_term_counts() {
        let t0 = Instant::now();
        let grace = Duration::from_millis(200);
        let mut s = Sessions::new(TIMEOUT);
        s.attached(5, 1, 10, t0);
        s.attached(5, 1, 11, at(t0, 10));
        assert!(!s.detached(5, 1, 10, at(t0, 20), grace));
        assert!(!s.expired(5, 1, at(t0, 1_000)));
        // A stream of an earlier term: this term's session stands.
        s.leading(6, at(t0, 30));
        assert!(!s.detached(6, 1, 11, at(t0, 40), grace));
        assert!(!s.detached(5, 1, 11, at(t0, 40), grace));
        assert!(!s.expired(6, 1, at(t0, 1_000)));
    }

    #[test]
    fn a_broker_that_shut_down_is_not_live() {
        let t0 = Instant::now();
        let mut s = Sessions::new(TIMEOUT);
        s.heard_from(5, 1, t0);
        assert!(s.live(1, at(t0, 1)));
        s.forget(1);
        assert!(!s.live(1, at(t0, 1)));
    }
}
