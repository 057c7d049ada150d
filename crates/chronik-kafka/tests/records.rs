//! Refused produce records answer with the Kafka code for their reason (the splitting and
//! validation themselves are tested in chronik-records).

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::{ProtocolError, records_error_code, validate_produce_records};
use chronik_records::{BatchHeader, RecordsError, build_batch};

const MAX: usize = 1024 * 1024;

fn batch(values: &[&[u8]]) -> Vec<u8> {
    build_batch(values, 1_700_000_000_000)
}

fn code_of(records: &[u8], max: usize) -> i16 {
    match validate_produce_records(records, max) {
        Err(e @ ProtocolError::InvalidBatch { .. }) => e.error_code().code(),
        other => panic!("expected a batch rejection, got {other:?}"),
    }
}

#[test]
fn every_reason_has_its_kafka_code() {
    use RecordsError::*;
    let cases = [
        (Empty, ResponseError::InvalidRecord),
        (ShortHeader { available: 3 }, ResponseError::CorruptMessage),
        (
            UnsupportedMagic { magic: 1 },
            ResponseError::UnsupportedForMessageFormat,
        ),
        (LengthTooSmall { length: -1 }, ResponseError::CorruptMessage),
        (
            Truncated {
                declared: 90,
                available: 70,
            },
            ResponseError::CorruptMessage,
        ),
        (
            LengthMismatch {
                declared: 90,
                supplied: 70,
            },
            ResponseError::CorruptMessage,
        ),
        (TooLarge { size: 2, max: 1 }, ResponseError::MessageTooLarge),
        (
            CrcMismatch {
                stored: 1,
                computed: 2,
            },
            ResponseError::CorruptMessage,
        ),
        (
            NoRecords {
                count: 0,
                last_offset_delta: 0,
            },
            ResponseError::InvalidRecord,
        ),
        (
            CountExceedsRange {
                count: 3,
                last_offset_delta: 0,
            },
            ResponseError::InvalidRecord,
        ),
        (
            UnknownCompression { attributes: 7 },
            ResponseError::CorruptMessage,
        ),
    ];
    for (error, code) in cases {
        assert_eq!(records_error_code(&error), code, "{error}");
    }
}

#[test]
fn well_formed_records_pass_through_with_their_headers() {
    let first = batch(&[b"a", b"bb", b"ccc"]);
    let mut records = first.clone();
    records.extend_from_slice(&batch(&[b"dddd"]));
    let batches = validate_produce_records(&records, MAX).unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].range, 0..first.len());
    assert_eq!(batches[0].header, BatchHeader::parse(&first).unwrap());
}

#[test]
fn refusals_carry_their_code_and_position() {
    let good = batch(&[b"payload"]);
    let mut corrupt = good.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xFF;
    assert_eq!(code_of(&corrupt, MAX), 2);
    assert_eq!(code_of(&good, good.len() - 1), 10);
    assert_eq!(code_of(&[], MAX), 87);
    assert_eq!(code_of(&good[..good.len() - 1], MAX), 2);

    let mut records = good.clone();
    records.extend_from_slice(&corrupt);
    match validate_produce_records(&records, MAX) {
        Err(ProtocolError::InvalidBatch { position, .. }) => assert_eq!(position, good.len()),
        other => panic!("expected a batch rejection, got {other:?}"),
    }
}

#[test]
fn a_too_large_batch_names_the_setting_to_change() {
    let good = batch(&[&[0u8; 500]]);
    let e = validate_produce_records(&good, 100).unwrap_err();
    assert!(e.to_string().contains("max.message.bytes"), "{e}");
}
