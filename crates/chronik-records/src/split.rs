//! Splitting a produce partition's `records` bytes into validated batches.
//!
//! The bytes are a run of RecordBatch v2 blobs. Each is bounds-checked from its own length field
//! (never trusting it beyond the bytes present), held to `max.message.bytes` and validated in
//! full, once: the produce path hands the resulting headers on instead of re-reading bytes.

use std::ops::Range;

use crate::header::{
    BATCH_HEADER_LEN, BATCH_LENGTH, BatchHeader, CURRENT_MAGIC, LOG_OVERHEAD, MAGIC,
};
use crate::{BatchError, Compression, RecordsError, validate_batch, validate_stored_batch};

/// One validated batch of a run of batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidBatch {
    /// Where the batch lies in the bytes that were split.
    pub range: Range<usize>,
    pub header: BatchHeader,
}

/// Splits `bytes` into batches, each at most `max_message_bytes` long and valid on its own
/// (see [`validate_batch`]), with a known compression codec. Refuses an empty run.
pub fn split_batches(
    bytes: &[u8],
    max_message_bytes: usize,
) -> Result<Vec<ValidBatch>, BatchError> {
    split_checked(bytes, max_message_bytes, validate_batch)
}

/// Like [`split_batches`], for batches read from a log (a follower copying its leader's): an
/// emptied batch the cleaner kept is valid here (see [`validate_stored_batch`]).
pub fn split_stored_batches(
    bytes: &[u8],
    max_message_bytes: usize,
) -> Result<Vec<ValidBatch>, BatchError> {
    split_checked(bytes, max_message_bytes, validate_stored_batch)
}

fn split_checked(
    bytes: &[u8],
    max_message_bytes: usize,
    validate: fn(&[u8]) -> Result<BatchHeader, RecordsError>,
) -> Result<Vec<ValidBatch>, BatchError> {
    if bytes.is_empty() {
        return Err(BatchError {
            position: 0,
            error: RecordsError::Empty,
        });
    }
    let mut batches = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let at = |error| BatchError {
            position: pos,
            error,
        };
        let len = batch_len(&bytes[pos..], max_message_bytes).map_err(at)?;
        let header = check_batch(&bytes[pos..pos + len], validate).map_err(at)?;
        batches.push(ValidBatch {
            range: pos..pos + len,
            header,
        });
        pos += len;
    }
    Ok(batches)
}

/// Reads and bounds the total length of the batch starting at `rest`, from its length field and
/// never beyond the bytes present. The magic byte is looked at first so that an old-format batch
/// (whose layout differs) is named as such. [`RecordsError::ShortHeader`] and
/// [`RecordsError::Truncated`] mean the batch is cut short; readers that may receive a partial
/// last batch stop there.
pub fn batch_len(rest: &[u8], max_message_bytes: usize) -> Result<usize, RecordsError> {
    let Some(&magic) = rest.get(MAGIC) else {
        return Err(RecordsError::ShortHeader {
            available: rest.len(),
        });
    };
    let magic = magic as i8;
    if magic != CURRENT_MAGIC {
        return Err(RecordsError::UnsupportedMagic { magic });
    }
    let field = &rest[BATCH_LENGTH..BATCH_LENGTH + 4];
    let length = i32::from_be_bytes([field[0], field[1], field[2], field[3]]);
    let total = usize::try_from(length)
        .map(|counted| counted.saturating_add(LOG_OVERHEAD))
        .unwrap_or(0);
    if total < BATCH_HEADER_LEN {
        return Err(RecordsError::LengthTooSmall { length });
    }
    if total > max_message_bytes {
        return Err(RecordsError::TooLarge {
            size: total,
            max: max_message_bytes,
        });
    }
    if total > rest.len() {
        return Err(RecordsError::Truncated {
            declared: total,
            available: rest.len(),
        });
    }
    Ok(total)
}

/// Validates one exactly-delimited batch; an unknown codec could never be read back.
fn check_batch(
    batch: &[u8],
    validate: fn(&[u8]) -> Result<BatchHeader, RecordsError>,
) -> Result<BatchHeader, RecordsError> {
    let header = validate(batch)?;
    if header.compression() == Compression::Unknown {
        return Err(RecordsError::UnknownCompression {
            attributes: header.attributes,
        });
    }
    Ok(header)
}
