//! Consumer groups, classic protocol (JoinGroup/SyncGroup/Heartbeat) and consumer protocol
//! (KIP-848, `consumer`), and committed offsets.
//!
//! - [`group::Group`] is a pure state machine (time is a parameter; held answers are oneshot
//!   senders), unit-tested in `tests`.
//! - [`coordinator::Coordinator`] holds the groups of every `__consumer_offsets` partition this
//!   broker leads, loads them from the partition's log, appends their records, and runs one
//!   reaper task that ticks every 100 ms (session expiry, rebalance deadlines, loading after a
//!   leadership change).
//! - Persistence: the coordinator of a group is the leader of `__consumer_offsets` partition
//!   [`partition_for`]`(group)`; offsets and membership are Kafka-format records there
//!   (see `records`).

mod api;
pub(crate) mod consumer;
mod consumer_api;
mod coordinator;
mod error;
mod expiry;
mod group;
#[cfg(test)]
mod initial_delay_tests;
mod join;
mod load;
mod member;
mod migration;
mod offset_delete;
mod offsets;
mod ops;
mod records;
pub(crate) mod store;
#[cfg(test)]
mod tests;

pub(crate) use api::{CommitEntry, TopicOffsets};
pub(crate) use coordinator::Coordinator;
pub(crate) use error::GroupError;
pub(crate) use member::{Answer, JoinRequest, JoinResult, Protocol, SyncResult};
pub(crate) use ops::{Caller, Leaving};
pub(crate) use records::OffsetValue;

/// The internal topic holding offsets and group metadata.
pub(crate) const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Partitions of `__consumer_offsets`. Kafka defaults to 50; 8 spreads coordinators over a
/// small cluster without opening dozens of mostly idle logs on every broker.
pub(crate) const OFFSETS_PARTITIONS: i32 = 8;

/// Groups one broker holds at most (memory bound). A new group beyond it is refused with the
/// retriable COORDINATOR_NOT_AVAILABLE (clients retry, and room comes back as empty groups'
/// offsets expire after `offsets_retention`), never with a per-member error.
pub(crate) const MAX_GROUPS: usize = 10_000;

/// Members (plus pending member ids) of one group at most: GROUP_MAX_SIZE_REACHED beyond.
pub(crate) const MAX_MEMBERS: usize = 1_000;

/// Kafka's `group.min.session.timeout.ms` and `group.max.session.timeout.ms` defaults.
pub(crate) const MIN_SESSION_TIMEOUT_MS: i32 = 6_000;
pub(crate) const MAX_SESSION_TIMEOUT_MS: i32 = 1_800_000;

/// Protocol metadata of one member (all its protocols together) at most: a JoinGroup above it
/// gets INVALID_REQUEST, so one member cannot make the group record unwritable.
pub(crate) const MAX_MEMBER_METADATA_BYTES: usize = 1024 * 1024;

/// Longest string a stored record holds (Kafka's i16-length strings): longer group ids get
/// INVALID_GROUP_ID, longer instance ids, client ids and protocol names INVALID_REQUEST.
pub(crate) const MAX_STRING_BYTES: usize = i16::MAX as usize;

/// Kafka's `offset.metadata.max.bytes`: longer commit metadata gets OFFSET_METADATA_TOO_LARGE.
pub(crate) const MAX_OFFSET_METADATA_BYTES: usize = 4096;

/// The `__consumer_offsets` partition of a group: Java's `String.hashCode` of the group id,
/// made non-negative, modulo the partition count, exactly as Kafka computes it (so a group
/// maps to the same partition number it would in Kafka with the same partition count).
/// `partitions` is the topic's actual count (Kafka's `offsets.topic.num.partitions`, fixed
/// when the topic was created); below 1 it is taken as 1.
pub(crate) fn partition_for(group: &str, partitions: i32) -> i32 {
    let mut hash: i32 = 0;
    for unit in group.encode_utf16() {
        hash = hash.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    // Kafka's Utils.abs: i32::MIN maps to 0 rather than overflowing.
    let non_negative = if hash == i32::MIN { 0 } else { hash.abs() };
    non_negative % partitions.max(1)
}

/// The partition count of `__consumer_offsets` as the metadata has it, if it exists.
pub(crate) fn offsets_partitions(state: &chronik_metadata::MetadataState) -> Option<i32> {
    let topic = state.topic_by_name(OFFSETS_TOPIC)?;
    i32::try_from(topic.partitions.len())
        .ok()
        .filter(|n| *n > 0)
}

/// A fresh member id, `<prefix>-<uuid>` like Kafka's (prefix: client id or instance id). The
/// prefix is cut (at a character boundary) so the id always fits a stored record.
pub(crate) fn new_member_id(prefix: &str) -> String {
    let uuid = uuid::Uuid::from_bytes(rand::random::<[u8; 16]>());
    let mut end = prefix.len().min(MAX_STRING_BYTES - 64);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{uuid}", &prefix[..end])
}

/// A fresh member id for a consumer-protocol member that did not bring its own: a random
/// UUID, as Kafka makes it.
pub(crate) fn random_member_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// The consumer-protocol settings of `config`; an unknown assignor name is an error.
pub(crate) fn consumer_config(
    config: &crate::config::BrokerConfig,
) -> Result<consumer::ConsumerConfig, crate::error::BrokerError> {
    let ms = |d: std::time::Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
    let mut assignors = Vec::new();
    for name in &config.group_consumer_assignors {
        let assignor = consumer::Assignor::by_name(name).ok_or_else(|| {
            crate::error::BrokerError::Config(format!(
                "unknown consumer group assignor {name:?}: use uniform or range"
            ))
        })?;
        assignors.push(assignor);
    }
    if assignors.is_empty() {
        assignors = consumer::Assignor::ALL.to_vec();
    }
    Ok(consumer::ConsumerConfig {
        session_timeout_ms: ms(config.group_consumer_session_timeout),
        heartbeat_interval_ms: ms(config.group_consumer_heartbeat_interval),
        max_members: MAX_MEMBERS,
        assignors,
    })
}
