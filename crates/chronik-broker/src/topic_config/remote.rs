//! `remote.storage.enable`: whether the topic's partition leaders copy its sealed segments to
//! the broker's remote tier (`--remote-storage`). Refused on a broker without one, as Kafka
//! refuses it when tiered storage is off. `local.retention.ms` / `local.retention.bytes`:
//! what of a tiered topic stays on local disk (-2, the default: what `retention.*` keeps).

pub(crate) const REMOTE_STORAGE_ENABLE: &str = "remote.storage.enable";
pub(crate) const LOCAL_RETENTION_MS: &str = "local.retention.ms";
pub(crate) const LOCAL_RETENTION_BYTES: &str = "local.retention.bytes";

/// `local.retention.*`'s value for "the same as `retention.*`".
const AS_RETENTION: i64 = -2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteSettings {
    /// The broker has a remote tier.
    pub available: bool,
    pub enabled: bool,
    /// As given: -2 (as `retention.ms`), -1 (unbounded) or milliseconds.
    local_retention_ms: i64,
    /// As given: -2 (as `retention.bytes`), -1 (unbounded) or bytes.
    local_retention_bytes: i64,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            available: false,
            enabled: false,
            local_retention_ms: AS_RETENTION,
            local_retention_bytes: AS_RETENTION,
        }
    }
}

impl RemoteSettings {
    pub fn new(available: bool) -> Self {
        RemoteSettings {
            available,
            ..RemoteSettings::default()
        }
    }

    /// What stays on local disk, given what the whole log keeps (`None`: unbounded); never
    /// more than the whole log keeps.
    pub fn local_retention(
        &self,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
    ) -> (Option<i64>, Option<u64>) {
        let ms = match self.local_retention_ms {
            AS_RETENTION => retention_ms,
            n => u64::try_from(n)
                .ok()
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        };
        let bytes = match self.local_retention_bytes {
            AS_RETENTION => retention_bytes,
            n => u64::try_from(n).ok(),
        };
        let tighter = |local: Option<u64>, whole: Option<u64>| match (local, whole) {
            (Some(l), Some(w)) => Some(l.min(w)),
            (l, w) => l.or(w),
        };
        let ms = tighter(
            ms.map(i64::unsigned_abs),
            retention_ms.map(i64::unsigned_abs),
        );
        (
            ms.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            tighter(bytes, retention_bytes),
        )
    }

    /// Checks and keeps `value` for `name`; `Ok(false)` when `name` is not one of these.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let limit = || match value.parse::<i64>() {
            Ok(n) if n >= AS_RETENTION => Ok(n),
            _ => Err("must be a number of at least -2 (-2: as retention.*, -1: unbounded)"),
        };
        match name {
            LOCAL_RETENTION_MS => self.local_retention_ms = limit()?,
            LOCAL_RETENTION_BYTES => self.local_retention_bytes = limit()?,
            REMOTE_STORAGE_ENABLE => self.enable(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn enable(&mut self, value: &str) -> Result<(), String> {
        self.enabled = match value.to_ascii_lowercase().as_str() {
            "false" => false,
            "true" if self.available => true,
            "true" => {
                return Err(
                    "this broker has no remote tier: start it with --remote-storage, \
                            or leave remote.storage.enable false"
                        .into(),
                );
            }
            _ => return Err("must be true or false".into()),
        };
        Ok(())
    }

    pub fn value(&self, name: &str) -> Option<String> {
        match name {
            REMOTE_STORAGE_ENABLE => Some(self.enabled.to_string()),
            LOCAL_RETENTION_MS => Some(self.local_retention_ms.to_string()),
            LOCAL_RETENTION_BYTES => Some(self.local_retention_bytes.to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_needs_a_remote_tier() {
        let mut without = RemoteSettings::default();
        assert_eq!(without.set(REMOTE_STORAGE_ENABLE, "false"), Ok(true));
        let err = without.set(REMOTE_STORAGE_ENABLE, "true").unwrap_err();
        assert!(err.contains("--remote-storage"), "{err}");
        assert!(!without.enabled);
        let mut with = RemoteSettings::new(true);
        assert_eq!(with.set(REMOTE_STORAGE_ENABLE, "TRUE"), Ok(true));
        assert_eq!(with.value(REMOTE_STORAGE_ENABLE).as_deref(), Some("true"));
        assert!(with.set(REMOTE_STORAGE_ENABLE, "yes").is_err());
        assert_eq!(with.set("retention.ms", "1"), Ok(false));
    }

    #[test]
    fn local_retention_defaults_to_the_whole_logs_and_never_exceeds_it() {
        let mut s = RemoteSettings::new(true);
        assert_eq!(s.local_retention(Some(1000), None), (Some(1000), None));
        s.set(LOCAL_RETENTION_MS, "100").unwrap();
        s.set(LOCAL_RETENTION_BYTES, "-1").unwrap();
        assert_eq!(
            s.local_retention(Some(1000), Some(50)),
            (Some(100), Some(50))
        );
        s.set(LOCAL_RETENTION_MS, "5000").unwrap();
        assert_eq!(s.local_retention(Some(1000), None), (Some(1000), None));
        assert_eq!(s.local_retention(None, None), (Some(5000), None));
        assert!(s.set(LOCAL_RETENTION_BYTES, "-3").is_err());
        assert_eq!(s.value(LOCAL_RETENTION_BYTES).as_deref(), Some("-1"));
    }
}
