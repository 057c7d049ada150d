//! Why a record batch was refused. Protocol layers map these to their own error codes.

use crate::header::BATCH_HEADER_LEN;

/// Everything that makes bytes not a valid RecordBatch v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    #[error("no record batch in the records")]
    Empty,

    #[error("truncated: {available} bytes, fewer than a v2 batch header ({BATCH_HEADER_LEN})")]
    ShortHeader { available: usize },

    #[error("message format (magic) {magic} is not RecordBatch v2")]
    UnsupportedMagic { magic: i8 },

    #[error("batch length {length} is smaller than a v2 batch header")]
    LengthTooSmall { length: i32 },

    #[error("truncated: a batch of {declared} bytes runs past the {available} bytes left")]
    Truncated { declared: usize, available: usize },

    #[error("batch length field says {declared} bytes but {supplied} were supplied")]
    LengthMismatch { declared: usize, supplied: usize },

    #[error("batch of {size} bytes exceeds max.message.bytes ({max})")]
    TooLarge { size: usize, max: usize },

    #[error("CRC-32C mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    CrcMismatch { stored: u32, computed: u32 },

    #[error("batch holds no records (record count {count}, last offset delta {last_offset_delta})")]
    NoRecords { count: i32, last_offset_delta: i32 },

    #[error(
        "record count {count} exceeds the batch's offset range (last offset delta {last_offset_delta})"
    )]
    CountExceedsRange { count: i32, last_offset_delta: i32 },

    #[error("unknown compression codec in attributes {attributes:#x}")]
    UnknownCompression { attributes: i16 },
}

/// A refused batch of a run of batches, and the byte it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("record batch at byte {position}: {error}")]
pub struct BatchError {
    pub position: usize,
    #[source]
    pub error: RecordsError,
}

/// The result type of this crate.
pub type Result<T, E = RecordsError> = std::result::Result<T, E>;
