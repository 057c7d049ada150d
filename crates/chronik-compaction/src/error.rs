//! Why a batch could not be mapped or filtered. Every error names the batch by its base offset
//! (when its header could be read) and says what the caller can do about it.

use chronik_records::RecordsError;
use chronik_types::Offset;

/// Everything that stops the cleaner's logic on one batch. None of these is a bug of the
/// caller's: they come from the bytes, which come from disk and, before that, from clients.
#[derive(Debug, thiserror::Error)]
pub enum CompactionError {
    #[error(
        "record batch refused: {0}; the stored batch is damaged, so leave its segment uncleaned \
         and check the log with `chronik-walctl verify`"
    )]
    Batch(#[from] RecordsError),

    #[error(
        "batch at offset {base_offset}: cannot decompress its {codec} records: {reason}; the \
         batch is damaged, so leave its segment uncleaned"
    )]
    Decompress {
        base_offset: Offset,
        codec: &'static str,
        reason: String,
    },

    #[error(
        "batch at offset {base_offset}: its records decompress to more than {limit} bytes; \
         raise the cleaner's uncompressed-size limit or leave the segment uncleaned"
    )]
    DecompressedTooLarge { base_offset: Offset, limit: usize },

    #[error(
        "batch at offset {base_offset}: record {index} is malformed ({what}); the batch is \
         damaged, so leave its segment uncleaned"
    )]
    BadRecord {
        base_offset: Offset,
        index: usize,
        what: &'static str,
    },

    #[error(
        "batch at offset {base_offset}: its header counts {declared} records but its body holds \
         {found}; the batch is damaged, so leave its segment uncleaned"
    )]
    CountMismatch {
        base_offset: Offset,
        declared: i32,
        found: usize,
    },

    #[error(
        "batch at offset {base_offset}: cannot re-encode the retained records with {codec}: \
         {reason}; keep the original batch"
    )]
    Compress {
        base_offset: Offset,
        codec: &'static str,
        reason: String,
    },

    #[error(
        "batch at offset {base_offset}: the rewritten batch would be {size} bytes, more than a \
         batch length can say; keep the original batch"
    )]
    RewrittenTooLarge { base_offset: Offset, size: usize },
}

/// The result type of this crate.
pub type Result<T, E = CompactionError> = std::result::Result<T, E>;
