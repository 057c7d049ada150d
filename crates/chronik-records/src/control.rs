//! Transaction markers: the control batch that ends a producer's transaction in a partition
//! (Kafka's `EndTransactionMarker`). Its one record has the key version (i16, 0) and type (i16:
//! 0 abort, 1 commit), and the value version (i16, 0) and the coordinator epoch (i32).

use crate::Compression;
use crate::build::put_varint;
use crate::header::{
    ATTRIBUTES, BASE_SEQUENCE, BASE_TIMESTAMP, BATCH_HEADER_LEN, BATCH_LENGTH, BatchHeader, CRC,
    CURRENT_MAGIC, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PRODUCER_EPOCH, PRODUCER_ID, RECORDS_COUNT,
};
use crate::timestamps::varint;

/// Attribute bits of a marker batch: transactional and control.
const MARKER_ATTRIBUTES: i16 = 0x10 | 0x20;

/// How a transaction ended in a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnMarker {
    pub commit: bool,
    /// The leader epoch of the coordinator's transaction-log partition that wrote it.
    pub coordinator_epoch: i32,
}

/// A marker batch for `producer_id` at `producer_epoch` (base offset 0: the log sets it).
pub fn build_marker_batch(
    producer_id: i64,
    producer_epoch: i16,
    marker: TxnMarker,
    timestamp: i64,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&i16::from(marker.commit).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    let mut rec = vec![0u8]; // record attributes
    put_varint(&mut rec, 0); // timestamp delta
    put_varint(&mut rec, 0); // offset delta
    put_varint(&mut rec, key.len() as i64);
    rec.extend_from_slice(&key);
    put_varint(&mut rec, value.len() as i64);
    rec.extend_from_slice(&value);
    put_varint(&mut rec, 0); // headers
    let mut b = vec![0u8; BATCH_HEADER_LEN];
    b[MAGIC] = CURRENT_MAGIC as u8;
    b[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&MARKER_ATTRIBUTES.to_be_bytes());
    b[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
    b[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
    b[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
    b[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&producer_epoch.to_be_bytes());
    b[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&(-1i32).to_be_bytes());
    b[RECORDS_COUNT..RECORDS_COUNT + 4].copy_from_slice(&1i32.to_be_bytes());
    put_varint(&mut b, rec.len() as i64);
    b.extend(rec);
    let len = (b.len() - LOG_OVERHEAD) as i32;
    b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
    b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

/// The transaction marker `batch` holds; `None` when it is not a control batch, or its first
/// record is not a readable marker (Kafka's other control types are not transaction ends).
pub fn read_marker(batch: &[u8]) -> Option<TxnMarker> {
    let header = BatchHeader::parse(batch).ok()?;
    if !header.is_control() || header.compression() != Compression::None {
        return None;
    }
    let mut rest = batch.get(BATCH_HEADER_LEN..)?;
    let len = usize::try_from(varint(&mut rest)?).ok()?;
    let mut record = rest.get(..len)?.get(1..)?; // attributes
    varint(&mut record)?; // timestamp delta
    varint(&mut record)?; // offset delta
    let key = take(&mut record)?;
    let value = take(&mut record)?;
    let kind = i16::from_be_bytes(key.get(2..4)?.try_into().ok()?);
    let coordinator_epoch = i32::from_be_bytes(value.get(2..6)?.try_into().ok()?);
    let commit = match kind {
        0 => false,
        1 => true,
        _ => return None,
    };
    Some(TxnMarker {
        commit,
        coordinator_epoch,
    })
}

/// A varint-length-prefixed field of a record (a null one is no field here).
fn take<'a>(record: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(varint(record)?).ok()?;
    let (field, rest) = record.split_at_checked(len)?;
    *record = rest;
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate_batch;

    #[test]
    fn a_marker_round_trips_and_is_a_valid_control_batch() {
        for commit in [true, false] {
            let marker = TxnMarker {
                commit,
                coordinator_epoch: 7,
            };
            let batch = build_marker_batch(42, 3, marker, 1_700_000_000_000);
            let header = validate_batch(&batch).expect("valid");
            assert!(header.is_control() && header.is_transactional());
            assert_eq!((header.producer_id, header.producer_epoch), (42, 3));
            assert_eq!(read_marker(&batch), Some(marker));
        }
    }

    #[test]
    fn data_batches_and_damaged_markers_are_no_markers() {
        assert_eq!(read_marker(&crate::build_batch(&[b"x"], 1)), None);
        let marker = TxnMarker {
            commit: true,
            coordinator_epoch: 1,
        };
        let batch = build_marker_batch(1, 0, marker, 1);
        for cut in 0..batch.len() {
            assert_eq!(read_marker(&batch[..cut]), None, "cut at {cut}");
        }
    }
}
