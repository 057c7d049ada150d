//! The produce-side check of compacted topics: every record must have a key (Kafka refuses an
//! unkeyed record there with INVALID_RECORD), since the cleaner could not keep it.

use chronik_types::Offset;

use crate::Result;
use crate::batch::{check_batch, records_of};
use crate::record::Records;

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
