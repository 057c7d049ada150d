//! The timestamp configs of a topic: whose time its records carry (`message.timestamp.type`)
//! and how far a producer's timestamps may lie from the broker's clock (KIP-937's
//! `message.timestamp.before.max.ms` / `after.max.ms`, and the deprecated
//! `message.timestamp.difference.max.ms` they fall back to, as in Kafka 3.9).

pub(crate) const MESSAGE_TIMESTAMP_TYPE: &str = "message.timestamp.type";
pub(crate) const MESSAGE_TIMESTAMP_BEFORE_MAX_MS: &str = "message.timestamp.before.max.ms";
pub(crate) const MESSAGE_TIMESTAMP_AFTER_MAX_MS: &str = "message.timestamp.after.max.ms";
pub(crate) const MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS: &str = "message.timestamp.difference.max.ms";

const CREATE_TIME: &str = "CreateTime";
const LOG_APPEND_TIME: &str = "LogAppendTime";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimestampSettings {
    /// The broker stamps each batch with its append time (LogAppendTime) instead of keeping
    /// the producer's (CreateTime).
    pub log_append_time: bool,
    before_max_ms: i64,
    after_max_ms: i64,
    difference_max_ms: i64,
}

impl Default for TimestampSettings {
    /// Kafka 3.9's defaults: CreateTime, any timestamp accepted.
    fn default() -> Self {
        TimestampSettings {
            log_append_time: false,
            before_max_ms: i64::MAX,
            after_max_ms: i64::MAX,
            difference_max_ms: i64::MAX,
        }
    }
}

impl TimestampSettings {
    /// Parses `value` into setting `name`; `Ok(false)` when `name` is not a timestamp config.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let millis = || -> Result<i64, String> {
            let n: i64 = value.parse().map_err(|_| "not a number".to_owned())?;
            if n < 0 {
                return Err("must be at least 0".into());
            }
            Ok(n)
        };
        match name {
            MESSAGE_TIMESTAMP_TYPE => {
                self.log_append_time = match value {
                    CREATE_TIME => false,
                    LOG_APPEND_TIME => true,
                    _ => return Err(format!("must be {CREATE_TIME} or {LOG_APPEND_TIME}")),
                }
            }
            MESSAGE_TIMESTAMP_BEFORE_MAX_MS => self.before_max_ms = millis()?,
            MESSAGE_TIMESTAMP_AFTER_MAX_MS => self.after_max_ms = millis()?,
            MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS => self.difference_max_ms = millis()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub fn value(&self, name: &str) -> Option<String> {
        Some(match name {
            MESSAGE_TIMESTAMP_TYPE => match self.log_append_time {
                true => LOG_APPEND_TIME.to_owned(),
                false => CREATE_TIME.to_owned(),
            },
            MESSAGE_TIMESTAMP_BEFORE_MAX_MS => self.before_max_ms.to_string(),
            MESSAGE_TIMESTAMP_AFTER_MAX_MS => self.after_max_ms.to_string(),
            MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS => self.difference_max_ms.to_string(),
            _ => return None,
        })
    }

    /// Whether producer timestamps are checked at all: not under LogAppendTime, nor while
    /// every bound is at its default (so the records need not be read).
    pub fn bounds_timestamps(&self) -> bool {
        !self.log_append_time
            && (
                self.before_max_ms,
                self.after_max_ms,
                self.difference_max_ms,
            ) != (i64::MAX, i64::MAX, i64::MAX)
    }

    /// Whether a batch whose records' timestamps span `min..=max` may be appended at `now`
    /// (milliseconds since the epoch); why not otherwise. Only producer time is checked: under
    /// LogAppendTime the broker's own time replaces it.
    pub fn check(&self, (min, max): (i64, i64), now: i64) -> Result<(), String> {
        if self.log_append_time {
            return Ok(());
        }
        // A bound left at its default falls back to the deprecated difference, as in Kafka.
        let bound = |own: i64| {
            if own == i64::MAX {
                self.difference_max_ms
            } else {
                own
            }
        };
        let (before, after) = (bound(self.before_max_ms), bound(self.after_max_ms));
        if now.saturating_sub(min) > before {
            return Err(format!(
                "timestamp {min} is more than {MESSAGE_TIMESTAMP_BEFORE_MAX_MS}={before} before the broker's time {now}"
            ));
        }
        if max.saturating_sub(now) > after {
            return Err(format!(
                "timestamp {max} is more than {MESSAGE_TIMESTAMP_AFTER_MAX_MS}={after} after the broker's time {now}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> TimestampSettings {
        let mut s = TimestampSettings::default();
        for (k, v) in pairs {
            assert_eq!(s.set(k, v), Ok(true), "{k}={v}");
        }
        s
    }

    #[test]
    fn by_default_any_timestamp_is_accepted() {
        let s = TimestampSettings::default();
        assert!(!s.bounds_timestamps());
        assert!(with(&[(MESSAGE_TIMESTAMP_AFTER_MAX_MS, "5")]).bounds_timestamps());
        assert_eq!(s.check((i64::MIN + 1, i64::MAX), 1_000), Ok(()));
        assert_eq!(
            s.value(MESSAGE_TIMESTAMP_TYPE).as_deref(),
            Some("CreateTime")
        );
    }

    #[test]
    fn timestamps_too_old_or_too_new_are_refused() {
        let s = with(&[
            (MESSAGE_TIMESTAMP_BEFORE_MAX_MS, "1000"),
            (MESSAGE_TIMESTAMP_AFTER_MAX_MS, "10"),
        ]);
        let now = 1_000_000;
        assert_eq!(s.check((now - 1_000, now + 10), now), Ok(()));
        assert!(
            s.check((now - 1_001, now), now)
                .unwrap_err()
                .contains("before")
        );
        assert!(s.check((now, now + 11), now).unwrap_err().contains("after"));
    }

    #[test]
    fn the_deprecated_difference_bounds_what_is_left_at_its_default() {
        let s = with(&[
            (MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS, "100"),
            (MESSAGE_TIMESTAMP_AFTER_MAX_MS, "5000"),
        ]);
        let now = 1_000_000;
        assert!(s.check((now - 101, now), now).is_err(), "before falls back");
        assert_eq!(s.check((now, now + 5_000), now), Ok(()), "after is its own");
    }

    #[test]
    fn log_append_time_replaces_the_producers_time() {
        let s = with(&[
            (MESSAGE_TIMESTAMP_TYPE, "LogAppendTime"),
            (MESSAGE_TIMESTAMP_BEFORE_MAX_MS, "0"),
        ]);
        assert!(s.log_append_time);
        assert_eq!(s.check((0, 0), 1_000_000), Ok(()));
    }

    #[test]
    fn bad_values_are_refused() {
        let mut s = TimestampSettings::default();
        assert!(s.set(MESSAGE_TIMESTAMP_TYPE, "logappendtime").is_err());
        assert!(s.set(MESSAGE_TIMESTAMP_AFTER_MAX_MS, "-1").is_err());
        assert!(s.set(MESSAGE_TIMESTAMP_BEFORE_MAX_MS, "soon").is_err());
        assert_eq!(s.set("retention.ms", "1"), Ok(false));
        assert_eq!(s, TimestampSettings::default());
    }
}
