//! Single batches: parsing, validation, rewrites and the producer fields.

use chronik_records::{
    BatchHeader, Compression, ProducerFields, RecordsError, StoredBatches, build_batch,
    crc_matches, set_base_offset, set_partition_leader_epoch, set_producer, validate_batch,
    wrapping_seq,
};

/// Where the v2 header keeps its magic byte.
const MAGIC: usize = 16;

fn make_batch(records: usize, value_len: usize, timestamp: i64) -> Vec<u8> {
    let value = vec![b'v'; value_len];
    let values: Vec<&[u8]> = (0..records).map(|_| value.as_slice()).collect();
    build_batch(&values, timestamp)
}

#[test]
fn a_well_formed_batch_validates() {
    let batch = make_batch(3, 10, 1_000);
    let header = validate_batch(&batch).unwrap();
    assert_eq!(header.records_count, 3);
    assert_eq!(header.last_offset_delta, 2);
    assert_eq!(header.max_timestamp, 1_000);
    assert_eq!(header.compression(), Compression::None);
    assert_eq!(header.total_len(), batch.len());
    assert_eq!(BatchHeader::parse(&batch), Ok(header));
    assert!(crc_matches(&batch));
}

#[test]
fn rewriting_offset_and_epoch_keeps_the_crc_valid() {
    let mut batch = make_batch(2, 5, 7);
    set_base_offset(&mut batch, 1234);
    set_partition_leader_epoch(&mut batch, 9);
    let header = validate_batch(&batch).unwrap();
    assert_eq!(header.base_offset, 1234);
    assert_eq!(header.partition_leader_epoch, 9);
    assert_eq!(header.last_offset(), 1235);
}

#[test]
fn damage_is_rejected_with_its_reason() {
    let good = make_batch(2, 5, 7);
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(matches!(
        validate_batch(&flipped),
        Err(RecordsError::CrcMismatch { .. })
    ));
    assert!(!crc_matches(&flipped));
    assert_eq!(
        validate_batch(&good[..good.len() - 1]),
        Err(RecordsError::LengthMismatch {
            declared: good.len(),
            supplied: good.len() - 1
        })
    );
    assert_eq!(
        validate_batch(&good[..30]),
        Err(RecordsError::ShortHeader { available: 30 })
    );
    let mut magic = good.clone();
    magic[MAGIC] = 1;
    assert_eq!(
        validate_batch(&magic),
        Err(RecordsError::UnsupportedMagic { magic: 1 })
    );
}

#[test]
fn producer_fields_come_from_the_header() {
    let mut batch = make_batch(4, 1, 0);
    assert_eq!(validate_batch(&batch).unwrap().producer(), None);
    set_producer(&mut batch, 42, 1, 10);
    let header = validate_batch(&batch).expect("set_producer keeps the CRC valid");
    assert_eq!(
        header.producer(),
        Some(ProducerFields {
            producer_id: 42,
            epoch: 1,
            first_seq: 10,
            last_seq: 13,
        })
    );
    set_producer(&mut batch, 42, 1, i32::MAX - 1);
    let header = validate_batch(&batch).unwrap();
    assert_eq!(header.producer().map(|p| p.last_seq), Some(1));
}

#[test]
fn sequences_wrap_at_i32_max() {
    assert_eq!(wrapping_seq(i32::MAX, 1), 0);
    assert_eq!(wrapping_seq(5, 3), 8);
    assert_eq!(wrapping_seq(i32::MAX - 1, 3), 1);
}

#[test]
fn stored_batches_are_walked_until_the_bytes_run_out() {
    let first = make_batch(2, 3, 1);
    let second = make_batch(1, 3, 2);
    let mut stored = first.clone();
    stored.extend_from_slice(&second);
    let walked: Vec<_> = StoredBatches::new(&stored).collect();
    assert_eq!(walked.len(), 2);
    assert_eq!(walked[0].0, first.as_slice());
    assert_eq!(walked[1].1.max_timestamp, 2);
    assert_eq!(StoredBatches::new(&stored[..first.len() + 10]).count(), 1);
    assert_eq!(StoredBatches::new(&[0xff; 20]).count(), 0);
}

#[test]
fn an_emptied_batch_is_valid_in_a_log_but_not_from_a_producer() {
    let mut batch = make_batch(1, 8, 5);
    batch.truncate(61);
    let length = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&length.to_be_bytes());
    batch[57..61].copy_from_slice(&0i32.to_be_bytes());
    chronik_records::recompute_crc(&mut batch);
    let header = chronik_records::validate_stored_batch(&batch).expect("a stored empty batch");
    assert_eq!((header.records_count, header.last_offset_delta), (0, 0));
    assert!(matches!(
        validate_batch(&batch),
        Err(RecordsError::NoRecords { count: 0, .. })
    ));
    assert!(chronik_records::split_stored_batches(&batch, 1 << 20).is_ok());
    assert!(chronik_records::split_batches(&batch, 1 << 20).is_err());
}
