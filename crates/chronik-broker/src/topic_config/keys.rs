//! The topic configs Chronik accepts: each with the broker config holding its default, its
//! type and its documentation, as DescribeConfigs reports them.

use chronik_metadata::UNCLEAN_LEADER_ELECTION_CONFIG;

use super::compaction::{
    DELETE_RETENTION_MS, MAX_COMPACTION_LAG_MS, MIN_CLEANABLE_DIRTY_RATIO, MIN_COMPACTION_LAG_MS,
};
use super::inert::{
    FILE_DELETE_DELAY_MS, MESSAGE_DOWNCONVERSION_ENABLE, MESSAGE_FORMAT_VERSION, PREALLOCATE,
    SEGMENT_INDEX_BYTES,
};
use super::timestamps::{
    MESSAGE_TIMESTAMP_AFTER_MAX_MS, MESSAGE_TIMESTAMP_BEFORE_MAX_MS,
    MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS, MESSAGE_TIMESTAMP_TYPE,
};
use super::{
    CLEANUP_POLICY, MAX_MESSAGE_BYTES, MIN_INSYNC_REPLICAS, RETENTION_BYTES, RETENTION_MS,
    SEGMENT_BYTES, SEGMENT_MS,
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
    StaticBroker = 4,
    Default = 5,
}

/// One supported topic config.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub name: &'static str,
    /// The broker config holding the default (Kafka's synonym of the topic config).
    pub broker_name: &'static str,
    pub config_type: ConfigType,
    pub doc: &'static str,
}

/// Sorted by name.
pub(crate) const KEYS: &[Key] = &[
    Key {
        name: CLEANUP_POLICY,
        broker_name: "log.cleanup.policy",
        config_type: ConfigType::List,
        doc: "What happens to old records: 'delete' (retention removes old segments), \
              'compact' (the cleaner keeps the latest record of each key) or both.",
    },
    Key {
        name: DELETE_RETENTION_MS,
        broker_name: "log.cleaner.delete.retention.ms",
        config_type: ConfigType::Long,
        doc: "How long a tombstone stays in a compacted topic after its log was cleaned.",
    },
    Key {
        name: FILE_DELETE_DELAY_MS,
        broker_name: "log.segment.delete.delay.ms",
        config_type: ConfigType::Long,
        doc: "No effect in Chronik: segments retention removes are deleted at once.",
    },
    Key {
        name: MAX_COMPACTION_LAG_MS,
        broker_name: "log.cleaner.max.compaction.lag.ms",
        config_type: ConfigType::Long,
        doc: "A dirty record older than this makes its log due for cleaning.",
    },
    Key {
        name: MAX_MESSAGE_BYTES,
        broker_name: "message.max.bytes",
        config_type: ConfigType::Int,
        doc: "Largest record batch a producer may send to this topic.",
    },
    Key {
        name: MESSAGE_DOWNCONVERSION_ENABLE,
        broker_name: "log.message.downconversion.enable",
        config_type: ConfigType::Boolean,
        doc: "No effect in Chronik: records are served in format v2 only, never converted.",
    },
    Key {
        name: MESSAGE_FORMAT_VERSION,
        broker_name: "log.message.format.version",
        config_type: ConfigType::String,
        doc: "Deprecated in Kafka 3; no effect in Chronik: records are always stored in format v2.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_AFTER_MAX_MS,
        broker_name: "log.message.timestamp.after.max.ms",
        config_type: ConfigType::Long,
        doc: "A produced record whose timestamp is further than this ahead of the broker's \
              clock is refused (INVALID_TIMESTAMP); CreateTime only.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_BEFORE_MAX_MS,
        broker_name: "log.message.timestamp.before.max.ms",
        config_type: ConfigType::Long,
        doc: "A produced record whose timestamp is further than this behind the broker's \
              clock is refused (INVALID_TIMESTAMP); CreateTime only.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS,
        broker_name: "log.message.timestamp.difference.max.ms",
        config_type: ConfigType::Long,
        doc: "Deprecated: the bound before.max.ms and after.max.ms fall back to when left at \
              their defaults.",
    },
    Key {
        name: MESSAGE_TIMESTAMP_TYPE,
        broker_name: "log.message.timestamp.type",
        config_type: ConfigType::String,
        doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps each batch \
              with the broker's time when it is appended.",
    },
    Key {
        name: MIN_CLEANABLE_DIRTY_RATIO,
        broker_name: "log.cleaner.min.cleanable.ratio",
        config_type: ConfigType::Double,
        doc: "A compacted log is cleaned once this share of it is dirty.",
    },
    Key {
        name: MIN_COMPACTION_LAG_MS,
        broker_name: "log.cleaner.min.compaction.lag.ms",
        config_type: ConfigType::Long,
        doc: "Records younger than this are not compacted.",
    },
    Key {
        name: MIN_INSYNC_REPLICAS,
        broker_name: "min.insync.replicas",
        config_type: ConfigType::Int,
        doc: "Smallest ISR with which an acks=all produce is accepted.",
    },
    Key {
        name: PREALLOCATE,
        broker_name: "log.preallocate",
        config_type: ConfigType::Boolean,
        doc: "No effect in Chronik: segment files grow as they are written.",
    },
    Key {
        name: RETENTION_BYTES,
        broker_name: "log.retention.bytes",
        config_type: ConfigType::Long,
        doc: "Oldest segments are deleted while a partition is larger than this (-1: no limit).",
    },
    Key {
        name: RETENTION_MS,
        broker_name: "log.retention.ms",
        config_type: ConfigType::Long,
        doc: "Segments whose newest record is older than this are deleted (-1: keep forever).",
    },
    Key {
        name: SEGMENT_BYTES,
        broker_name: "log.segment.bytes",
        config_type: ConfigType::Int,
        doc: "A new segment starts once the active one would grow past this size.",
    },
    Key {
        name: SEGMENT_INDEX_BYTES,
        broker_name: "log.index.size.max.bytes",
        config_type: ConfigType::Int,
        doc: "No effect in Chronik: a segment's index grows with the segment.",
    },
    Key {
        name: SEGMENT_MS,
        broker_name: "log.roll.ms",
        config_type: ConfigType::Long,
        doc: "A new segment starts once the active one is this old.",
    },
    Key {
        name: UNCLEAN_LEADER_ELECTION_CONFIG,
        broker_name: "unclean.leader.election.enable",
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
