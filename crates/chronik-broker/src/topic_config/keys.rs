//! The topic configs Chronik accepts: each with the broker config holding its default, its
//! type and its documentation, as DescribeConfigs reports them.

use chronik_metadata::UNCLEAN_LEADER_ELECTION_CONFIG;

use super::compaction::{
    DELETE_RETENTION_MS, MAX_COMPACTION_LAG_MS, MIN_CLEANABLE_DIRTY_RATIO, MIN_COMPACTION_LAG_MS,
};
use super::compression::{
    COMPRESSION_GZIP_LEVEL, COMPRESSION_LZ4_LEVEL, COMPRESSION_TYPE, COMPRESSION_ZSTD_LEVEL,
};
use super::inert::{
    FILE_DELETE_DELAY_MS, FOLLOWER_REPLICATION_THROTTLED_REPLICAS,
    LEADER_REPLICATION_THROTTLED_REPLICAS, MESSAGE_DOWNCONVERSION_ENABLE, MESSAGE_FORMAT_VERSION,
    PREALLOCATE, REMOTE_LOG_COPY_DISABLE, REMOTE_LOG_DELETE_ON_DISABLE, SEGMENT_INDEX_BYTES,
};
use super::remote::{LOCAL_RETENTION_BYTES, LOCAL_RETENTION_MS, REMOTE_STORAGE_ENABLE};
use super::timestamps::{
    MESSAGE_TIMESTAMP_AFTER_MAX_MS, MESSAGE_TIMESTAMP_BEFORE_MAX_MS,
    MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS, MESSAGE_TIMESTAMP_TYPE,
};
use super::{
    CLEANUP_POLICY, FLUSH_MESSAGES, FLUSH_MS, INDEX_INTERVAL_BYTES, MAX_MESSAGE_BYTES,
    MIN_INSYNC_REPLICAS, RETENTION_BYTES, RETENTION_MS, SEGMENT_BYTES, SEGMENT_JITTER_MS,
    SEGMENT_MS,
};

/// Kafka's config types, as DescribeConfigs v3+ reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// Where an effective value comes from (DescribeConfigs `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    DynamicTopic = 1,
    DynamicBroker = 2,
    DynamicDefaultBroker = 3,
    StaticBroker = 4,
    Default = 5,
}

/// One supported topic config.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub name: &'static str,
    /// The broker config holding the default (Kafka's synonym of the topic config); `None`
    /// where Kafka has none.
    pub broker_name: Option<&'static str>,
    pub config_type: ConfigType,
    pub doc: &'static str,
}

/// Sorted by name.
pub(crate) const KEYS: &[Key] = &[
    Key {
        name: CLEANUP_POLICY,
        broker_name: Some("log.cleanup.policy"),
        config_type: ConfigType::List,
        doc: "What happens to old records: 'delete' (retention removes old segments), \
              'compact' (the cleaner keeps the latest record of each key) or both.",
    },
    Key {
        name: COMPRESSION_GZIP_LEVEL,
        broker_name: Some("compression.gzip.level"),
        config_type: ConfigType::Int,
        doc: "The gzip level the broker compresses at when compression.type is gzip (-1: zlib's default, 6).",
    },
    Key {
        name: COMPRESSION_LZ4_LEVEL,
        broker_name: Some("compression.lz4.level"),
        config_type: ConfigType::Int,
        doc: "The lz4 level the broker compresses at when compression.type is lz4.",
    },
    Key {
        name: COMPRESSION_TYPE,
        broker_name: Some("compression.type"),
        config_type: ConfigType::String,
        doc: "The codec batches are stored with: 'producer' keeps each producer's; uncompressed, gzip, snappy, lz4 or zstd makes the broker recompress batches that use another codec.",
    },
    Key {
        name: COMPRESSION_ZSTD_LEVEL,
        broker_name: Some("compression.zstd.level"),
        config_type: ConfigType::Int,
        doc: "The zstd level the broker compresses at when compression.type is zstd.",
    },
    Key {
        name: DELETE_RETENTION_MS,
        broker_name: Some("log.cleaner.delete.retention.ms"),
        config_type: ConfigType::Long,
        doc: "How long a tombstone stays in a compacted topic after its log was cleaned.",
    },
    Key {
        name: FILE_DELETE_DELAY_MS,
        broker_name: Some("log.segment.delete.delay.ms"),
        config_type: ConfigType::Long,
        doc: "No effect in Chronik: segments retention removes are deleted at once.",
    },
    Key {
        name: FLUSH_MESSAGES,
        broker_name: Some("log.flush.interval.messages"),
        config_type: ConfigType::Long,
        doc: "The topic's logs are fsynced once this many records wait for it; at 1 (the broker's --fsync always) every produce waits for its fsync before it is acknowledged, above 1 none does.",
    },
    Key {
        name: FLUSH_MS,
        broker_name: Some("log.flush.interval.ms"),
        config_type: ConfigType::Long,
        doc: "The topic's logs are fsynced once their oldest unsynced record has waited this long (the broker's --fsync interval=MS); produces do not wait for it.",
    },
    Key {
        name: FOLLOWER_REPLICATION_THROTTLED_REPLICAS,
        broker_name: None,
        config_type: ConfigType::List,
        doc: "No effect in Chronik, which has no replication throttle rates (as Kafka with none set).",
    },
    Key {
        name: INDEX_INTERVAL_BYTES,
        broker_name: Some("log.index.interval.bytes"),
        config_type: ConfigType::Int,
        doc: "Bytes between the entries of a segment's sparse offset index (entries never come closer than one per batch).",
    },
    Key {
        name: LEADER_REPLICATION_THROTTLED_REPLICAS,
        broker_name: None,
        config_type: ConfigType::List,
        doc: "No effect in Chronik, which has no replication throttle rates (as Kafka with none set).",
    },
    Key {
        name: LOCAL_RETENTION_BYTES,
        broker_name: Some("log.local.retention.bytes"),
        config_type: ConfigType::Long,
        doc: "For a topic with remote.storage.enable=true: the bytes of a partition kept on local disk, once copied to the remote tier (-2: as retention.bytes; -1: unbounded; never more than retention.bytes). Older segments are read back from the remote tier.",
    },
    Key {
        name: LOCAL_RETENTION_MS,
        broker_name: Some("log.local.retention.ms"),
        config_type: ConfigType::Long,
        doc: "For a topic with remote.storage.enable=true: how long a segment stays on local disk once copied to the remote tier (-2: as retention.ms; -1: unbounded; never longer than retention.ms). Older segments are read back from the remote tier.",
    },
    Key {
        name: MAX_COMPACTION_LAG_MS,
        broker_name: Some("log.cleaner.max.compaction.lag.ms"),
        config_type: ConfigType::Long,
        doc: "A dirty record older than this makes its log due for cleaning.",
    },
    Key {
        name: MAX_MESSAGE_BYTES,
        broker_name: Some("message.max.bytes"),
        config_type: ConfigType::Int,
        doc: "Largest record batch a producer may send to this topic.",
    },
    Key {
        name: MESSAGE_DOWNCONVERSION_ENABLE,
        broker_name: Some("log.message.downconversion.enable"),
        config_type: ConfigType::Boolean,
        doc: "No effect in Chronik: records are served in format v2 only, never converted.",
    },
    Key {
        name: MESSAGE_FORMAT_VERSION,
        broker_name: Some("log.message.format.version"),
        config_type: ConfigType::String,
        doc: "Deprecated in Kafka 3; no effect in Chronik: records are always stored in format v2.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_AFTER_MAX_MS,
        broker_name: Some("log.message.timestamp.after.max.ms"),
        config_type: ConfigType::Long,
        doc: "A produced record whose timestamp is further than this ahead of the broker's \
              clock is refused (INVALID_TIMESTAMP); CreateTime only.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_BEFORE_MAX_MS,
        broker_name: Some("log.message.timestamp.before.max.ms"),
        config_type: ConfigType::Long,
        doc: "A produced record whose timestamp is further than this behind the broker's \
              clock is refused (INVALID_TIMESTAMP); CreateTime only.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS,
        broker_name: Some("log.message.timestamp.difference.max.ms"),
        config_type: ConfigType::Long,
        doc: "Deprecated: the bound before.max.ms and after.max.ms fall back to when left at \
              their defaults.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_TYPE,
        broker_name: Some("log.message.timestamp.type"),
        config_type: ConfigType::String,
        doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps each batch \
              with the broker's time when it is appended.",
    },
    Key {
        name: MIN_CLEANABLE_DIRTY_RATIO,
        broker_name: Some("log.cleaner.min.cleanable.ratio"),
        config_type: ConfigType::Double,
        doc: "A compacted log is cleaned once this share of it is dirty.",
    },
    Key {
        name: MIN_COMPACTION_LAG_MS,
        broker_name: Some("log.cleaner.min.compaction.lag.ms"),
        config_type: ConfigType::Long,
        doc: "Records younger than this are not compacted.",
    },
    Key {
        name: MIN_INSYNC_REPLICAS,
        broker_name: Some("min.insync.replicas"),
        config_type: ConfigType::Int,
        doc: "Smallest ISR with which an acks=all produce is accepted.",
    },
    Key {
        name: PREALLOCATE,
        broker_name: Some("log.preallocate"),
        config_type: ConfigType::Boolean,
        doc: "No effect in Chronik: segment files grow as they are written.",
    },
    Key {
        name: REMOTE_LOG_COPY_DISABLE,
        broker_name: None,
        config_type: ConfigType::Boolean,
        doc: "No effect: copying goes on while remote.storage.enable is true.",
    },
    Key {
        name: REMOTE_LOG_DELETE_ON_DISABLE,
        broker_name: None,
        config_type: ConfigType::Boolean,
        doc: "No effect: copies made while remote.storage.enable was true are deleted by retention.",
    },
    Key {
        name: REMOTE_STORAGE_ENABLE,
        broker_name: None,
        config_type: ConfigType::Boolean,
        doc: "true: the leaders of the topic's partitions copy each sealed, committed segment to the broker's remote tier (--remote-storage); local.retention.* then bounds what stays on local disk and retention.* the whole log, whose older part consumers read from the remote tier. Refused on a broker without a remote tier.",
    },
    Key {
        name: RETENTION_BYTES,
        broker_name: Some("log.retention.bytes"),
        config_type: ConfigType::Long,
        doc: "Oldest segments are deleted while a partition is larger than this (-1: no limit).",
    },
    Key {
        name: RETENTION_MS,
        broker_name: Some("log.retention.ms"),
        config_type: ConfigType::Long,
        doc: "Segments whose newest record is older than this are deleted (-1: keep forever).",
    },
    Key {
        name: SEGMENT_BYTES,
        broker_name: Some("log.segment.bytes"),
        config_type: ConfigType::Int,
        doc: "A new segment starts once the active one would grow past this size.",
    },
    Key {
        name: SEGMENT_INDEX_BYTES,
        broker_name: Some("log.index.size.max.bytes"),
        config_type: ConfigType::Int,
        doc: "No effect in Chronik: a segment's index grows with the segment.",
    },
    Key {
        name: SEGMENT_JITTER_MS,
        broker_name: Some("log.roll.jitter.ms"),
        config_type: ConfigType::Long,
        doc: "The most segment.ms is shortened by for each new segment (a fixed share per partition and segment), so partitions created together do not all roll at once.",
    },
    Key {
        name: SEGMENT_MS,
        broker_name: Some("log.roll.ms"),
        config_type: ConfigType::Long,
        doc: "A new segment starts once the active one is this old.",
    },
    Key {
        name: UNCLEAN_LEADER_ELECTION_CONFIG,
        broker_name: Some("unclean.leader.election.enable"),
        config_type: ConfigType::Boolean,
        doc: "Whether a replica outside the ISR may become leader (losing data).",
    },
];

/// The supported key called `name`.
pub(crate) fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_sorted_by_name_once_each() {
        let names: Vec<&str> = super::KEYS.iter().map(|k| k.name).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    }
}
