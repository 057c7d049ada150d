//! Building batches, for benchmarks and tests: brokers store what producers send.

use crate::header::{
    ATTRIBUTES, BASE_SEQUENCE, BASE_TIMESTAMP, BATCH_HEADER_LEN, BATCH_LENGTH, CRC, CURRENT_MAGIC,
    LAST_OFFSET_DELTA, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PRODUCER_EPOCH, PRODUCER_ID,
    RECORDS_COUNT,
};

/// The attribute bit of a batch written inside a transaction.
const TRANSACTIONAL: i16 = 0x10;

/// Builds a valid uncompressed v2 batch holding one record per value (null keys, no headers),
/// all stamped `timestamp`.
pub fn build_batch(values: &[&[u8]], timestamp: i64) -> Vec<u8> {
    build_batch_at(values, &vec![timestamp; values.len()])
}

/// Like [`build_batch`], written by producer `producer_id` at epoch 0 as part of its open
/// transaction (the transactional attribute set), sequence from 0.
pub fn build_transactional_batch(values: &[&[u8]], timestamp: i64, producer_id: i64) -> Vec<u8> {
    let mut b = build_batch(values, timestamp);
    crate::set_producer(&mut b, producer_id, 0, 0);
    b[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&TRANSACTIONAL.to_be_bytes());
    crate::recompute_crc(&mut b);
    b
}

/// Like [`build_batch`], record `i` stamped `timestamps[i]` (not before the first).
pub(crate) fn build_batch_at(values: &[&[u8]], timestamps: &[i64]) -> Vec<u8> {
    let timestamp = timestamps.first().copied().unwrap_or(0);
    let max_timestamp = timestamps.iter().copied().max().unwrap_or(timestamp);
    let mut body = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let mut rec = vec![0u8]; // attributes
        put_varint(&mut rec, timestamps[i] - timestamp);
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
    b[MAGIC] = CURRENT_MAGIC as u8;
    b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&(count - 1).max(0).to_be_bytes());
    b[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
    b[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&max_timestamp.to_be_bytes());
    b[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&(-1i64).to_be_bytes());
    b[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&(-1i16).to_be_bytes());
    b[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&(-1i32).to_be_bytes());
    b[RECORDS_COUNT..RECORDS_COUNT + 4].copy_from_slice(&count.to_be_bytes());
    b.extend(body);
    let len = (b.len() - LOG_OVERHEAD) as i32;
    b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
    b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Kafka's zigzag varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}
