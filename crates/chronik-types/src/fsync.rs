use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// When appended data is forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FsyncPolicy {
    /// An append is acknowledged only after its bytes are fsynced (group commit).
    Always,
    /// Dirty data is fsynced every interval; appends do not wait for it.
    Interval(Duration),
    /// Never fsync while running (page cache and replication give durability); close still syncs.
    Never,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid fsync policy '{0}': expected 'always', 'never' or 'interval=MS' (e.g. interval=100)"
)]
pub struct ParseFsyncPolicyError(String);

impl FromStr for FsyncPolicy {
    type Err = ParseFsyncPolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            _ => {
                let ms = s
                    .strip_prefix("interval=")
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| ParseFsyncPolicyError(s.to_string()))?;
                Ok(Self::Interval(Duration::from_millis(ms)))
            }
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Always => f.write_str("always"),
            Self::Never => f.write_str("never"),
            Self::Interval(d) => write!(f, "interval={}", d.as_millis()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_policy() {
        for text in ["always", "never", "interval=250"] {
            let policy: FsyncPolicy = text.parse().unwrap();
            assert_eq!(policy.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_policies() {
        for text in [
            "",
            "sometimes",
            "interval=",
            "interval=0",
            "interval=-5",
            "interval=x",
        ] {
            assert!(text.parse::<FsyncPolicy>().is_err(), "{text} accepted");
        }
    }
}
