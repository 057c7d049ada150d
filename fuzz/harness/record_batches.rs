//! Body of the `record_batches` fuzz target, shared with the stable replay test
//! `crates/chronik-kafka/tests/fuzz_inputs.rs` (both include this file with `#[path]`).
//!
//! The input is the `records` field of one Produce partition: the broker splits and validates
//! it once with `validate_produce_records` (chronik-records' `split_batches` with Kafka codes),
//! the storage engine checks single stored batches with `validate_batch` and reads their
//! headers with `BatchHeader::parse`, and ListOffsets by time walks the records of a stored
//! batch (which no earlier check decoded) with `first_record_at_or_after`.

use chronik_kafka::{ProtocolError, validate_produce_records};
use chronik_records::{BatchHeader, crc_matches, first_record_at_or_after, validate_batch};

/// The broker's default `max.message.bytes` for a topic.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Kafka error codes a batch may be rejected with: CORRUPT_MESSAGE, MESSAGE_TOO_LARGE,
/// UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_RECORD.
const BATCH_ERROR_CODES: [i16; 4] = [2, 10, 43, 87];

/// What one input did, so the replay test can tell that both outcomes were reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub accepted: bool,
    pub batch_valid: bool,
}

pub fn run(data: &[u8]) -> Outcome {
    let accepted = produce_records(data);
    let batch_valid = single_batch(data);
    for timestamp in [i64::MIN, 0, i64::MAX] {
        if let Some((_, ts)) = first_record_at_or_after(data, timestamp) {
            assert!(ts >= timestamp);
        }
    }
    Outcome {
        accepted,
        batch_valid,
    }
}

/// The Produce path: accepted batches tile the input exactly, each valid on its own with the
/// header the split handed on.
fn produce_records(data: &[u8]) -> bool {
    match validate_produce_records(data, MAX_MESSAGE_BYTES) {
        Ok(batches) => {
            let mut end = 0;
            for batch in &batches {
                assert_eq!(batch.range.start, end, "batches leave no gap");
                let header = validate_batch(&data[batch.range.clone()])
                    .expect("an accepted batch is valid on its own");
                assert_eq!(header, batch.header);
                assert!(batch.range.len() <= MAX_MESSAGE_BYTES);
                end = batch.range.end;
            }
            assert_eq!(end, data.len(), "batches cover every byte");
            true
        }
        Err(e) => {
            assert!(matches!(e, ProtocolError::InvalidBatch { .. }), "{e}");
            assert!(BATCH_ERROR_CODES.contains(&e.error_code().code()), "{e}");
            false
        }
    }
}

/// The storage engine's checks of one batch: a valid batch parses to the same header, is
/// exactly as long as it says and carries a matching CRC.
fn single_batch(data: &[u8]) -> bool {
    let parsed = BatchHeader::parse(data);
    match validate_batch(data) {
        Ok(header) => {
            assert_eq!(parsed.ok(), Some(header));
            assert_eq!(header.total_len(), data.len());
            assert!(crc_matches(data));
            assert!(header.records_count > 0 && header.last_offset_delta >= 0);
            true
        }
        Err(_) => {
            if let Ok(header) = parsed {
                // Reading the derived fields of any parsed header is safe.
                let _ = (header.total_len(), header.compression().name());
                let _ = (header.is_transactional(), header.is_control());
                let _ = header.producer();
            }
            false
        }
    }
}
