//! The simulated network between the brokers and the controller: every message gets a random
//! delay (so messages reorder), may be lost or delivered twice, and never crosses a partition.

use std::collections::BTreeMap;

use chronik_metadata::BrokerId;
use chronik_metadata::PartitionState;
use chronik_metadata::controller::AlterPartitionRequest;
use rand::Rng;
use rand::rngs::StdRng;

use super::node::Entry;

/// The controller's address on the simulated network (brokers are 1..).
pub(super) const CONTROLLER: BrokerId = 0;

#[derive(Debug, Clone)]
pub(super) struct Msg {
    pub from: BrokerId,
    pub to: BrokerId,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub(super) enum Body {
    /// A follower's fetch: its log end and the leader epoch it follows.
    Fetch {
        epoch: i32,
        offset: i64,
    },
    FetchReply {
        epoch: i32,
        reply: FetchReply,
    },
    /// OffsetForLeaderEpoch for the follower's latest local epoch `asked`.
    EpochQuery {
        epoch: i32,
        asked: i32,
    },
    /// The leader's (epoch, end offset), or `None` when it refused.
    EpochReply {
        epoch: i32,
        asked: i32,
        answer: Option<(i32, i64)>,
    },
    /// A broker's session heartbeat; a new incarnation registers a restart.
    Heartbeat {
        incarnation: u8,
    },
    Alter(AlterPartitionRequest),
    /// The controller's answer to an ISR change made at `partition_epoch`.
    AlterReply {
        partition_epoch: i32,
        isr: Vec<BrokerId>,
        outcome: Altered,
    },
    /// The partition's committed state, and the incarnation the controller has registered
    /// for the receiver: a restarted broker acts on metadata only once it shows its own
    /// registration.
    Metadata {
        state: PartitionState,
        incarnation: Option<u8>,
    },
}

/// The controller's answer to AlterPartition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Altered {
    Accepted,
    /// The ISR asked for was refused at its partition epoch (a member not live).
    IsrRefused,
    /// Refused for another reason (a deposed leader, a stale partition epoch), which says
    /// nothing of earlier requests.
    Refused,
}

#[derive(Debug, Clone)]
pub(super) enum FetchReply {
    Records {
        base: i64,
        entries: Vec<Entry>,
        high_watermark: i64,
    },
    OutOfRange {
        leader_end: i64,
    },
    /// NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
    Refused,
}

/// How hostile the network is.
#[derive(Clone, Copy, Debug)]
pub(super) struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    /// Largest delivery delay, in ticks.
    pub max_delay: u64,
}

impl Faults {
    pub fn lossy() -> Self {
        Faults {
            drop: 0.05,
            duplicate: 0.02,
            max_delay: 4,
        }
    }

    pub fn reliable() -> Self {
        Faults {
            drop: 0.0,
            duplicate: 0.0,
            max_delay: 2,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct NetStats {
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
}

pub(super) struct Network {
    pub faults: Faults,
    seq: u64,
    /// Messages in flight, keyed by (delivery tick, send sequence).
    in_flight: BTreeMap<(u64, u64), Msg>,
    /// Partition side of each node; nodes talk only within a side (absent = side 0, where the
    /// controller always is).
    side: BTreeMap<BrokerId, u64>,
    next_side: u64,
    pub stats: NetStats,
}

impl Network {
    pub fn new(faults: Faults) -> Self {
        Network {
            faults,
            seq: 0,
            in_flight: BTreeMap::new(),
            side: BTreeMap::new(),
            next_side: 1,
            stats: NetStats::default(),
        }
    }

    pub fn send(&mut self, rng: &mut StdRng, now: u64, msg: Msg) {
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

    /// The next message due at `now`; one that now crosses a partition is lost.
    pub fn pop_due(&mut self, now: u64) -> Option<Msg> {
        loop {
            let entry = self.in_flight.first_entry()?;
            if entry.key().0 > now {
                return None;
            }
            let msg = entry.remove();
            if self.connected(msg.from, msg.to) {
                return Some(msg);
            }
            self.stats.dropped += 1;
        }
    }

    fn connected(&self, a: BrokerId, b: BrokerId) -> bool {
        self.side.get(&a).copied().unwrap_or(0) == self.side.get(&b).copied().unwrap_or(0)
    }

    /// Puts `group` on a side of its own, apart from the controller and everyone else.
    pub fn split(&mut self, group: &[BrokerId]) {
        for node in group {
            self.side.insert(*node, self.next_side);
        }
        self.next_side += 1;
    }

    pub fn heal(&mut self) {
        self.side.clear();
    }

    pub fn is_partitioned(&self) -> bool {
        !self.side.is_empty()
    }

    pub fn idle(&self) -> bool {
        self.in_flight.is_empty()
    }
}
