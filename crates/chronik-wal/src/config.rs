use std::time::Duration;

use chronik_types::FsyncPolicy;

use crate::frame::FRAME_HEADER_LEN;
use crate::{Result, WalError};

/// Per-log settings (Kafka's topic configs of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll to a new segment once the active one would pass this size.
    pub segment_bytes: u64,
    /// `segment.ms`: roll once the active segment has been written for this long.
    pub segment_ms: Option<Duration>,
    /// `segment.jitter.ms`: the most `segment_ms` is shortened by for a segment. Each segment
    /// takes a fixed share of it (from its log's name and base offset), so partitions created
    /// together do not all roll at the same moment.
    pub segment_jitter: Duration,
    /// `index.interval.bytes`: bytes between sparse index entries.
    pub index_interval_bytes: u64,
    /// `retention.ms`: delete whole segments whose newest record is older than this.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: delete the oldest whole segments while the log is larger than this.
    pub retention_bytes: Option<u64>,
    /// `flush.messages` and `flush.ms`: when this log is fsynced; `None` follows the data
    /// dir's policy.
    pub flush: Option<FlushPolicy>,
}

/// When a log's writes are fsynced (Kafka's `flush.messages` and `flush.ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Fsync once this many records are written and not yet fsynced. At 1 every append waits
    /// for its fsync before it resolves (group commit); above 1 appends never wait for one.
    pub messages: u64,
    /// Fsync records that have waited this long for one; `None`: no time bound.
    pub interval: Option<Duration>,
}

impl FlushPolicy {
    /// Every append waits for its fsync.
    pub const ALWAYS: Self = FlushPolicy {
        messages: 1,
        interval: None,
    };

    /// The same promise as a data dir's `--fsync` policy.
    pub fn of(policy: FsyncPolicy) -> Self {
        match policy {
            FsyncPolicy::Always => Self::ALWAYS,
            FsyncPolicy::Interval(every) => FlushPolicy {
                messages: u64::MAX,
                interval: Some(every),
            },
            FsyncPolicy::Never => FlushPolicy {
                messages: u64::MAX,
                interval: None,
            },
        }
    }

    /// Whether an append resolves only once it is fsynced.
    pub fn appends_wait(&self) -> bool {
        self.messages <= 1
    }

    /// Whether the log is never fsynced while it runs (closing it still syncs).
    pub fn is_never(&self) -> bool {
        self.messages == u64::MAX && self.interval.is_none()
    }
}

/// Segment positions are stored as u32 in the index, so a segment must stay below 2 GiB.
pub const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;
/// Smaller segments would roll on nearly every append.
pub const MIN_SEGMENT_BYTES: u64 = 1024;
/// Index entries are at most one per frame, so a smaller interval indexes every frame too.
pub const MIN_INDEX_INTERVAL_BYTES: u64 = FRAME_HEADER_LEN as u64;

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: Some(Duration::from_secs(7 * 24 * 3600)),
            segment_jitter: Duration::ZERO,
            index_interval_bytes: 4096,
            retention_ms: Some(7 * 24 * 3600 * 1000),
            retention_bytes: None,
            flush: None,
        }
    }
}

impl LogConfig {
    pub fn validate(&self) -> Result<()> {
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&self.segment_bytes) {
            return Err(WalError::Config(format!(
                "segment.bytes must be between {MIN_SEGMENT_BYTES} and {MAX_SEGMENT_BYTES}, got {}",
                self.segment_bytes
            )));
        }
        if self.index_interval_bytes < MIN_INDEX_INTERVAL_BYTES {
            return Err(WalError::Config(format!(
                "index.interval.bytes must be at least {MIN_INDEX_INTERVAL_BYTES}, got {}",
                self.index_interval_bytes
            )));
        }
        if self.segment_ms == Some(Duration::ZERO) {
            return Err(WalError::Config("segment.ms must be positive".into()));
        }
        if self.flush.is_some_and(|f| f.messages == 0) {
            return Err(WalError::Config("flush.messages must be at least 1".into()));
        }
        if self.retention_ms.is_some_and(|ms| ms < 0) {
            return Err(WalError::Config(
                "retention.ms must be positive (leave it unset for unlimited)".into(),
            ));
        }
        Ok(())
    }

    /// How long the segment of log `name` starting at `base_offset` stays active before it
    /// rolls: `segment_ms` less that segment's share of the jitter, which is below both
    /// `segment_jitter` and `segment_ms` (as Kafka's `randomSegmentJitter`), and the same on
    /// every call so a reopened log keeps its segment's deadline.
    pub fn roll_after(&self, name: &str, base_offset: i64) -> Option<Duration> {
        let segment_ms = self.segment_ms?;
        let bound = self.segment_jitter.min(segment_ms).as_millis();
        if bound == 0 {
            return Some(segment_ms);
        }
        use std::hash::{Hash, Hasher};
        // SipHash with fixed keys: the same share on every run and machine.
        let mut hasher = std::hash::DefaultHasher::new();
        (name, base_offset).hash(&mut hasher);
        let share = u64::try_from(u128::from(hasher.finish()) % bound).unwrap_or(0);
        Some(segment_ms - Duration::from_millis(share))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_shortens_each_segment_by_a_fixed_share_below_its_bound() {
        let hour = Duration::from_secs(3600);
        let mut config = LogConfig {
            segment_ms: Some(hour),
            ..LogConfig::default()
        };
        assert_eq!(config.roll_after("t-0", 0), Some(hour));
        config.segment_jitter = Duration::from_secs(600);
        let rolls: Vec<Duration> = (0..200)
            .map(|base| config.roll_after("t-0", base * 1000).unwrap())
            .collect();
        assert!(
            rolls
                .iter()
                .all(|r| *r <= hour && *r > hour - Duration::from_secs(600))
        );
        let distinct: std::collections::BTreeSet<_> = rolls.iter().collect();
        assert!(distinct.len() > 150, "shares spread: {}", distinct.len());
        assert_eq!(
            config.roll_after("t-0", 5000),
            config.roll_after("t-0", 5000)
        );
        assert_ne!(config.roll_after("t-0", 0), config.roll_after("t-1", 0));
        // A jitter longer than segment.ms is bounded by it, as in Kafka.
        config.segment_jitter = Duration::from_secs(10 * 3600);
        assert!((0..100).all(|b| config.roll_after("t-2", b).unwrap() > Duration::ZERO));
        config.segment_ms = None;
        assert_eq!(config.roll_after("t-0", 0), None);
    }
}
