//! One stored batch as the cleaner sees it: checked, its records decompressed, and the two
//! shapes a filtered batch can be written in (rebuilt around its retained records, or empty).

use std::borrow::Cow;

use chronik_records::{BATCH_HEADER_LEN, BatchHeader, RecordsError, validate_batch};

use crate::Result;
use crate::codec::decompress;

/// Attribute bit: record timestamps are the broker's append time (the batch's max timestamp).
const LOG_APPEND_TIME_FLAG: i16 = 0x08;
/// Attribute bit: the base timestamp holds the batch's delete horizon (KIP-534).
pub(crate) const DELETE_HORIZON_FLAG: i16 = 0x40;
/// Attribute bits a rebuilt batch keeps: codec, timestamp type, transactional, control.
const KEPT_ATTRIBUTES: i16 = 0x07 | LOG_APPEND_TIME_FLAG | 0x10 | 0x20;
/// Kafka's "no timestamp", the base timestamp of an empty batch.
const NO_TIMESTAMP: i64 = -1;

/// Checks one exactly-delimited batch: length, CRC-32C, record count. Also accepts the empty
/// batches the cleaner itself leaves behind (a header and no records), which
/// [`chronik_records::validate_batch`] refuses.
pub(crate) fn check_batch(batch: &[u8]) -> Result<BatchHeader> {
    match validate_batch(batch) {
        Ok(header) => Ok(header),
        // validate_batch checks length and CRC before counts, so this batch passed both.
        Err(RecordsError::NoRecords {
            count: 0,
            last_offset_delta,
        }) if last_offset_delta >= 0 && batch.len() == BATCH_HEADER_LEN => {
            Ok(BatchHeader::parse(batch)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The delete horizon a previous cleaning stamped on the batch, if any.
pub(crate) fn delete_horizon(header: &BatchHeader) -> Option<i64> {
    (header.attributes & DELETE_HORIZON_FLAG != 0).then_some(header.base_timestamp)
}

/// The batch's records: decompressed (at most `limit` bytes) and ready to walk. An empty
/// batch has no records section to decompress.
pub(crate) fn records_of<'a>(
    batch: &'a [u8],
    header: &BatchHeader,
    limit: usize,
) -> Result<Cow<'a, [u8]>> {
    if header.records_count == 0 {
        return Ok(Cow::Borrowed(&[]));
    }
    decompress(header, &batch[BATCH_HEADER_LEN..], limit)
}

/// Whether records carry the broker's append time rather than the producer's.
pub(crate) fn is_log_append_time(header: &BatchHeader) -> bool {
    header.attributes & LOG_APPEND_TIME_FLAG != 0
}

/// The header of a rebuilt batch: the original's offsets, producer fields, leader epoch, codec
/// and flags (Kafka's `buildRetainedRecordsInto` keeps base offset and last offset so the
/// producer's sequence range survives), with new timestamps, count and delete horizon.
pub(crate) fn rebuilt_header(
    original: &BatchHeader,
    base_timestamp: i64,
    max_timestamp: i64,
    records_count: i32,
    with_horizon: bool,
) -> BatchHeader {
    let mut attributes = original.attributes & KEPT_ATTRIBUTES;
    if with_horizon {
        attributes |= DELETE_HORIZON_FLAG;
    }
    BatchHeader {
        attributes,
        base_timestamp,
        max_timestamp,
        records_count,
        ..*original
    }
}

/// Appends the empty batch Kafka's `writeEmptyHeader` makes: no records, uncompressed, no base
/// timestamp, but the original's offsets, producer fields, epoch, flags and max timestamp.
pub(crate) fn write_empty(original: &BatchHeader, out: &mut Vec<u8>) -> Result<()> {
    let header = BatchHeader {
        attributes: original.attributes & KEPT_ATTRIBUTES & !0x07,
        base_timestamp: NO_TIMESTAMP,
        records_count: 0,
        ..*original
    };
    let start = out.len();
    header.write_to(out);
    Ok(chronik_records::seal_batch(&mut out[start..])?)
}
