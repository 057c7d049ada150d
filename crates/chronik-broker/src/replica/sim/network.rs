//! The messages between the brokers and the controller, and the simulated network they cross:
//! every message gets a random delay (so messages reorder), may be lost or delivered twice,
//! and never crosses a partition.

use chronik_metadata::BrokerId;
use chronik_metadata::PartitionState;
use chronik_metadata::controller::AlterPartitionRequest;
pub(super) use chronik_test_support::net::Faults;

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

/// The simulated network (chronik-test-support's `SimNetwork`): nodes and the controller.
pub(super) type Network = chronik_test_support::net::SimNetwork<BrokerId, Msg>;

/// Loses 5%, duplicates 2%, delays up to four ticks.
pub(super) const LOSSY: Faults = Faults {
    drop: 0.05,
    duplicate: 0.02,
    max_delay: 4,
};

/// Only delays, by up to two ticks (the quiet end of a run).
pub(super) const RELIABLE: Faults = Faults {
    drop: 0.0,
    duplicate: 0.0,
    max_delay: 2,
};

/// A message's sender and receiver.
pub(super) fn route(m: &Msg) -> (BrokerId, BrokerId) {
    (m.from, m.to)
}
