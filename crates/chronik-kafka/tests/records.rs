//! Produce record validation: well-formed batches, every rejection and its Kafka code.

use bytes::Bytes;
use chronik_kafka::{Compression, ProtocolError, validate_produce_records};
use chronik_wal::batch::build_batch;
use proptest::prelude::*;

const MAX: usize = 1024 * 1024;

fn batch(values: &[&[u8]]) -> Vec<u8> {
    build_batch(values, 1_700_000_000_000)
}

fn code_of(result: chronik_kafka::Result<Vec<chronik_kafka::BatchInfo>>) -> i16 {
    match result {
        Err(e @ ProtocolError::InvalidBatch { .. }) => e.error_code().code(),
        other => panic!("expected a batch rejection, got {other:?}"),
    }
}

#[test]
fn well_formed_batches_are_split_and_described() {
    let first = batch(&[b"a", b"bb", b"ccc"]);
    let second = batch(&[b"dddd"]);
    let mut records = first.clone();
    records.extend_from_slice(&second);
    let infos = validate_produce_records(&Bytes::from(records), MAX).unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[0].range, 0..first.len());
    assert_eq!(infos[1].range, first.len()..first.len() + second.len());
    assert_eq!(infos[0].record_count, 3);
    assert_eq!(infos[0].last_offset_delta, 2);
    assert_eq!(infos[0].max_timestamp, 1_700_000_000_000);
    assert_eq!(infos[0].compression, Compression::None);
    assert_eq!(
        (
            infos[0].producer_id,
            infos[0].producer_epoch,
            infos[0].base_sequence
        ),
        (-1, -1, -1)
    );
    assert!(!infos[0].is_idempotent() && !infos[0].is_transactional && !infos[0].is_control);
}

#[test]
fn a_bad_crc_is_a_corrupt_message() {
    let mut b = batch(&[b"payload"]);
    let last = b.len() - 1;
    b[last] ^= 0xFF;
    assert_eq!(code_of(validate_produce_records(&Bytes::from(b), MAX)), 2);
}

#[test]
fn old_message_formats_are_unsupported() {
    let mut b = batch(&[b"x"]);
    b[16] = 1;
    assert_eq!(code_of(validate_produce_records(&Bytes::from(b), MAX)), 43);
}

#[test]
fn a_batch_above_max_message_bytes_is_too_large() {
    let b = batch(&[&[0u8; 500]]);
    let len = b.len();
    assert_eq!(
        code_of(validate_produce_records(&Bytes::from(b.clone()), len - 1)),
        10
    );
    assert!(validate_produce_records(&Bytes::from(b), len).is_ok());
}

#[test]
fn empty_records_and_bad_lengths_are_rejected() {
    assert_eq!(code_of(validate_produce_records(&Bytes::new(), MAX)), 87);
    let mut negative = batch(&[b"x"]);
    negative[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    assert_eq!(
        code_of(validate_produce_records(&Bytes::from(negative), MAX)),
        2
    );
    let mut huge = batch(&[b"x"]);
    huge[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    assert_eq!(
        code_of(validate_produce_records(&Bytes::from(huge), usize::MAX)),
        2
    );
    let mut tiny = batch(&[b"x"]);
    tiny[8..12].copy_from_slice(&10i32.to_be_bytes());
    assert_eq!(
        code_of(validate_produce_records(&Bytes::from(tiny), MAX)),
        2
    );
}

#[test]
fn truncation_at_every_length_is_a_corrupt_message() {
    let b = batch(&[b"one", b"two"]);
    for cut in 1..b.len() {
        let code = code_of(validate_produce_records(
            &Bytes::copy_from_slice(&b[..cut]),
            MAX,
        ));
        assert_eq!(code, 2, "cut at {cut}");
    }
}

#[test]
fn an_unknown_compression_codec_is_rejected() {
    let mut b = batch(&[b"x"]);
    b[22] |= 0x07; // low byte of attributes: codec 7
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(code_of(validate_produce_records(&Bytes::from(b), MAX)), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = validate_produce_records(&Bytes::from(bytes), MAX);
    }

    #[test]
    fn mutated_batches_never_panic(at in 0usize..80, value in any::<u8>()) {
        let mut b = batch(&[b"hello", b"world"]);
        let at = at % b.len();
        b[at] = value;
        let _ = validate_produce_records(&Bytes::from(b), MAX);
    }
}
