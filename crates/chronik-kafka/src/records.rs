//! Validating the `records` field of one Produce partition before anything is appended.
//!
//! The field is a run of RecordBatch v2 byte blobs. Each is bounds-checked from its own length
//! field (never trusting it beyond the bytes present), held to `max.message.bytes`, and checked by
//! the storage engine's validator (`chronik_wal::batch::validate_batch`: header, exact length,
//! record count, CRC-32C). Records inside are not decoded: the broker stores batches verbatim.

use std::ops::Range;

use bytes::Bytes;
pub use chronik_wal::batch::Compression;
use chronik_wal::batch::{BATCH_HEADER_LEN, BatchHeader, crc_matches, validate_batch};
use kafka_protocol::error::ResponseError;

use crate::{ProtocolError, Result};

/// Bytes before the part of the batch its length field counts: base offset and the length.
const LOG_OVERHEAD: usize = 12;
/// Offset of the magic byte within a batch.
const MAGIC_OFFSET: usize = 16;
/// The only record format Chronik accepts.
const CURRENT_MAGIC: u8 = 2;

/// What the broker needs to know about one validated batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// Where the batch lies in the partition's `records` bytes.
    pub range: Range<usize>,
    pub record_count: i32,
    pub last_offset_delta: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub compression: Compression,
    pub is_transactional: bool,
    pub is_control: bool,
}

impl BatchInfo {
    fn new(range: Range<usize>, h: &BatchHeader) -> Self {
        Self {
            range,
            record_count: h.records_count,
            last_offset_delta: h.last_offset_delta,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            base_timestamp: h.base_timestamp,
            max_timestamp: h.max_timestamp,
            compression: h.compression(),
            is_transactional: h.is_transactional(),
            is_control: h.is_control(),
        }
    }

    /// Whether the producer asked for idempotence (a real producer id).
    pub fn is_idempotent(&self) -> bool {
        self.producer_id >= 0
    }
}

fn reject(position: usize, code: ResponseError, reason: impl Into<String>) -> ProtocolError {
    let hint = match code {
        ResponseError::MessageTooLarge => {
            " (lower the producer's batch.size/max.request.size or raise max.message.bytes)"
        }
        ResponseError::UnsupportedForMessageFormat => {
            " (upgrade the client: only RecordBatch v2, Kafka 0.11+, is accepted)"
        }
        _ => "",
    };
    ProtocolError::InvalidBatch {
        position,
        code,
        reason: reason.into(),
        hint,
    }
}

/// Splits and validates one partition's `records` bytes into RecordBatch v2 batches.
///
/// Errors carry the Kafka code to answer the partition with: CORRUPT_MESSAGE (truncated batch,
/// bad length, CRC mismatch, unknown codec), MESSAGE_TOO_LARGE (batch above
/// `max_message_bytes`), UNSUPPORTED_FOR_MESSAGE_FORMAT (magic 0/1), INVALID_RECORD (no batch, or
/// record counts inconsistent with the header).
pub fn validate_produce_records(bytes: &Bytes, max_message_bytes: usize) -> Result<Vec<BatchInfo>> {
    if bytes.is_empty() {
        return Err(reject(
            0,
            ResponseError::InvalidRecord,
            "no record batch in the partition",
        ));
    }
    let mut batches = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len = batch_len_at(&bytes[pos..], pos, max_message_bytes)?;
        let batch = &bytes[pos..pos + len];
        batches.push(BatchInfo::new(pos..pos + len, &check_batch(batch, pos)?));
        pos += len;
    }
    Ok(batches)
}

/// Reads and bounds the total length of the batch starting at `rest`.
fn batch_len_at(rest: &[u8], pos: usize, max_message_bytes: usize) -> Result<usize> {
    let corrupt = |reason: &str| reject(pos, ResponseError::CorruptMessage, reason);
    let Some(&magic) = rest.get(MAGIC_OFFSET) else {
        return Err(corrupt(
            "truncated: fewer bytes than a batch header's start",
        ));
    };
    if magic != CURRENT_MAGIC {
        return Err(reject(
            pos,
            ResponseError::UnsupportedForMessageFormat,
            format!("message format (magic) {magic} is not RecordBatch v2"),
        ));
    }
    let length_field = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
    let Ok(counted) = usize::try_from(length_field) else {
        return Err(corrupt("negative batch length"));
    };
    let total = counted.saturating_add(LOG_OVERHEAD);
    if total < BATCH_HEADER_LEN {
        return Err(corrupt("batch length is smaller than a v2 batch header"));
    }
    if total > max_message_bytes {
        return Err(reject(
            pos,
            ResponseError::MessageTooLarge,
            format!("batch of {total} bytes exceeds max.message.bytes ({max_message_bytes})"),
        ));
    }
    if total > rest.len() {
        return Err(corrupt(
            "truncated: batch length runs past the end of the records",
        ));
    }
    Ok(total)
}

/// Validates one exactly-delimited batch and maps failures to Kafka codes.
fn check_batch(batch: &[u8], pos: usize) -> Result<BatchHeader> {
    let header = validate_batch(batch).map_err(|e| {
        let code = if crc_matches(batch) {
            ResponseError::InvalidRecord
        } else {
            ResponseError::CorruptMessage
        };
        reject(pos, code, e.to_string())
    })?;
    if header.compression() == Compression::Unknown {
        return Err(reject(
            pos,
            ResponseError::CorruptMessage,
            format!(
                "unknown compression codec in attributes {:#x}",
                header.attributes
            ),
        ));
    }
    Ok(header)
}
