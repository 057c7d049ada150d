//! The protocol edge of record-batch validation: splitting and checking a Produce partition's
//! `records` is `chronik_records`' job; here its refusals become Kafka error codes.

use chronik_records::{BatchError, RecordsError, ValidBatch, split_batches};
use kafka_protocol::error::ResponseError;

use crate::{ProtocolError, Result};

/// The Kafka code a partition is answered with when its records are refused: CORRUPT_MESSAGE
/// for damaged bytes (truncation, bad length, CRC mismatch, unknown codec), MESSAGE_TOO_LARGE,
/// UNSUPPORTED_FOR_MESSAGE_FORMAT (magic 0/1), and INVALID_RECORD for no batch or record
/// counts inconsistent with an intact header.
pub fn records_error_code(error: &RecordsError) -> ResponseError {
    match error {
        RecordsError::TooLarge { .. } => ResponseError::MessageTooLarge,
        RecordsError::UnsupportedMagic { .. } => ResponseError::UnsupportedForMessageFormat,
        RecordsError::Empty
        | RecordsError::NoRecords { .. }
        | RecordsError::CountExceedsRange { .. } => ResponseError::InvalidRecord,
        RecordsError::ShortHeader { .. }
        | RecordsError::LengthTooSmall { .. }
        | RecordsError::Truncated { .. }
        | RecordsError::LengthMismatch { .. }
        | RecordsError::CrcMismatch { .. }
        | RecordsError::UnknownCompression { .. } => ResponseError::CorruptMessage,
    }
}

/// What the producer can do about a refusal, appended to the logged message.
fn hint(code: ResponseError) -> &'static str {
    match code {
        ResponseError::MessageTooLarge => {
            " (lower the producer's batch.size/max.request.size or raise max.message.bytes)"
        }
        ResponseError::UnsupportedForMessageFormat => {
            " (upgrade the client: only RecordBatch v2, Kafka 0.11+, is accepted)"
        }
        _ => "",
    }
}

impl From<BatchError> for ProtocolError {
    fn from(e: BatchError) -> Self {
        let code = records_error_code(&e.error);
        ProtocolError::InvalidBatch {
            position: e.position,
            code,
            reason: e.error.to_string(),
            hint: hint(code),
        }
    }
}

/// Splits and validates one Produce partition's `records` (see
/// [`chronik_records::split_batches`]), refusals carrying the Kafka code to answer with.
pub fn validate_produce_records(
    records: &[u8],
    max_message_bytes: usize,
) -> Result<Vec<ValidBatch>> {
    Ok(split_batches(records, max_message_bytes)?)
}
