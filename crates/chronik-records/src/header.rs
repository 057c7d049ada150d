//! The v2 batch header: its layout and a read-only view of its fields.

use chronik_types::{LeaderEpoch, Offset};

use crate::{RecordsError, Result};

/// Bytes of the v2 batch header, up to and including the record count.
pub const BATCH_HEADER_LEN: usize = 61;

pub(crate) const BASE_OFFSET: usize = 0;
pub(crate) const BATCH_LENGTH: usize = 8;
/// Bytes before the part of the batch its length field counts: base offset and the length.
pub(crate) const LOG_OVERHEAD: usize = BATCH_LENGTH + 4;
pub(crate) const LEADER_EPOCH: usize = 12;
pub(crate) const MAGIC: usize = 16;
pub(crate) const CRC: usize = 17;
/// The CRC-32C covers everything from here on.
pub(crate) const ATTRIBUTES: usize = 21;
pub(crate) const LAST_OFFSET_DELTA: usize = 23;
pub(crate) const BASE_TIMESTAMP: usize = 27;
pub(crate) const MAX_TIMESTAMP: usize = 35;
pub(crate) const PRODUCER_ID: usize = 43;
pub(crate) const PRODUCER_EPOCH: usize = 51;
pub(crate) const BASE_SEQUENCE: usize = 53;
pub(crate) const RECORDS_COUNT: usize = 57;

/// The attribute bit of a batch whose timestamps are the broker's append time.
pub(crate) const TIMESTAMP_TYPE_LOG_APPEND: i16 = 0x08;

/// The only record format accepted.
pub(crate) const CURRENT_MAGIC: i8 = 2;

/// The fields of a v2 record batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BatchHeader {
    pub base_offset: Offset,
    pub batch_length: i32,
    pub partition_leader_epoch: LeaderEpoch,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

/// Compression codec named by the low three attribute bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
    Unknown,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
            Self::Unknown => "unknown",
        }
    }

    /// The low three attribute bits naming this codec; `None` for [`Compression::Unknown`].
    pub fn attribute_bits(self) -> Option<i16> {
        match self {
            Self::None => Some(0),
            Self::Gzip => Some(1),
            Self::Snappy => Some(2),
            Self::Lz4 => Some(3),
            Self::Zstd => Some(4),
            Self::Unknown => None,
        }
    }
}

/// The idempotent-producer fields of a batch: who wrote it and its sequence range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerFields {
    pub producer_id: i64,
    pub epoch: i16,
    pub first_seq: i32,
    pub last_seq: i32,
}

pub(crate) fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(raw)
}

/// Sequence numbers wrap from i32::MAX to 0, as Kafka's do.
pub fn wrapping_seq(seq: i32, add: i32) -> i32 {
    let sum = i64::from(seq) + i64::from(add);
    i32::try_from(sum % (i64::from(i32::MAX) + 1)).unwrap_or(0)
}

impl BatchHeader {
    /// Reads the header of the batch at the start of `bytes`. Checks only that the header is
    /// present and the magic byte is 2; [`crate::validate_batch`] checks the whole batch.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < BATCH_HEADER_LEN {
            return Err(RecordsError::ShortHeader {
                available: bytes.len(),
            });
        }
        let magic = bytes[MAGIC] as i8;
        if magic != CURRENT_MAGIC {
            return Err(RecordsError::UnsupportedMagic { magic });
        }
        Ok(Self {
            base_offset: i64_at(bytes, BASE_OFFSET),
            batch_length: i32_at(bytes, BATCH_LENGTH),
            partition_leader_epoch: i32_at(bytes, LEADER_EPOCH),
            magic,
            crc: i32_at(bytes, CRC) as u32,
            attributes: i16_at(bytes, ATTRIBUTES),
            last_offset_delta: i32_at(bytes, LAST_OFFSET_DELTA),
            base_timestamp: i64_at(bytes, BASE_TIMESTAMP),
            max_timestamp: i64_at(bytes, MAX_TIMESTAMP),
            producer_id: i64_at(bytes, PRODUCER_ID),
            producer_epoch: i16_at(bytes, PRODUCER_EPOCH),
            base_sequence: i32_at(bytes, BASE_SEQUENCE),
            records_count: i32_at(bytes, RECORDS_COUNT),
        })
    }

    /// Total size of the batch on the wire: the length field counts from after itself.
    pub fn total_len(&self) -> usize {
        (self.batch_length.max(0) as usize).saturating_add(LOG_OVERHEAD)
    }

    /// Saturates instead of overflowing: a batch claiming offsets past the largest possible
    /// one is refused where it would be appended.
    pub fn last_offset(&self) -> Offset {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    pub fn compression(&self) -> Compression {
        match self.attributes & 0x7 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => Compression::Unknown,
        }
    }

    /// Whether the broker stamped the batch with its append time (LogAppendTime).
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_LOG_APPEND != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }

    /// The producer fields; `None` for a batch without a producer id (the producer is not
    /// idempotent).
    pub fn producer(&self) -> Option<ProducerFields> {
        (self.producer_id >= 0).then(|| ProducerFields {
            producer_id: self.producer_id,
            epoch: self.producer_epoch,
            first_seq: self.base_sequence,
            last_seq: wrapping_seq(self.base_sequence, self.last_offset_delta),
        })
    }
}

/// Walks whole batches laid end to end, as a log read returns them: each batch's bytes and
/// header. Only the headers are read (stored batches were validated when appended); the walk
/// stops at a header it cannot read or a batch running past the end.
pub struct StoredBatches<'a> {
    rest: &'a [u8],
}

impl<'a> StoredBatches<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }
}

impl<'a> Iterator for StoredBatches<'a> {
    type Item = (&'a [u8], BatchHeader);

    fn next(&mut self) -> Option<Self::Item> {
        let header = BatchHeader::parse(self.rest).ok()?;
        let len = header.total_len();
        if len < BATCH_HEADER_LEN || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let (batch, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some((batch, header))
    }
}
