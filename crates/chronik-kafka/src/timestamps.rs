//! Finding the first record of a stored batch at or after a timestamp (ListOffsets by time):
//! the storage engine's time index finds the batch, this finds the record inside it.

/// Base offset, base timestamp and where the records start in a v2 batch.
const BASE_OFFSET: usize = 0;
const ATTRIBUTES: usize = 21;
const BASE_TIMESTAMP: usize = 27;
const RECORDS_COUNT: usize = 57;
const RECORDS: usize = 61;

/// The (offset, timestamp) of the first record of the uncompressed v2 `batch` whose timestamp
/// is at least `timestamp`. `None` for a compressed batch (its records are not unpacked here:
/// the caller answers with the batch's base offset), a malformed one, or no such record.
pub fn first_record_at_or_after(batch: &[u8], timestamp: i64) -> Option<(i64, i64)> {
    let attributes = i16::from_be_bytes(batch.get(ATTRIBUTES..ATTRIBUTES + 2)?.try_into().ok()?);
    if attributes & 0x07 != 0 {
        return None;
    }
    let base_offset = i64::from_be_bytes(batch.get(BASE_OFFSET..8)?.try_into().ok()?);
    let base_ts = i64::from_be_bytes(batch.get(BASE_TIMESTAMP..35)?.try_into().ok()?);
    let count = i32::from_be_bytes(batch.get(RECORDS_COUNT..RECORDS)?.try_into().ok()?);
    let mut rest = batch.get(RECORDS..)?;
    for _ in 0..count.max(0) {
        let len = usize::try_from(varint(&mut rest)?).ok()?;
        let (mut record, after) = rest.split_at_checked(len)?;
        rest = after;
        record = record.get(1..)?; // attributes
        let ts = base_ts.checked_add(varint(&mut record)?)?;
        let offset = base_offset.checked_add(varint(&mut record)?)?;
        if ts >= timestamp {
            return Some((offset, ts));
        }
    }
    None
}

/// Reads a zig-zag varint (as Kafka records use), advancing `buf`.
fn varint(buf: &mut &[u8]) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch of records at base + 0, 10, 20 ms built the way producers build them.
    fn batch() -> Vec<u8> {
        use bytes::BytesMut;
        use kafka_protocol::records::{
            Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let records: Vec<Record> = (0..3i64)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: 40 + i,
                // Offsets and sequences must advance together for one batch.
                sequence: i as i32,
                timestamp: 1_000 + i * 10,
                key: None,
                value: Some(bytes::Bytes::from_static(b"v")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode");
        buf.to_vec()
    }

    #[test]
    fn the_first_record_at_or_after_the_time_is_found() {
        let b = batch();
        assert_eq!(first_record_at_or_after(&b, 0), Some((40, 1_000)));
        assert_eq!(first_record_at_or_after(&b, 1_005), Some((41, 1_010)));
        assert_eq!(first_record_at_or_after(&b, 1_020), Some((42, 1_020)));
        assert_eq!(first_record_at_or_after(&b, 1_021), None);
    }

    #[test]
    fn malformed_or_compressed_batches_give_none_without_panicking() {
        let b = batch();
        for cut in 0..b.len() {
            let _ = first_record_at_or_after(&b[..cut], 1_010);
        }
        let mut compressed = b.clone();
        compressed[ATTRIBUTES + 1] |= 0x01;
        assert_eq!(first_record_at_or_after(&compressed, 0), None);
        assert_eq!(first_record_at_or_after(&[0xff; 80], 0), None);
    }
}
