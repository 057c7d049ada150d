//! Checking one exactly-delimited batch: header, length, CRC-32C and record count.

use crate::header::{ATTRIBUTES, BATCH_HEADER_LEN, BatchHeader, CRC, LOG_OVERHEAD, i32_at};
use crate::{RecordsError, Result};

fn computed_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES..])
}

/// Whether the batch's CRC-32C (over attributes to the end) matches its contents.
pub fn crc_matches(batch: &[u8]) -> bool {
    batch.len() >= BATCH_HEADER_LEN && computed_crc(batch) == i32_at(batch, CRC) as u32
}

/// Validates one complete v2 batch as a producer must send it: [`validate_stored_batch`], and
/// at least one record.
pub fn validate_batch(batch: &[u8]) -> Result<BatchHeader> {
    let header = validate_stored_batch(batch)?;
    if header.records_count == 0 {
        return Err(RecordsError::NoRecords {
            count: 0,
            last_offset_delta: header.last_offset_delta,
        });
    }
    Ok(header)
}

/// Validates one complete v2 batch as a log may hold it: header, magic 2, exact length, CRC-32C
/// and a record count within its offset range. A count of 0 is allowed: the log cleaner keeps
/// an emptied batch where a producer's state needs it, as Kafka does.
///
/// The CRC is checked before the counts so that damaged bytes are reported as such rather than
/// as whatever nonsense they happen to spell.
pub fn validate_stored_batch(batch: &[u8]) -> Result<BatchHeader> {
    let header = BatchHeader::parse(batch)?;
    if header.batch_length < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(RecordsError::LengthTooSmall {
            length: header.batch_length,
        });
    }
    if header.total_len() != batch.len() {
        return Err(RecordsError::LengthMismatch {
            declared: header.total_len(),
            supplied: batch.len(),
        });
    }
    let computed = computed_crc(batch);
    if computed != header.crc {
        return Err(RecordsError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    let (count, last_offset_delta) = (header.records_count, header.last_offset_delta);
    if last_offset_delta < 0 || count < 0 {
        return Err(RecordsError::NoRecords {
            count,
            last_offset_delta,
        });
    }
    if i64::from(count) > i64::from(last_offset_delta) + 1 {
        return Err(RecordsError::CountExceedsRange {
            count,
            last_offset_delta,
        });
    }
    Ok(header)
}
