//! The produce-side checks that read a batch's records (decompressed, bounded): every record of
//! a compacted topic must have a key (Kafka refuses an unkeyed record there with
//! INVALID_RECORD, since the cleaner could not keep it), and a topic may bound the records'
//! timestamps.

use chronik_types::Offset;

use crate::Result;
use crate::batch::{check_batch, records_of};
use crate::record::Records;

/// The position in `batch` (0 for its first record) of every record without a key: what a
/// produce answer names in its record errors, so the client fails only those records. Records
/// decompress to at most `uncompressed_limit` bytes; a damaged batch, or one larger once
/// decompressed, is an error.
pub fn unkeyed_records(batch: &[u8], uncompressed_limit: usize) -> Result<Vec<i32>> {
    let header = check_batch(batch)?;
    if header.is_control() {
        return Ok(Vec::new());
    }
    let records = records_of(batch, &header, uncompressed_limit)?;
    let mut unkeyed = Vec::new();
    for (position, record) in Records::new(&header, &records).enumerate() {
        if record?.key.is_none() {
            unkeyed.push(i32::try_from(position).unwrap_or(i32::MAX));
        }
    }
    Ok(unkeyed)
}

/// The offset of the first record without a key in `batch` (offsets as the batch numbers them),
/// or `None` when every record has one. Records decompress to at most `uncompressed_limit`
/// bytes; a batch that is damaged, or larger once decompressed, is an error.
pub fn first_unkeyed_record(batch: &[u8], uncompressed_limit: usize) -> Result<Option<Offset>> {
    let header = check_batch(batch)?;
    if header.is_control() {
        return Ok(None);
    }
    let records = records_of(batch, &header, uncompressed_limit)?;
    for record in Records::new(&header, &records) {
        let record = record?;
        if record.key.is_none() {
            return Ok(Some(record.offset));
        }
    }
    Ok(None)
}

/// The smallest and largest timestamp of `batch`'s records, leaving out records without one
/// (-1, which Kafka does not check); `None` when no record has one. Records decompress to at
/// most `uncompressed_limit` bytes; a damaged batch, or one larger once decompressed, is an
/// error.
pub fn timestamp_range(batch: &[u8], uncompressed_limit: usize) -> Result<Option<(i64, i64)>> {
    const NO_TIMESTAMP: i64 = -1;
    let header = check_batch(batch)?;
    let records = records_of(batch, &header, uncompressed_limit)?;
    let mut range: Option<(i64, i64)> = None;
    for record in Records::new(&header, &records) {
        let ts = header
            .base_timestamp
            .saturating_add(record?.timestamp_delta);
        if ts == NO_TIMESTAMP {
            continue;
        }
        range = Some(range.map_or((ts, ts), |(min, max)| (min.min(ts), max.max(ts))));
    }
    Ok(range)
}
