//! The produce-side check of compacted topics: every record must have a key (Kafka refuses an
//! unkeyed record there with INVALID_RECORD), since the cleaner could not keep it.

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
