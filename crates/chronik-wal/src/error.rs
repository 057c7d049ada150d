use std::path::PathBuf;

use chronik_types::Offset;

/// Everything that can go wrong in the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "data dir {path} is locked by another process ({holder}); stop that process or use another --data-dir"
    )]
    DirLocked { path: PathBuf, holder: String },

    /// The bytes are not a valid v2 record batch.
    #[error("invalid record batch: {0}")]
    Batch(#[from] chronik_records::RecordsError),

    /// A batch this log cannot hold: past the largest offset or the frame size limit.
    #[error("invalid record batch: {0}")]
    InvalidBatch(&'static str),

    #[error(
        "offset {requested} is out of range: the log holds offsets {start} up to (not including) {end}"
    )]
    OffsetOutOfRange {
        requested: Offset,
        start: Offset,
        end: Offset,
    },

    #[error(
        "log {log} stopped accepting writes after a failed write or fsync ({reason}); restart once the disk is healthy"
    )]
    LogFailed { log: String, reason: String },

    #[error(
        "log {log}: a replicated batch starts at offset {base}, below the log's end {end}; truncate to the leader's log before appending"
    )]
    BelowEnd {
        log: String,
        base: Offset,
        end: Offset,
    },

    #[error("log {0} is closed")]
    Closed(String),

    #[error("the append was truncated away before it became durable")]
    Truncated,

    #[error("invalid configuration: {0}")]
    Config(String),

    #[error("corrupt file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },

    #[error("log {log} has no segment starting at offset {base}; list them with `segments()`")]
    NoSuchSegment { log: String, base: Offset },

    /// A segment rewrite the log cannot do: the reason says what to change.
    #[error("log {log}: segment rewrite refused: {reason}")]
    RewriteRefused { log: String, reason: String },

    #[error(
        "log {log}: a segment swap stopped after it was decided ({reason}); the log refuses \
         writes and removals until a restart, whose recovery completes the swap"
    )]
    SwapInterrupted { log: String, reason: String },
}

/// The storage engine's result type.
pub type Result<T, E = WalError> = std::result::Result<T, E>;

/// Attaches the path to an I/O error so that every message names the file that failed.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| WalError::Io {
            path: path.into(),
            source,
        })
    }
}
