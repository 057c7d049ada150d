//! Writing the log to clean: batches of keyed records over a fixed key space, some of them
//! tombstones, encoded by kafka-protocol (so every codec is a producer's codec), appended
//! until the log holds the bytes asked for. What each key's latest record is gets remembered,
//! so that the cleaned log can be checked against it.

use bytes::{Bytes, BytesMut};
use chronik_wal::PartitionLog;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use anyhow::{Context, Result, bail};

/// Random filler the values are cut from. Hex digits (4 bits of entropy per byte), so that a
/// codec has something to do but cannot shrink the values to nothing.
const POOL_BYTES: usize = 64 * 1024;

/// What to write.
pub struct Spec {
    pub bytes: u64,
    pub keys: u64,
    pub value_size: usize,
    pub tombstone_percent: u32,
    pub batch_records: usize,
    pub compression: Compression,
    pub seed: u64,
}

/// Each key's latest record as written: its offset (-1: never written) and whether it is a
/// tombstone.
pub struct Latest {
    pub offsets: Vec<i64>,
    pub deleted: Vec<bool>,
}

/// What was written.
pub struct Built {
    pub records: u64,
    pub batches: u64,
    pub latest: Latest,
}

/// The key of index `i`: fixed width, so every key costs the key map the same.
pub fn key_of(i: u64) -> Vec<u8> {
    format!("key-{i:010}").into_bytes()
}

/// The index a key was made from by [`key_of`], if it is one.
pub fn index_of(key: &[u8]) -> Option<u64> {
    let digits = key.strip_prefix(b"key-")?;
    if digits.len() != 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The value of the record at `offset`: the offset (big-endian) then filler, so a check can
/// tell which record of a key it holds.
fn value_at(offset: i64, size: usize, pool: &[u8]) -> Bytes {
    let mut v = Vec::with_capacity(size);
    v.extend_from_slice(&offset.to_be_bytes());
    let start = (offset.unsigned_abs() as usize).wrapping_mul(7919) % (pool.len() - size);
    v.extend_from_slice(&pool[start..start + (size - 8)]);
    Bytes::from(v)
}

/// Whether `value` is what [`value_at`] wrote at `offset` (its offset and length).
pub fn value_matches(value: &[u8], offset: i64, size: usize) -> bool {
    value.len() == size && value[..8] == offset.to_be_bytes()
}

fn filler_pool(rng: &mut StdRng, value_size: usize) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut raw = vec![0u8; POOL_BYTES.max(value_size * 2)];
    rng.fill_bytes(&mut raw);
    raw.iter().map(|b| HEX[usize::from(b & 15)]).collect()
}

/// Appends batches to `log` (empty) until it holds `spec.bytes`, then rolls the segment so
/// that every record is in a sealed segment and so cleanable.
pub fn write(log: &PartitionLog, spec: &Spec, bar: &indicatif::ProgressBar) -> Result<Built> {
    if log.end_offset() != 0 {
        bail!("{} already holds records: give a fresh --dir", log.name());
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let pool = filler_pool(&mut rng, spec.value_size);
    let keys = usize::try_from(spec.keys).context("--keys does not fit in memory")?;
    let mut latest = Latest {
        offsets: vec![-1; keys],
        deleted: vec![false; keys],
    };
    let (mut records_written, mut batches) = (0u64, 0u64);
    let mut buf = BytesMut::new();
    while log.size_bytes() < spec.bytes {
        let next = log.end_offset();
        let records = batch_records(&mut rng, spec, next, &pool, &mut latest);
        buf.clear();
        let options = RecordEncodeOptions {
            version: 2,
            compression: spec.compression,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options)
            .map_err(|e| anyhow::anyhow!("encoding a batch: {e}"))?;
        let info =
            (log.append(&mut buf, 0)).with_context(|| format!("appending to {}", log.name()))?;
        if info.base_offset != next {
            bail!(
                "the log put a batch at {} instead of {next}",
                info.base_offset
            );
        }
        records_written += records.len() as u64;
        batches += 1;
        bar.set_position(log.size_bytes().min(spec.bytes));
    }
    log.roll_segment().context("rolling the last segment")?;
    bar.finish_and_clear();
    Ok(Built {
        records: records_written,
        batches,
        latest,
    })
}

/// One batch's records at offsets from `next`, noting each key's latest record.
fn batch_records(
    rng: &mut StdRng,
    spec: &Spec,
    next: i64,
    pool: &[u8],
    latest: &mut Latest,
) -> Vec<Record> {
    let now = now_ms();
    (0..spec.batch_records)
        .map(|i| {
            let offset = next + i as i64;
            let key = rng.random_range(0..spec.keys);
            let tombstone = rng.random_range(0..100) < spec.tombstone_percent;
            let slot = key as usize;
            latest.offsets[slot] = offset;
            latest.deleted[slot] = tombstone;
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset,
                // The encoder starts a new batch where offset - sequence changes; the base
                // sequence comes out as -1 (no producer).
                sequence: i as i32 - 1,
                timestamp: now,
                key: Some(Bytes::from(key_of(key))),
                value: (!tombstone).then(|| value_at(offset, spec.value_size, pool)),
                headers: IndexMap::new(),
            }
        })
        .collect()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_read_back() {
        assert_eq!(index_of(&key_of(42)), Some(42));
        assert_eq!(index_of(b"key-12"), None);
        assert_eq!(index_of(b"nope-0000000001"), None);
        let mut rng = StdRng::seed_from_u64(1);
        let pool = filler_pool(&mut rng, 100);
        let v = value_at(1234, 100, &pool);
        assert!(value_matches(&v, 1234, 100));
        assert!(!value_matches(&v, 1235, 100));
        assert!(!value_matches(&v[..99], 1234, 100));
    }
}
