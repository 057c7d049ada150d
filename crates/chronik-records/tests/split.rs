//! Splitting a produce partition's records: each batch is validated once, with a typed reason
//! for every refusal.

use chronik_records::{
    BatchError, Compression, RecordsError, ValidBatch, build_batch, split_batches,
};
use proptest::prelude::*;

const MAX: usize = 1024 * 1024;
/// Header offsets the damage below aims at.
const BATCH_LENGTH: usize = 8;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;

fn batch(values: &[&[u8]]) -> Vec<u8> {
    build_batch(values, 1_700_000_000_000)
}

fn refusal(bytes: &[u8], max: usize) -> BatchError {
    match split_batches(bytes, max) {
        Err(e) => e,
        Ok(b) => panic!("expected a refusal, got {b:?}"),
    }
}

fn reason(bytes: &[u8]) -> RecordsError {
    refusal(bytes, MAX).error
}

#[test]
fn two_batches_are_split_and_described() {
    let first = batch(&[b"a", b"bb", b"ccc"]);
    let second = batch(&[b"dddd"]);
    let mut records = first.clone();
    records.extend_from_slice(&second);
    let batches = split_batches(&records, MAX).unwrap();
    assert_eq!(batches.len(), 2);
    let ValidBatch { range, header } = &batches[0];
    assert_eq!(*range, 0..first.len());
    assert_eq!(batches[1].range, first.len()..records.len());
    assert_eq!(header.records_count, 3);
    assert_eq!(header.last_offset_delta, 2);
    assert_eq!(header.max_timestamp, 1_700_000_000_000);
    assert_eq!(header.compression(), Compression::None);
    assert_eq!(header.producer(), None);
    assert!(!header.is_transactional() && !header.is_control());
    assert_eq!(batches[1].header.records_count, 1);
}

#[test]
fn a_bad_crc_is_refused() {
    let mut b = batch(&[b"payload"]);
    let last = b.len() - 1;
    b[last] ^= 0xFF;
    assert!(matches!(reason(&b), RecordsError::CrcMismatch { .. }));
}

#[test]
fn the_second_batch_is_refused_at_its_position() {
    let first = batch(&[b"fine"]);
    let mut second = batch(&[b"broken"]);
    let last = second.len() - 1;
    second[last] ^= 1;
    let mut records = first.clone();
    records.extend_from_slice(&second);
    let e = refusal(&records, MAX);
    assert_eq!(e.position, first.len());
    assert!(matches!(e.error, RecordsError::CrcMismatch { .. }));
}

#[test]
fn old_message_formats_are_refused() {
    let mut b = batch(&[b"x"]);
    b[MAGIC] = 1;
    assert_eq!(reason(&b), RecordsError::UnsupportedMagic { magic: 1 });
}

#[test]
fn a_batch_above_max_message_bytes_is_too_large() {
    let b = batch(&[&[0u8; 500]]);
    let len = b.len();
    assert_eq!(
        refusal(&b, len - 1).error,
        RecordsError::TooLarge {
            size: len,
            max: len - 1
        }
    );
    assert!(split_batches(&b, len).is_ok());
}

#[test]
fn empty_records_and_bad_lengths_are_refused() {
    assert_eq!(reason(&[]), RecordsError::Empty);
    let mut negative = batch(&[b"x"]);
    negative[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&(-5i32).to_be_bytes());
    assert_eq!(
        reason(&negative),
        RecordsError::LengthTooSmall { length: -5 }
    );
    let mut huge = batch(&[b"x"]);
    huge[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        refusal(&huge, usize::MAX).error,
        RecordsError::Truncated { .. }
    ));
    let mut tiny = batch(&[b"x"]);
    tiny[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&10i32.to_be_bytes());
    assert_eq!(reason(&tiny), RecordsError::LengthTooSmall { length: 10 });
}

#[test]
fn truncation_at_every_length_is_refused() {
    let b = batch(&[b"one", b"two"]);
    for cut in 1..b.len() {
        let e = reason(&b[..cut]);
        assert!(
            matches!(
                e,
                RecordsError::ShortHeader { .. } | RecordsError::Truncated { .. }
            ),
            "cut at {cut}: {e}"
        );
    }
}

#[test]
fn record_counts_beyond_the_offset_range_are_refused() {
    let mut b = batch(&[b"x"]);
    // Header bytes 57..61 hold the record count; the CRC is recomputed so only the count is off.
    b[57..61].copy_from_slice(&5i32.to_be_bytes());
    let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
    b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        reason(&b),
        RecordsError::CountExceedsRange {
            count: 5,
            last_offset_delta: 0
        }
    );
}

#[test]
fn an_unknown_compression_codec_is_refused() {
    let mut b = batch(&[b"x"]);
    b[ATTRIBUTES + 1] |= 0x07;
    let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
    b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        reason(&b),
        RecordsError::UnknownCompression { attributes: 7 }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = split_batches(&bytes, MAX);
    }

    #[test]
    fn mutated_batches_never_panic(at in 0usize..80, value in any::<u8>()) {
        let mut b = batch(&[b"hello", b"world"]);
        let at = at % b.len();
        b[at] = value;
        if let Ok(batches) = split_batches(&b, MAX) {
            prop_assert_eq!(batches.len(), 1);
            prop_assert_eq!(batches[0].range.clone(), 0..b.len());
        }
    }
}
