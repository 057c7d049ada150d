//! The cleanup policy and the log cleaner's topic configs, with Kafka's names, defaults and
//! ranges.

use std::time::Duration;

pub(crate) const MIN_CLEANABLE_DIRTY_RATIO: &str = "min.cleanable.dirty.ratio";
pub(crate) const MIN_COMPACTION_LAG_MS: &str = "min.compaction.lag.ms";
pub(crate) const MAX_COMPACTION_LAG_MS: &str = "max.compaction.lag.ms";
pub(crate) const DELETE_RETENTION_MS: &str = "delete.retention.ms";

/// What happens to a topic's old records: `delete` (retention removes old segments),
/// `compact` (the cleaner keeps the latest record of each key), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CleanupPolicy {
    pub delete: bool,
    pub compact: bool,
}

impl CleanupPolicy {
    pub const DELETE: CleanupPolicy = CleanupPolicy {
        delete: true,
        compact: false,
    };

    /// Parses Kafka's list value; an empty list or an unknown item is refused.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut policy = CleanupPolicy {
            delete: false,
            compact: false,
        };
        for item in items {
            match item.as_str() {
                "delete" => policy.delete = true,
                "compact" => policy.compact = true,
                other => {
                    return Err(format!(
                        "unknown cleanup policy '{other}'; use delete, compact or compact,delete"
                    ));
                }
            }
        }
        if !(policy.delete || policy.compact) {
            return Err("name at least one policy: delete, compact or compact,delete".into());
        }
        Ok(policy)
    }

    /// The value as Kafka lists it.
    pub fn value(self) -> String {
        match (self.compact, self.delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            _ => "delete",
        }
        .to_owned()
    }
}

/// When the cleaner may and must clean a compacted topic, and how long tombstones stay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CompactionSettings {
    /// A log is cleaned once this share of it is dirty (not yet cleaned).
    pub min_cleanable_dirty_ratio: f64,
    /// Records younger than this stay uncompacted (a consumer can see every update).
    pub min_compaction_lag: Duration,
    /// A dirty record older than this makes its log due whatever its dirty ratio.
    pub max_compaction_lag: Duration,
    /// How long a tombstone stays after its log was cleaned, so consumers see the delete.
    pub delete_retention: Duration,
}

impl Default for CompactionSettings {
    /// Kafka's defaults.
    fn default() -> Self {
        CompactionSettings {
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag: Duration::ZERO,
            max_compaction_lag: Duration::from_millis(i64::MAX as u64),
            delete_retention: Duration::from_millis(86_400_000),
        }
    }
}

impl CompactionSettings {
    /// Parses `value` into the setting `name`; `Ok(false)` when `name` is not one of these.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let millis = || -> Result<Duration, String> {
            let n: i64 = value.parse().map_err(|_| "not a number".to_owned())?;
            u64::try_from(n)
                .map(Duration::from_millis)
                .map_err(|_| "must be at least 0".to_owned())
        };
        match name {
            MIN_CLEANABLE_DIRTY_RATIO => {
                let ratio: f64 = value.parse().map_err(|_| "not a number".to_owned())?;
                if !(0.0..=1.0).contains(&ratio) {
                    return Err("must be between 0 and 1".into());
                }
                self.min_cleanable_dirty_ratio = ratio;
            }
            MIN_COMPACTION_LAG_MS => self.min_compaction_lag = millis()?,
            MAX_COMPACTION_LAG_MS => {
                let lag = millis()?;
                if lag.is_zero() {
                    return Err("must be at least 1".into());
                }
                self.max_compaction_lag = lag;
            }
            DELETE_RETENTION_MS => self.delete_retention = millis()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The value of `name` as Kafka writes it, if it is one of these.
    pub fn value(&self, name: &str) -> Option<String> {
        let ms = |d: Duration| d.as_millis().to_string();
        Some(match name {
            MIN_CLEANABLE_DIRTY_RATIO => self.min_cleanable_dirty_ratio.to_string(),
            MIN_COMPACTION_LAG_MS => ms(self.min_compaction_lag),
            MAX_COMPACTION_LAG_MS => ms(self.max_compaction_lag),
            DELETE_RETENTION_MS => ms(self.delete_retention),
            _ => return None,
        })
    }
}
