//! Topic configs Chronik accepts, validates and reports but that change nothing here, as
//! Kafka 3 does for its deprecated ones: the message format is always v2 and never converted
//! (`message.format.version`, `message.downconversion.enable`), segments are not preallocated
//! and their indexes are not fixed-size files (`preallocate`, `segment.index.bytes`), and
//! deleted segments are removed at once (`file.delete.delay.ms`). The replication throttle
//! lists name replicas to hold to the brokers' throttle rates, which Chronik does not have (as
//! in Kafka with no rate set). Of the tiered-storage configs, `remote.storage.enable` is real
//! (remote.rs), with `local.retention.*`; copying cannot be paused per topic
//! (`remote.log.copy.disable`) and copies go by retention (`remote.log.delete.on.disable`).

use std::collections::BTreeMap;

pub(crate) const MESSAGE_FORMAT_VERSION: &str = "message.format.version";
pub(crate) const MESSAGE_DOWNCONVERSION_ENABLE: &str = "message.downconversion.enable";
pub(crate) const PREALLOCATE: &str = "preallocate";
pub(crate) const SEGMENT_INDEX_BYTES: &str = "segment.index.bytes";
pub(crate) const FILE_DELETE_DELAY_MS: &str = "file.delete.delay.ms";
pub(crate) const LEADER_REPLICATION_THROTTLED_REPLICAS: &str =
    "leader.replication.throttled.replicas";
pub(crate) const FOLLOWER_REPLICATION_THROTTLED_REPLICAS: &str =
    "follower.replication.throttled.replicas";
pub(crate) const REMOTE_LOG_COPY_DISABLE: &str = "remote.log.copy.disable";
pub(crate) const REMOTE_LOG_DELETE_ON_DISABLE: &str = "remote.log.delete.on.disable";

/// Each inert config with Kafka's default.
const DEFAULTS: [(&str, &str); 9] = [
    (MESSAGE_FORMAT_VERSION, "3.0-IV1"),
    (MESSAGE_DOWNCONVERSION_ENABLE, "true"),
    (PREALLOCATE, "false"),
    (SEGMENT_INDEX_BYTES, "10485760"),
    (FILE_DELETE_DELAY_MS, "60000"),
    (LEADER_REPLICATION_THROTTLED_REPLICAS, ""),
    (FOLLOWER_REPLICATION_THROTTLED_REPLICAS, ""),
    (REMOTE_LOG_COPY_DISABLE, "false"),
    (REMOTE_LOG_DELETE_ON_DISABLE, "false"),
];

/// The values of the inert configs, as given (each checked as Kafka checks it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct InertSettings {
    given: BTreeMap<&'static str, String>,
}

impl InertSettings {
    /// Checks and keeps `value` for `name`; `Ok(false)` when `name` is not an inert config.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let Some(&(key, _)) = DEFAULTS.iter().find(|(k, _)| *k == name) else {
            return Ok(false);
        };
        match key {
            MESSAGE_DOWNCONVERSION_ENABLE
            | PREALLOCATE
            | REMOTE_LOG_COPY_DISABLE
            | REMOTE_LOG_DELETE_ON_DISABLE => {
                if value != "true" && value != "false" {
                    return Err("must be true or false".into());
                }
            }
            LEADER_REPLICATION_THROTTLED_REPLICAS | FOLLOWER_REPLICATION_THROTTLED_REPLICAS => {
                if !is_throttled_replica_list(value) {
                    return Err("must be '*' or a list of PARTITION:BROKER pairs \
                                such as 0:101,1:102"
                        .into());
                }
            }
            SEGMENT_INDEX_BYTES => match value.parse::<i32>() {
                Ok(n) if n >= 4 => {}
                _ => return Err(format!("must be a number from 4 to {}", i32::MAX)),
            },
            FILE_DELETE_DELAY_MS => match value.parse::<i64>() {
                Ok(n) if n >= 0 => {}
                _ => return Err("must be a number of at least 0".into()),
            },
            _ => {
                if !is_kafka_version(value) {
                    return Err("must be a Kafka version such as 0.10.0.0, 2.8 or 3.0-IV1".into());
                }
            }
        }
        self.given.insert(key, value.to_owned());
        Ok(true)
    }

    pub fn value(&self, name: &str) -> Option<String> {
        let &(key, default) = DEFAULTS.iter().find(|(k, _)| *k == name)?;
        Some(
            self.given
                .get(key)
                .map_or(default, String::as_str)
                .to_owned(),
        )
    }
}

/// Kafka's `ThrottledReplicaListValidator`: `*`, or `PARTITION:BROKER` pairs separated by
/// commas (spaces around them allowed); the empty list throttles nothing.
fn is_throttled_replica_list(v: &str) -> bool {
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    let pair = |item: &str| {
        item.split_once(':').is_some_and(|(p, b)| {
            [p, b]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        })
    };
    items == ["*"] || items == [""] || items.iter().all(|i| pair(i))
}

/// A version as Kafka names them: `0.10.2`, `2.8`, `3.0-IV1`.
fn is_kafka_version(v: &str) -> bool {
    let (numbers, iv) = v.split_once("-IV").unwrap_or((v, "0"));
    let parts: Vec<&str> = numbers.split('.').collect();
    (2..=4).contains(&parts.len())
        && parts
            .iter()
            .chain([&iv])
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_configs_are_checked_kept_and_reported() {
        let mut s = InertSettings::default();
        assert_eq!(s.value(MESSAGE_FORMAT_VERSION).as_deref(), Some("3.0-IV1"));
        assert_eq!(s.set(MESSAGE_FORMAT_VERSION, "0.10.2"), Ok(true));
        assert_eq!(s.set(PREALLOCATE, "true"), Ok(true));
        assert_eq!(s.value(MESSAGE_FORMAT_VERSION).as_deref(), Some("0.10.2"));
        assert_eq!(s.value(PREALLOCATE).as_deref(), Some("true"));
        for (k, v) in [
            (LEADER_REPLICATION_THROTTLED_REPLICAS, "*"),
            (FOLLOWER_REPLICATION_THROTTLED_REPLICAS, "0:101, 1:102"),
            (REMOTE_LOG_DELETE_ON_DISABLE, "true"),
        ] {
            assert_eq!(s.set(k, v), Ok(true), "{k}={v}");
            assert_eq!(s.value(k).as_deref(), Some(v));
        }
        assert_eq!(s.set("retention.ms", "5"), Ok(false));
        assert_eq!(s.value("retention.ms"), None);
    }

    #[test]
    fn bad_values_are_refused() {
        let mut s = InertSettings::default();
        for (k, v) in [
            (MESSAGE_FORMAT_VERSION, "three"),
            (MESSAGE_FORMAT_VERSION, "3"),
            (MESSAGE_FORMAT_VERSION, "3.0-IVx"),
            (PREALLOCATE, "yes"),
            (SEGMENT_INDEX_BYTES, "3"),
            (FILE_DELETE_DELAY_MS, "-1"),
            (LEADER_REPLICATION_THROTTLED_REPLICAS, "0:1,*"),
            (FOLLOWER_REPLICATION_THROTTLED_REPLICAS, "0-1"),
            (FOLLOWER_REPLICATION_THROTTLED_REPLICAS, "0:"),
            (REMOTE_LOG_COPY_DISABLE, "no"),
        ] {
            assert!(s.set(k, v).is_err(), "{k}={v}");
        }
        assert_eq!(s, InertSettings::default());
    }
}
