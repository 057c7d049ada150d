//! Topic configs: the keys Chronik supports, parsing and validation of their values, the
//! effective settings of a topic (its own configs over the broker's defaults) that its logs and
//! Produce follow, and the incremental changes of IncrementalAlterConfigs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chronik_metadata::{ControllerError, UNCLEAN_LEADER_ELECTION_CONFIG};
use chronik_wal::{
    FlushPolicy, LogConfig, MAX_SEGMENT_BYTES, MIN_INDEX_INTERVAL_BYTES, MIN_SEGMENT_BYTES,
};

use crate::BrokerConfig;

mod compaction;
mod compression;
mod dynamic;
mod inert;
mod keys;
mod remote;
mod timestamps;

pub(crate) use compaction::{CleanupPolicy, CompactionSettings};
pub(crate) use compression::CompressionSettings;
pub(crate) use dynamic::{Defaults, dynamic_key, dynamic_names};
use inert::InertSettings;
pub(crate) use keys::{ConfigType, KEYS, Key, Source, key};
use remote::RemoteSettings;
pub(crate) use timestamps::TimestampSettings;
pub(crate) const RETENTION_MS: &str = "retention.ms";
pub(crate) const RETENTION_BYTES: &str = "retention.bytes";
pub(crate) const SEGMENT_BYTES: &str = "segment.bytes";
pub(crate) const SEGMENT_MS: &str = "segment.ms";
pub(crate) const SEGMENT_JITTER_MS: &str = "segment.jitter.ms";
pub(crate) const INDEX_INTERVAL_BYTES: &str = "index.interval.bytes";
pub(crate) const FLUSH_MESSAGES: &str = "flush.messages";
pub(crate) const FLUSH_MS: &str = "flush.ms";
/// Kafka's "no limit" for the flush configs (Long.MAX_VALUE).
const FLUSH_UNBOUNDED: i64 = i64::MAX;
pub(crate) const MIN_INSYNC_REPLICAS: &str = "min.insync.replicas";
pub(crate) const MAX_MESSAGE_BYTES: &str = "max.message.bytes";
pub(crate) const CLEANUP_POLICY: &str = "cleanup.policy";

/// Why a config change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("unknown topic config '{0}'; supported: {supported}", supported = supported_names())]
    Unknown(String),
    #[error("invalid value '{value}' for {key}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    #[error("{0} is not a list config; APPEND and SUBTRACT apply to list configs only")]
    NotAList(String),
    #[error("config '{0}' appears more than once in the request")]
    Duplicate(String),
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("unknown config operation {0} (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT)")]
    UnknownOperation(i8),
    #[error(
        "broker config '{0}' cannot change at runtime (it is unknown or set by the broker's \
         flags at start); those that can: {names}",
        names = dynamic_names()
    )]
    NotDynamic(String),
}

fn supported_names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

impl ConfigError {
    /// Whether the request named a bad key or value (rather than being malformed).
    pub fn is_invalid_config(&self) -> bool {
        matches!(
            self,
            ConfigError::Unknown(_) | ConfigError::Invalid { .. } | ConfigError::NotDynamic(_)
        )
    }
}

impl From<ConfigError> for ControllerError {
    fn from(e: ConfigError) -> Self {
        match e.is_invalid_config() {
            true => ControllerError::InvalidConfig(e.to_string()),
            false => ControllerError::InvalidRequest(e.to_string()),
        }
    }
}

/// A topic's effective settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TopicSettings {
    pub retention_ms: Option<u64>,
    pub retention_bytes: Option<u64>,
    pub segment_bytes: u64,
    pub segment_ms: Duration,
    pub segment_jitter: Duration,
    pub index_interval_bytes: u64,
    /// When the topic's logs are fsynced; the broker's `--fsync` unless the topic sets
    /// `flush.messages` or `flush.ms`.
    pub flush: FlushPolicy,
    pub min_insync_replicas: i32,
    pub max_message_bytes: usize,
    pub unclean_leader_election: bool,
    pub cleanup: CleanupPolicy,
    pub compaction: CompactionSettings,
    pub timestamps: TimestampSettings,
    pub compression: CompressionSettings,
    pub remote: RemoteSettings,
    inert: InertSettings,
}

impl TopicSettings {
    /// The broker's defaults for every topic.
    pub fn defaults(config: &BrokerConfig) -> Self {
        TopicSettings {
            retention_ms: config.retention_ms,
            retention_bytes: config.retention_bytes,
            segment_bytes: config.segment_bytes,
            segment_ms: config.segment_ms,
            segment_jitter: Duration::ZERO,
            index_interval_bytes: LogConfig::default().index_interval_bytes,
            flush: FlushPolicy::of(config.fsync),
            min_insync_replicas: config.min_insync_replicas,
            max_message_bytes: config.max_message_bytes,
            unclean_leader_election: false,
            cleanup: CleanupPolicy::DELETE,
            compaction: CompactionSettings::default(),
            timestamps: TimestampSettings::default(),
            compression: CompressionSettings::default(),
            remote: RemoteSettings::new(config.remote_storage.is_some()),
            inert: InertSettings::default(),
        }
    }

    /// The defaults of a broker configured with nothing: values equal to these are reported
    /// as DEFAULT_CONFIG, others as STATIC_BROKER_CONFIG. Checks against them know no broker,
    /// so they take remote.storage.enable=true; [`TopicSettings::check_on_this_broker`] then
    /// refuses it where there is no remote tier.
    pub fn builtin() -> Self {
        let mut builtin = Self::defaults(&BrokerConfig::new(PathBuf::new()));
        builtin.remote.available = true;
        builtin
    }

    /// Checks a topic's `configs` over this broker's settings: some need what not every
    /// broker has (remote.storage.enable=true needs a remote tier).
    pub fn check_on_this_broker(
        &self,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), ConfigError> {
        let mut settings = self.clone();
        for (name, value) in configs {
            settings.set(name, value)?;
        }
        Ok(())
    }

    /// Checks that every value (e.g. a broker default) is one a topic could be given.
    pub fn check(&self) -> Result<(), ConfigError> {
        for key in KEYS {
            self.clone().set(key.name, &self.value(key))?;
        }
        Ok(())
    }

    /// These settings with `configs` applied over them, or the first invalid entry.
    #[cfg(test)]
    pub fn with_overrides(
        mut self,
        configs: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        for (name, value) in configs {
            self.set(name, value)?;
        }
        Ok(self)
    }

    /// These settings with stored `configs` applied over them, skipping invalid entries:
    /// configs stored before they were validated must not keep a log from opening.
    pub fn with_stored(mut self, topic: &str, configs: &BTreeMap<String, String>) -> Self {
        for (name, value) in configs {
            if let Err(e) = self.set(name, value) {
                tracing::debug!(topic, error = %e, "stored topic config ignored");
            }
        }
        self
    }

    /// Parses `value` into the setting `name`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            key: name.to_owned(),
            value: value.to_owned(),
            reason,
        };
        let text = value.trim();
        let long = |min: i64| -> Result<i64, ConfigError> {
            let n: i64 = text.parse().map_err(|_| invalid("not a number".into()))?;
            if n < min {
                return Err(invalid(format!("must be at least {min}")));
            }
            Ok(n)
        };
        let int = |min: i64| -> Result<i32, ConfigError> {
            i32::try_from(long(min)?).map_err(|_| invalid(format!("must be at most {}", i32::MAX)))
        };
        match name {
            RETENTION_MS => self.retention_ms = u64::try_from(long(-1)?).ok(),
            RETENTION_BYTES => self.retention_bytes = u64::try_from(long(-1)?).ok(),
            SEGMENT_BYTES => {
                let n = long(0)?.unsigned_abs();
                if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&n) {
                    let range = format!("between {MIN_SEGMENT_BYTES} and {MAX_SEGMENT_BYTES}");
                    return Err(invalid(format!("must be {range}")));
                }
                self.segment_bytes = n;
            }
            SEGMENT_MS => self.segment_ms = Duration::from_millis(long(1)?.unsigned_abs()),
            SEGMENT_JITTER_MS => {
                self.segment_jitter = Duration::from_millis(long(0)?.unsigned_abs())
            }
            INDEX_INTERVAL_BYTES => self.index_interval_bytes = int(0)?.unsigned_abs().into(),
            FLUSH_MESSAGES => {
                self.flush.messages = match long(1)? {
                    FLUSH_UNBOUNDED => u64::MAX,
                    n => n.unsigned_abs(),
                }
            }
            FLUSH_MS => {
                self.flush.interval = match long(0)? {
                    FLUSH_UNBOUNDED => None,
                    n => Some(Duration::from_millis(n.unsigned_abs())),
                }
            }
            MIN_INSYNC_REPLICAS => self.min_insync_replicas = int(1)?,
            MAX_MESSAGE_BYTES => self.max_message_bytes = usize::try_from(int(0)?).unwrap_or(0),
            CLEANUP_POLICY => {
                self.cleanup = CleanupPolicy::parse(&list_items(text)).map_err(invalid)?
            }
            UNCLEAN_LEADER_ELECTION_CONFIG => {
                self.unclean_leader_election = match text.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid("must be true or false".into())),
                }
            }
            _ if self.compaction.set(name, text).map_err(invalid)? => {}
            _ if self.timestamps.set(name, text).map_err(invalid)? => {}
            _ if self.compression.set(name, text).map_err(invalid)? => {}
            _ if self.remote.set(name, text).map_err(invalid)? => {}
            _ if self.inert.set(name, text).map_err(invalid)? => {}
            _ => return Err(ConfigError::Unknown(name.to_owned())),
        }
        Ok(())
    }

    /// The value of `key` as Kafka writes it.
    pub fn value(&self, key: &Key) -> String {
        let or_unlimited = |v: Option<u64>| v.map_or("-1".to_owned(), |n| n.to_string());
        match key.name {
            RETENTION_MS => or_unlimited(self.retention_ms),
            RETENTION_BYTES => or_unlimited(self.retention_bytes),
            SEGMENT_BYTES => self.segment_bytes.to_string(),
            SEGMENT_MS => self.segment_ms.as_millis().to_string(),
            SEGMENT_JITTER_MS => self.segment_jitter.as_millis().to_string(),
            INDEX_INTERVAL_BYTES => self.index_interval_bytes.to_string(),
            FLUSH_MESSAGES => match self.flush.messages {
                u64::MAX => FLUSH_UNBOUNDED.to_string(),
                n => n.to_string(),
            },
            FLUSH_MS => (self.flush.interval)
                .map_or(FLUSH_UNBOUNDED, |d| {
                    i64::try_from(d.as_millis()).unwrap_or(FLUSH_UNBOUNDED)
                })
                .to_string(),
            MIN_INSYNC_REPLICAS => self.min_insync_replicas.to_string(),
            MAX_MESSAGE_BYTES => self.max_message_bytes.to_string(),
            CLEANUP_POLICY => self.cleanup.value(),
            UNCLEAN_LEADER_ELECTION_CONFIG => self.unclean_leader_election.to_string(),
            name => (self.compaction.value(name))
                .or_else(|| self.timestamps.value(name))
                .or_else(|| self.compression.value(name))
                .or_else(|| self.remote.value(name))
                .or_else(|| self.inert.value(name))
                .unwrap_or_default(),
        }
    }

    /// The settings of a partition log of this topic. Retention applies only under the
    /// delete policy: a compact-only topic keeps the latest record of every key forever. A
    /// tiered topic's local segments go only once copied (the remote tier's task deletes
    /// them), so the log's own retention is off.
    pub fn log_config(&self) -> LogConfig {
        let delete = self.cleanup.delete && !self.tiered();
        LogConfig {
            segment_bytes: self.segment_bytes,
            segment_ms: Some(self.segment_ms),
            segment_jitter: self.segment_jitter,
            index_interval_bytes: self.index_interval_bytes.max(MIN_INDEX_INTERVAL_BYTES),
            retention_ms: (self.retention_ms)
                .filter(|_| delete)
                .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX)),
            retention_bytes: self.retention_bytes.filter(|_| delete),
            flush: Some(self.flush),
        }
    }
}

impl TopicSettings {
    /// Whether the topic's segments go to the remote tier.
    pub fn tiered(&self) -> bool {
        self.remote.enabled && !self.cleanup.compact
    }

    /// The topic's retention as the remote tier applies it: the whole log's and the local
    /// disk's (under the delete policy only).
    pub fn tier_retention(&self) -> chronik_tiered::TierRetention {
        let delete = self.cleanup.delete;
        let retention_ms = (self.retention_ms)
            .filter(|_| delete)
            .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
        let retention_bytes = self.retention_bytes.filter(|_| delete);
        let (local_ms, local_bytes) = self.remote.local_retention(retention_ms, retention_bytes);
        chronik_tiered::TierRetention {
            retention_ms,
            retention_bytes,
            local_retention_ms: local_ms,
            local_retention_bytes: local_bytes,
        }
    }
}

fn list_items(text: &str) -> Vec<String> {
    (text.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One config of a topic as DescribeConfigs and CreateTopics report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Effective {
    pub key: &'static Key,
    pub value: String,
    pub source: Source,
    /// Every layer that sets it, highest first (Kafka's synonyms): the topic's own value,
    /// then the broker defaults under it; the first is `value` and `source`.
    pub synonyms: Vec<(String, Source)>,
}

/// Every supported config of a topic with `configs` on a broker with `defaults`.
pub(crate) fn effective(
    topic: &str,
    defaults: &Defaults,
    configs: &BTreeMap<String, String>,
) -> Vec<Effective> {
    let settings = defaults.settings().with_stored(topic, configs);
    let mut out = Vec::with_capacity(KEYS.len());
    for key in KEYS {
        let mut synonyms = defaults.synonyms(key);
        if configs.contains_key(key.name) {
            synonyms.insert(0, (settings.value(key), Source::DynamicTopic));
        }
        out.push(Effective {
            key,
            value: settings.value(key),
            source: synonyms.first().map_or(Source::Default, |s| s.1),
            synonyms,
        });
    }
    out
}

/// Whose configs a change names: a topic's (by topic config name) or a broker's (by broker
/// config name, only those that change at runtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Topic,
    Broker,
}

impl Scope {
    /// The topic config that config `name` of this scope sets.
    fn key(self, name: &str) -> Result<&'static Key, ConfigError> {
        match self {
            Scope::Topic => key(name).ok_or_else(|| ConfigError::Unknown(name.to_owned())),
            Scope::Broker => {
                dynamic_key(name).ok_or_else(|| ConfigError::NotDynamic(name.to_owned()))
            }
        }
    }

    /// Checks that `value` is valid for config `name` of this scope.
    fn check(self, name: &str, value: &str) -> Result<(), ConfigError> {
        let key = self.key(name)?;
        let invalid = |e: ConfigError| match e {
            ConfigError::Invalid { value, reason, .. } => ConfigError::Invalid {
                key: name.to_owned(),
                value,
                reason,
            },
            other => other,
        };
        TopicSettings::builtin()
            .set(key.name, value)
            .map_err(invalid)
    }
}

/// A whole new set of configs (AlterConfigs): null values are left out, as Kafka does.
pub(crate) fn replace_all<'a>(
    scope: Scope,
    entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut next = BTreeMap::new();
    for (name, value) in entries {
        if !seen.insert(name) {
            return Err(ConfigError::Duplicate(name.to_owned()));
        }
        if let Some(value) = value {
            scope.check(name, value)?;
            next.insert(name.to_owned(), value.to_owned());
        }
    }
    Ok(next)
}

/// One change of IncrementalAlterConfigs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AlterOp {
    Set(String),
    Delete,
    Append(String),
    Subtract(String),
}

impl AlterOp {
    pub fn from_wire(name: &str, op: i8, value: Option<&str>) -> Result<Self, ConfigError> {
        let value = || {
            value
                .map(str::to_owned)
                .ok_or_else(|| ConfigError::MissingValue(name.to_owned()))
        };
        Ok(match op {
            0 => AlterOp::Set(value()?),
            1 => AlterOp::Delete,
            2 => AlterOp::Append(value()?),
            3 => AlterOp::Subtract(value()?),
            other => return Err(ConfigError::UnknownOperation(other)),
        })
    }
}

/// The configs after applying `ops` to `current`; APPEND and SUBTRACT start from the
/// effective value (the default when the topic does not set the key), as Kafka does. Only the
/// keys changed are validated, so a stored entry of an older version does not block others.
pub(crate) fn apply_ops(
    scope: Scope,
    current: &BTreeMap<String, String>,
    defaults: &TopicSettings,
    ops: &[(String, AlterOp)],
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut next = current.clone();
    let mut seen = std::collections::BTreeSet::new();
    for (name, op) in ops {
        let key = scope.key(name)?;
        if !seen.insert(name.as_str()) {
            return Err(ConfigError::Duplicate(name.clone()));
        }
        let is_list = key.config_type == ConfigType::List;
        let list = || {
            let now = next
                .get(name)
                .cloned()
                .unwrap_or_else(|| defaults.value(key));
            list_items(&now)
        };
        let value = match op {
            AlterOp::Delete => {
                next.remove(name);
                continue;
            }
            AlterOp::Set(v) => v.clone(),
            AlterOp::Append(_) | AlterOp::Subtract(_) if !is_list => {
                return Err(ConfigError::NotAList(name.clone()));
            }
            AlterOp::Append(v) => {
                let mut items = list();
                for item in list_items(v) {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                items.join(",")
            }
            AlterOp::Subtract(v) => {
                let gone = list_items(v);
                let items: Vec<String> = list().into_iter().filter(|i| !gone.contains(i)).collect();
                items.join(",")
            }
        };
        scope.check(name, &value)?;
        next.insert(name.clone(), value);
    }
    Ok(next)
}

#[cfg(test)]
mod dynamic_tests;
#[cfg(test)]
mod tests;
