//! Record timestamps: finding the first record of a stored batch at or after a timestamp
//! (ListOffsets by time: the storage engine's time index finds the batch, this finds the record
//! inside it) and the broker stamping a batch with its append time
//! (`message.timestamp.type=LogAppendTime`).

use crate::Compression;
use crate::header::{
    ATTRIBUTES, BATCH_HEADER_LEN, BatchHeader, MAX_TIMESTAMP, TIMESTAMP_TYPE_LOG_APPEND,
};

/// The (offset, timestamp) of the first record of the uncompressed v2 `batch` whose timestamp
/// is at least `timestamp`. `None` for a compressed batch (its records are not unpacked here:
/// the caller answers with the batch's base offset), a malformed one, or no such record.
pub fn first_record_at_or_after(batch: &[u8], timestamp: i64) -> Option<(i64, i64)> {
    let header = BatchHeader::parse(batch).ok()?;
    if header.is_log_append_time() {
        // Every record of the batch has the broker's append time, its max timestamp.
        return (header.max_timestamp >= timestamp)
            .then_some((header.base_offset, header.max_timestamp));
    }
    if header.compression() != Compression::None {
        return None;
    }
    for record in record_times(header, batch) {
        let (offset, ts) = record?;
        if ts >= timestamp {
            return Some((offset, ts));
        }
    }
    None
}

/// The (offset, timestamp) of each record of the uncompressed batch `batch` with `header`, in
/// order; a malformed record yields `None` and ends the walk.
fn record_times(header: BatchHeader, batch: &[u8]) -> impl Iterator<Item = Option<(i64, i64)>> {
    let mut rest = batch.get(BATCH_HEADER_LEN..).unwrap_or_default();
    let mut broken = false;
    (0..header.records_count.max(0)).map_while(move |_| {
        if broken {
            return None;
        }
        let next = next_record_time(&header, &mut rest);
        broken = next.is_none();
        Some(next)
    })
}

fn next_record_time(header: &BatchHeader, rest: &mut &[u8]) -> Option<(i64, i64)> {
    let len = usize::try_from(varint(rest)?).ok()?;
    let (record, after) = rest.split_at_checked(len)?;
    *rest = after;
    let mut record = record.get(1..)?; // attributes
    let ts = header.base_timestamp.checked_add(varint(&mut record)?)?;
    let offset = header.base_offset.checked_add(varint(&mut record)?)?;
    Some((offset, ts))
}

/// Stamps a v2 batch with the broker's append time, as Kafka does under LogAppendTime: the
/// max timestamp becomes `now`, the timestamp-type attribute says so (readers then take it as
/// every record's time), and the CRC-32C is recomputed. Batches shorter than a header are
/// left alone.
pub fn set_log_append_time(batch: &mut [u8], now: i64) {
    if batch.len() < BATCH_HEADER_LEN {
        return;
    }
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now.to_be_bytes());
    let attributes = i16::from_be_bytes([batch[ATTRIBUTES], batch[ATTRIBUTES + 1]]);
    let stamped = attributes | TIMESTAMP_TYPE_LOG_APPEND;
    batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&stamped.to_be_bytes());
    crate::recompute_crc(batch);
}

/// Reads a zig-zag varint (as Kafka records use), advancing `buf`.
pub(crate) fn varint(buf: &mut &[u8]) -> Option<i64> {
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
    use crate::build::build_batch_at;
    use crate::header::ATTRIBUTES;
    use crate::{recompute_crc, set_base_offset};

    /// A batch of records at offsets 40..43 and times 1000, 1010, 1020.
    fn batch() -> Vec<u8> {
        let mut b = build_batch_at(&[b"v", b"v", b"v"], &[1_000, 1_010, 1_020]);
        set_base_offset(&mut b, 40);
        b
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
        recompute_crc(&mut compressed);
        assert_eq!(first_record_at_or_after(&compressed, 0), None);
        assert_eq!(first_record_at_or_after(&[0xff; 80], 0), None);
    }

    #[test]
    fn a_stamped_batch_carries_the_append_time_for_every_record() {
        let mut b = batch();
        set_log_append_time(&mut b, 5_000);
        let header = BatchHeader::parse(&b).expect("header");
        assert!(header.is_log_append_time());
        assert_eq!(header.max_timestamp, 5_000);
        assert!(crate::crc_matches(&b), "CRC recomputed");
        assert_eq!(first_record_at_or_after(&b, 4_000), Some((40, 5_000)));
        assert_eq!(first_record_at_or_after(&b, 5_001), None);
    }
}
