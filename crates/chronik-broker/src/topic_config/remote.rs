//! `remote.storage.enable`: whether the topic's partition leaders copy its sealed segments to
//! the broker's remote tier (`--remote-storage`). Refused on a broker without one, as Kafka
//! refuses it when tiered storage is off.

pub(crate) const REMOTE_STORAGE_ENABLE: &str = "remote.storage.enable";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RemoteSettings {
    /// The broker has a remote tier.
    pub available: bool,
    pub enabled: bool,
}

impl RemoteSettings {
    /// Checks and keeps `value` for `name`; `Ok(false)` when `name` is not this config.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        if name != REMOTE_STORAGE_ENABLE {
            return Ok(false);
        }
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
        Ok(true)
    }

    pub fn value(&self, name: &str) -> Option<String> {
        (name == REMOTE_STORAGE_ENABLE).then(|| self.enabled.to_string())
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
        let mut with = RemoteSettings {
            available: true,
            enabled: false,
        };
        assert_eq!(with.set(REMOTE_STORAGE_ENABLE, "TRUE"), Ok(true));
        assert_eq!(with.value(REMOTE_STORAGE_ENABLE).as_deref(), Some("true"));
        assert!(with.set(REMOTE_STORAGE_ENABLE, "yes").is_err());
        assert_eq!(with.set("retention.ms", "1"), Ok(false));
    }
}
