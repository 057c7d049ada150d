//! Consumer groups of the KIP-848 protocol (`group.protocol=consumer`): members heartbeat
//! with ConsumerGroupHeartbeat; the coordinator computes a target assignment with a
//! server-side assignor and moves each member towards it, revoking before assigning, with
//! member epochs instead of a stop-the-world rebalance.
//!
//! - [`group::ConsumerGroup`]: the pure state machine (time passed in; what to store is
//!   returned as [`group::Changes`]).
//! - [`member`]: a member and its reconciliation (Kafka's `CurrentAssignmentBuilder`).
//! - [`assignor`]: the `uniform` and `range` assignors.
//! - [`records`] and [`store`]: Kafka's coordinator records (key types 3–8) written for each
//!   step and replayed on load.

mod assignment;
mod assignor;
pub(crate) mod classic;
pub(crate) mod group;
mod member;
mod membership;
pub(crate) mod records;
pub(crate) mod store;
#[cfg(test)]
mod tests;

pub(crate) use assignment::Assignment;
pub(crate) use assignor::Assignor;
pub(crate) use group::{
    Changes, ConsumerConfig, ConsumerGroup, Heartbeat, HeartbeatAnswer, TopicsView, topic_regex,
};
pub(crate) use member::ConsumerMember;

/// The protocol type consumer groups report (ListGroups, DescribeGroups).
pub(crate) const PROTOCOL_TYPE: &str = "consumer";
