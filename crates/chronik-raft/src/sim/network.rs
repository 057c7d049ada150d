//! A simulated network: every message gets a random delay (so messages reorder), may be
//! dropped or duplicated, and never crosses a partition.

use std::collections::BTreeMap;

use raft::eraftpb::Message;
use rand::Rng;
use rand::rngs::StdRng;

/// How hostile the network is.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Probability that a message is lost.
    pub drop: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Largest delivery delay in simulated time units (a tick is [`super::TICK`] units).
    pub max_delay: u64,
}

impl Faults {
    /// A network that only delays (and so reorders) messages.
    pub fn reliable() -> Self {
        Faults {
            drop: 0.0,
            duplicate: 0.0,
            max_delay: 20,
        }
    }

    /// Loses 5%, duplicates 2%, delays up to three ticks.
    pub fn lossy() -> Self {
        Faults {
            drop: 0.05,
            duplicate: 0.02,
            max_delay: 30,
        }
    }
}

/// Counters for failure messages and sanity checks.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetStats {
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub delivered: u64,
}

pub(crate) struct Network {
    faults: Faults,
    seq: u64,
    /// Messages in flight, keyed by (delivery time, send sequence).
    in_flight: BTreeMap<(u64, u64), Message>,
    /// Partition side of each node; nodes talk only within a side (absent = side 0).
    side: BTreeMap<u64, u64>,
    next_side: u64,
    pub(crate) stats: NetStats,
}

impl Network {
    pub(crate) fn new(faults: Faults) -> Self {
        Network {
            faults,
            seq: 0,
            in_flight: BTreeMap::new(),
            side: BTreeMap::new(),
            next_side: 1,
            stats: NetStats::default(),
        }
    }

    pub(crate) fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    pub(crate) fn send(&mut self, rng: &mut StdRng, now: u64, msg: Message) {
        self.stats.sent += 1;
        if !self.connected(msg.from, msg.to) || rng.random_bool(self.faults.drop) {
            self.stats.dropped += 1;
            return;
        }
        let copies = if rng.random_bool(self.faults.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now + rng.random_range(1..=self.faults.max_delay.max(1));
            self.seq += 1;
            self.in_flight.insert((at, self.seq), msg.clone());
        }
    }

    /// The next message due at `now`, if any; messages that now cross a partition are lost.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Message> {
        loop {
            let entry = self.in_flight.first_entry()?;
            if entry.key().0 > now {
                return None;
            }
            let msg = entry.remove();
            if self.connected(msg.from, msg.to) {
                self.stats.delivered += 1;
                return Some(msg);
            }
            self.stats.dropped += 1;
        }
    }

    pub(crate) fn connected(&self, a: u64, b: u64) -> bool {
        self.side.get(&a).copied().unwrap_or(0) == self.side.get(&b).copied().unwrap_or(0)
    }

    /// Cuts `node` off from everyone.
    pub(crate) fn isolate(&mut self, node: u64) {
        self.side.insert(node, self.next_side);
        self.next_side += 1;
    }

    /// Puts `group` on its own side, apart from everyone else.
    pub(crate) fn split(&mut self, group: &[u64]) {
        for node in group {
            self.side.insert(*node, self.next_side);
        }
        self.next_side += 1;
    }

    pub(crate) fn heal(&mut self) {
        self.side.clear();
    }

    pub(crate) fn is_partitioned(&self) -> bool {
        !self.side.is_empty()
    }
}
