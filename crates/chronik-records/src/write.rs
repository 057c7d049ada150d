//! Writing a whole batch header, for rewriters that build a batch around other records (the log
//! cleaner keeps a batch's offsets and producer fields but drops some of its records).

use crate::header::{
    ATTRIBUTES, BASE_OFFSET, BASE_SEQUENCE, BASE_TIMESTAMP, BATCH_HEADER_LEN, BATCH_LENGTH, CRC,
    LAST_OFFSET_DELTA, LEADER_EPOCH, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PRODUCER_EPOCH,
    PRODUCER_ID, RECORDS_COUNT,
};
use crate::{BatchHeader, RecordsError, Result};

impl BatchHeader {
    /// Appends the 61 header bytes holding these fields as they are; the records follow, then
    /// [`seal_batch`] sets the length and the CRC-32C.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut h = [0u8; BATCH_HEADER_LEN];
        h[BASE_OFFSET..BATCH_LENGTH].copy_from_slice(&self.base_offset.to_be_bytes());
        h[BATCH_LENGTH..LEADER_EPOCH].copy_from_slice(&self.batch_length.to_be_bytes());
        h[LEADER_EPOCH..MAGIC].copy_from_slice(&self.partition_leader_epoch.to_be_bytes());
        h[MAGIC] = self.magic as u8;
        h[CRC..ATTRIBUTES].copy_from_slice(&self.crc.to_be_bytes());
        h[ATTRIBUTES..LAST_OFFSET_DELTA].copy_from_slice(&self.attributes.to_be_bytes());
        h[LAST_OFFSET_DELTA..BASE_TIMESTAMP].copy_from_slice(&self.last_offset_delta.to_be_bytes());
        h[BASE_TIMESTAMP..MAX_TIMESTAMP].copy_from_slice(&self.base_timestamp.to_be_bytes());
        h[MAX_TIMESTAMP..PRODUCER_ID].copy_from_slice(&self.max_timestamp.to_be_bytes());
        h[PRODUCER_ID..PRODUCER_EPOCH].copy_from_slice(&self.producer_id.to_be_bytes());
        h[PRODUCER_EPOCH..BASE_SEQUENCE].copy_from_slice(&self.producer_epoch.to_be_bytes());
        h[BASE_SEQUENCE..RECORDS_COUNT].copy_from_slice(&self.base_sequence.to_be_bytes());
        h[RECORDS_COUNT..].copy_from_slice(&self.records_count.to_be_bytes());
        out.extend_from_slice(&h);
    }
}

/// Sets the batch length field to what `batch` holds and recomputes the CRC-32C. Refuses a
/// slice shorter than a header, or longer than the length field can say.
pub fn seal_batch(batch: &mut [u8]) -> Result<()> {
    if batch.len() < BATCH_HEADER_LEN {
        return Err(RecordsError::ShortHeader {
            available: batch.len(),
        });
    }
    let length = i32::try_from(batch.len() - LOG_OVERHEAD).map_err(|_| RecordsError::TooLarge {
        size: batch.len(),
        max: i32::MAX as usize,
    })?;
    batch[BATCH_LENGTH..LEADER_EPOCH].copy_from_slice(&length.to_be_bytes());
    crate::recompute_crc(batch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build_batch, validate_batch};

    #[test]
    fn a_written_header_parses_back_and_a_sealed_batch_validates() {
        let original = build_batch(&[b"a", b"bc"], 5);
        let mut header = validate_batch(&original).unwrap();
        header.base_offset = 77;
        header.producer_id = 3;
        header.base_sequence = 9;
        let mut rebuilt = Vec::new();
        header.write_to(&mut rebuilt);
        rebuilt.extend_from_slice(&original[BATCH_HEADER_LEN..]);
        seal_batch(&mut rebuilt).unwrap();
        let read = validate_batch(&rebuilt).unwrap();
        assert_eq!(
            (read.base_offset, read.producer_id, read.base_sequence),
            (77, 3, 9)
        );
        assert_eq!(read.records_count, 2);
        assert_eq!(read.total_len(), rebuilt.len());
    }

    #[test]
    fn sealing_refuses_a_short_slice() {
        assert!(seal_batch(&mut [0u8; 10]).is_err());
    }
}
