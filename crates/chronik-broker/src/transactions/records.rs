//! `__transaction_state` records in Kafka's format (`TransactionLogKey` and
//! `TransactionLogValue` version 0): the key is the transactional id, the value its
//! [`TxnMetadata`]; a tombstone removes the id. Decoding never allocates by a count the bytes
//! cannot hold.

use std::collections::BTreeSet;

use bytes::{Buf, BufMut, Bytes};
use chronik_types::TopicPartition;

use super::state::{TxnMetadata, TxnState};

/// Why a stored record cannot be read (it is skipped when loading).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("record is truncated")]
    Truncated,
    #[error("unknown record version {0}")]
    Version(i16),
    #[error("unknown transaction status {0}")]
    Status(i8),
    #[error("string is not UTF-8")]
    Utf8,
}

pub(crate) fn encode_key(transactional_id: &str) -> Bytes {
    let mut out = Vec::with_capacity(4 + transactional_id.len());
    out.put_i16(0);
    put_str(&mut out, transactional_id);
    out.into()
}

pub(crate) fn decode_key(mut buf: &[u8]) -> Result<String, RecordError> {
    match get_i16(&mut buf)? {
        0 => get_str(&mut buf),
        v => Err(RecordError::Version(v)),
    }
}

pub(crate) fn encode_value(m: &TxnMetadata) -> Bytes {
    let mut out = Vec::with_capacity(64);
    out.put_i16(0);
    out.put_i64(m.producer_id);
    out.put_i16(m.producer_epoch);
    out.put_i32(m.timeout_ms);
    out.put_i8(m.state.code());
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for tp in &m.partitions {
        match topics.last_mut() {
            Some((topic, parts)) if *topic == tp.topic => parts.push(tp.partition),
            _ => topics.push((&tp.topic, vec![tp.partition])),
        }
    }
    out.put_i32(i32::try_from(topics.len()).unwrap_or(i32::MAX));
    for (topic, parts) in topics {
        put_str(&mut out, topic);
        out.put_i32(i32::try_from(parts.len()).unwrap_or(i32::MAX));
        for p in parts {
            out.put_i32(p);
        }
    }
    out.put_i64(m.last_update_ms);
    out.put_i64(m.start_ms);
    out.into()
}

pub(crate) fn decode_value(mut buf: &[u8]) -> Result<TxnMetadata, RecordError> {
    let version = get_i16(&mut buf)?;
    if version != 0 {
        return Err(RecordError::Version(version));
    }
    let producer_id = get_i64(&mut buf)?;
    let producer_epoch = get_i16(&mut buf)?;
    let timeout_ms = get_i32(&mut buf)?;
    let code = i8::from_be_bytes([get_u8(&mut buf)?]);
    let state = TxnState::from_code(code).ok_or(RecordError::Status(code))?;
    let mut partitions = BTreeSet::new();
    let topics = get_i32(&mut buf)?;
    for _ in 0..topics.max(0) {
        let topic = get_str(&mut buf)?;
        let count = get_i32(&mut buf)?;
        for _ in 0..count.max(0) {
            partitions.insert(TopicPartition::new(topic.clone(), get_i32(&mut buf)?));
        }
    }
    let last_update_ms = get_i64(&mut buf)?;
    let start_ms = get_i64(&mut buf)?;
    Ok(TxnMetadata {
        producer_id,
        producer_epoch,
        timeout_ms,
        state,
        partitions,
        start_ms,
        last_update_ms,
        bumped_by_end: false,
    })
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.put_i16(i16::try_from(s.len()).unwrap_or(i16::MAX));
    out.put_slice(&s.as_bytes()[..s.len().min(i16::MAX as usize)]);
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], RecordError> {
    let (head, rest) = buf.split_at_checked(n).ok_or(RecordError::Truncated)?;
    *buf = rest;
    Ok(head)
}

fn get_u8(buf: &mut &[u8]) -> Result<u8, RecordError> {
    Ok(take(buf, 1)?[0])
}

fn get_i16(buf: &mut &[u8]) -> Result<i16, RecordError> {
    Ok(take(buf, 2)?.get_i16())
}

fn get_i32(buf: &mut &[u8]) -> Result<i32, RecordError> {
    Ok(take(buf, 4)?.get_i32())
}

fn get_i64(buf: &mut &[u8]) -> Result<i64, RecordError> {
    Ok(take(buf, 8)?.get_i64())
}

fn get_str(buf: &mut &[u8]) -> Result<String, RecordError> {
    let len = usize::try_from(get_i16(buf)?).map_err(|_| RecordError::Truncated)?;
    let bytes = take(buf, len)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| RecordError::Utf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TxnMetadata {
        let mut m = TxnMetadata::new(42, 60_000, 1_700_000_000_000);
        m.producer_epoch = 3;
        m.state = TxnState::PrepareCommit;
        m.start_ms = 1_699_999_999_000;
        for (t, p) in [("a", 0), ("a", 2), ("b", 1)] {
            m.partitions.insert(TopicPartition::new(t, p));
        }
        m
    }

    #[test]
    fn keys_and_values_round_trip() {
        assert_eq!(decode_key(&encode_key("txn-1")), Ok("txn-1".to_owned()));
        assert_eq!(decode_value(&encode_value(&sample())), Ok(sample()));
    }

    #[test]
    fn the_value_has_kafkas_layout() {
        let bytes = encode_value(&sample());
        // version, producer id, epoch, timeout, status
        assert_eq!(&bytes[..2], &[0, 0]);
        assert_eq!(&bytes[2..10], &42i64.to_be_bytes());
        assert_eq!(&bytes[10..12], &3i16.to_be_bytes());
        assert_eq!(&bytes[12..16], &60_000i32.to_be_bytes());
        assert_eq!(bytes[16], 2, "PrepareCommit");
        assert_eq!(&bytes[17..21], &2i32.to_be_bytes(), "two topics");
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let bytes = encode_value(&sample());
        for cut in 0..bytes.len() {
            assert!(decode_value(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = bytes.to_vec();
        huge[17..21].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_value(&huge).is_err());
        assert_eq!(decode_key(&[0, 1, 0]), Err(RecordError::Version(1)));
    }
}
