use std::time::Duration;

use crate::frame::FRAME_HEADER_LEN;
use crate::{Result, WalError};

/// Per-log settings (Kafka's topic configs of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll to a new segment once the active one would pass this size.
    pub segment_bytes: u64,
    /// `segment.ms`: roll once the active segment has been written for this long.
    pub segment_ms: Option<Duration>,
    /// `index.interval.bytes`: bytes between sparse index entries.
    pub index_interval_bytes: u64,
    /// `retention.ms`: delete whole segments whose newest record is older than this.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: delete the oldest whole segments while the log is larger than this.
    pub retention_bytes: Option<u64>,
}

/// Segment positions are stored as u32 in the index, so a segment must stay below 2 GiB.
pub const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;
/// Smaller segments would roll on nearly every append.
pub const MIN_SEGMENT_BYTES: u64 = 1024;

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: Some(Duration::from_secs(7 * 24 * 3600)),
            index_interval_bytes: 4096,
            retention_ms: Some(7 * 24 * 3600 * 1000),
            retention_bytes: None,
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
        if self.index_interval_bytes < FRAME_HEADER_LEN as u64 {
            return Err(WalError::Config(format!(
                "index.interval.bytes must be at least {FRAME_HEADER_LEN}, got {}",
                self.index_interval_bytes
            )));
        }
        if self.segment_ms == Some(Duration::ZERO) {
            return Err(WalError::Config("segment.ms must be positive".into()));
        }
        if self.retention_ms.is_some_and(|ms| ms < 0) {
            return Err(WalError::Config(
                "retention.ms must be positive (leave it unset for unlimited)".into(),
            ));
        }
        Ok(())
    }
}
