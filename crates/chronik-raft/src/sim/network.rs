//! The simulated network the Raft simulation runs over (chronik-test-support's `SimNetwork`):
//! random delays (so messages reorder), loss, duplication and partitions.

use raft::eraftpb::Message;

pub use chronik_test_support::net::{Faults, NetStats};

pub(crate) type Network = chronik_test_support::net::SimNetwork<u64, Message>;

/// A network that only delays (and so reorders) messages, by up to two ticks (a tick is
/// [`super::TICK`] time units).
pub const RELIABLE: Faults = Faults {
    drop: 0.0,
    duplicate: 0.0,
    max_delay: 20,
};

/// Loses 5%, duplicates 2%, delays up to three ticks.
pub const LOSSY: Faults = Faults {
    drop: 0.05,
    duplicate: 0.02,
    max_delay: 30,
};

/// A Raft message's sender and receiver.
pub(crate) fn route(m: &Message) -> (u64, u64) {
    (m.from, m.to)
}
