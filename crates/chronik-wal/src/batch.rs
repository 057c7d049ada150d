//! A read-only view of the Kafka RecordBatch (magic v2) header, and the two in-place rewrites the
//! log makes. Kafka's CRC-32C covers everything from `attributes` on, so rewriting the base offset
//! and the partition leader epoch keeps the producer's CRC valid.

use chronik_types::{LeaderEpoch, Offset};

use crate::{Result, WalError};

/// Bytes of the v2 batch header, up to and including the record count.
pub const BATCH_HEADER_LEN: usize = 61;

const BASE_OFFSET: usize = 0;
const BATCH_LENGTH: usize = 8;
const LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORDS_COUNT: usize = 57;

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
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(raw)
}

impl BatchHeader {
    /// Reads the header of the batch at the start of `bytes`. Checks only that the header is
    /// present and the magic byte is 2.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < BATCH_HEADER_LEN {
            return Err(WalError::InvalidBatch(
                "shorter than a v2 batch header (61 bytes)",
            ));
        }
        let magic = bytes[MAGIC] as i8;
        if magic != 2 {
            return Err(WalError::InvalidBatch(
                "magic byte is not 2 (only RecordBatch v2 is supported)",
            ));
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
        self.batch_length.max(0) as usize + BATCH_LENGTH + 4
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

    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
}

/// Whether the batch's CRC-32C (over attributes to the end) matches its contents.
pub fn crc_matches(batch: &[u8]) -> bool {
    batch.len() >= BATCH_HEADER_LEN
        && crc32c::crc32c(&batch[ATTRIBUTES..]) == i32_at(batch, CRC) as u32
}

/// Validates one complete v2 batch: header, exact length, sane counts and the CRC-32C.
pub fn validate_batch(batch: &[u8]) -> Result<BatchHeader> {
    let header = BatchHeader::parse(batch)?;
    if header.batch_length < (BATCH_HEADER_LEN - BATCH_LENGTH - 4) as i32 {
        return Err(WalError::InvalidBatch(
            "batch length is smaller than its header",
        ));
    }
    if header.total_len() != batch.len() {
        return Err(WalError::InvalidBatch(
            "batch length field does not match the bytes supplied",
        ));
    }
    if header.last_offset_delta < 0 || header.records_count <= 0 {
        return Err(WalError::InvalidBatch("batch holds no records"));
    }
    if i64::from(header.records_count) > i64::from(header.last_offset_delta) + 1 {
        return Err(WalError::InvalidBatch(
            "record count exceeds the batch's offset range",
        ));
    }
    if !crc_matches(batch) {
        return Err(WalError::InvalidBatch(
            "CRC-32C does not match the batch contents",
        ));
    }
    Ok(header)
}

/// Rewrites the base offset (not covered by the CRC-32C).
pub fn set_base_offset(batch: &mut [u8], offset: Offset) {
    batch[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&offset.to_be_bytes());
}

/// Rewrites the partition leader epoch (not covered by the CRC-32C).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: LeaderEpoch) {
    batch[LEADER_EPOCH..LEADER_EPOCH + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Marks a batch as written by idempotent producer `producer_id` at `epoch`, starting at
/// `base_sequence`, and recomputes its CRC-32C. Batches shorter than a header are left alone.
pub fn set_producer(batch: &mut [u8], producer_id: i64, epoch: i16, base_sequence: i32) {
    if batch.len() < BATCH_HEADER_LEN {
        return;
    }
    batch[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
    batch[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&epoch.to_be_bytes());
    batch[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Builds a valid uncompressed v2 batch holding one record per value (null keys, no headers),
/// all stamped `timestamp`. Benchmarks and tests use it; brokers store what producers send.
pub fn build_batch(values: &[&[u8]], timestamp: i64) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let mut rec = vec![0u8]; // attributes
        put_varint(&mut rec, 0); // timestamp delta
        put_varint(&mut rec, i as i64); // offset delta
        put_varint(&mut rec, -1); // null key
        put_varint(&mut rec, value.len() as i64);
        rec.extend_from_slice(value);
        put_varint(&mut rec, 0); // no headers
        put_varint(&mut body, rec.len() as i64);
        body.extend(rec);
    }
    let count = values.len() as i32;
    let mut b = vec![0u8; BATCH_HEADER_LEN];
    b[MAGIC] = 2;
    b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&(count - 1).max(0).to_be_bytes());
    b[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
    b[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
    b[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&(-1i64).to_be_bytes());
    b[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&(-1i16).to_be_bytes());
    b[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&(-1i32).to_be_bytes());
    b[RECORDS_COUNT..RECORDS_COUNT + 4].copy_from_slice(&count.to_be_bytes());
    b.extend(body);
    let len = (b.len() - 12) as i32;
    b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
    b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn rewriting_offset_and_epoch_keeps_the_crc_valid() {
        let mut batch = make_batch(2, 5, 7);
        set_base_offset(&mut batch, 1234);
        set_partition_leader_epoch(&mut batch, 9);
        let header = validate_batch(&batch).unwrap();
        assert_eq!(header.base_offset, 1234);
        assert_eq!(header.partition_leader_epoch, 9);
    }

    #[test]
    fn damage_is_rejected() {
        let good = make_batch(2, 5, 7);
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(validate_batch(&flipped).is_err());
        assert!(validate_batch(&good[..good.len() - 1]).is_err());
        assert!(validate_batch(&good[..30]).is_err());
        let mut magic = good.clone();
        magic[MAGIC] = 1;
        assert!(validate_batch(&magic).is_err());
    }
}
