//! Small types shared by every Chronik crate. Nothing here does I/O.

mod fsync;
mod topic;

pub use fsync::{FsyncPolicy, ParseFsyncPolicyError};
pub use topic::{InvalidTopicName, TopicPartition, validate_topic_name};

/// A position in a partition's log (Kafka offsets are signed 64-bit).
pub type Offset = i64;

/// A partition leader epoch (Kafka's `partitionLeaderEpoch`).
pub type LeaderEpoch = i32;
