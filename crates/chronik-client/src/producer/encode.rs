//! Building one v2 record batch with kafka-protocol's encoder (which also compresses).

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::accumulator::Rec;
use crate::{ClientError, Result};

/// Producer identity stamped on a batch; `None` for non-idempotent producers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    /// The batch belongs to the producer's open transaction.
    pub transactional: bool,
}

/// Encodes `records` as exactly one batch; records without a timestamp get `default_ts` (the
/// batch's creation time, so a retried batch encodes the same).
pub(crate) fn encode_batch(
    records: &[Rec],
    default_ts: i64,
    compression: Compression,
    stamp: Option<Stamp>,
) -> Result<Bytes> {
    let (producer_id, epoch, base_sequence) = match stamp {
        Some(s) => (s.producer_id, s.epoch, s.base_sequence),
        None => (-1, -1, -1),
    };
    let transactional = stamp.is_some_and(|s| s.transactional);
    let recs: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, q)| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever `offset - sequence` changes, so the
            // sequence advances with the offset (base -1 for non-idempotent batches).
            sequence: base_sequence.wrapping_add(i as i32),
            timestamp: q.timestamp.unwrap_or(default_ts),
            key: q.key.clone(),
            value: q.value.clone(),
            headers: IndexMap::new(),
        })
        .collect();
    // Room for the whole batch up front: growing a buffer of hundreds of KiB by doubling copies
    // it several times (and faults in fresh pages each time).
    let estimate: usize = records.iter().map(|r| r.size() + 16).sum();
    let mut buf = BytesMut::with_capacity(estimate + 64);
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &recs, &options)
        .map_err(|e| ClientError::InvalidInput(format!("encoding a record batch: {e}")))?;
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(n: usize) -> Vec<Rec> {
        (0..n)
            .map(|i| Rec {
                key: None,
                value: Some(Bytes::from(vec![i as u8; 100])),
                timestamp: Some(1_700_000_000_000 + i as i64),
            })
            .collect()
    }

    #[test]
    fn one_valid_batch_per_call_for_every_codec() {
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let stamp = Stamp {
                producer_id: 7,
                epoch: 0,
                base_sequence: 10,
                transactional: true,
            };
            let b = encode_batch(&queued(5), 0, codec, Some(stamp)).unwrap();
            let h = chronik_records::validate_batch(&b).unwrap();
            assert_eq!(h.records_count, 5, "{codec:?}");
            assert_eq!((h.producer_id, h.base_sequence), (7, 10));
            assert_eq!(h.attributes & 7, codec as i16);
            assert!(h.is_transactional());
        }
        let plain = encode_batch(&queued(3), 0, Compression::None, None).unwrap();
        let h = chronik_records::validate_batch(&plain).unwrap();
        assert_eq!(
            (h.producer_id, h.base_sequence, h.records_count),
            (-1, -1, 3)
        );
        assert!(!h.is_transactional());
    }

    #[test]
    fn records_without_a_timestamp_take_the_batch_creation_time() {
        let now = 1_800_000_000_000;
        let mut recs = queued(2);
        recs[0].timestamp = None;
        recs[1].timestamp = None;
        let b = encode_batch(&recs, now, Compression::None, None).unwrap();
        let h = chronik_records::validate_batch(&b).unwrap();
        assert_eq!((h.base_timestamp, h.max_timestamp), (now, now));
        // A record's own timestamp wins.
        recs[1].timestamp = Some(now + 5);
        let b = encode_batch(&recs, now, Compression::None, None).unwrap();
        let h = chronik_records::validate_batch(&b).unwrap();
        assert_eq!((h.base_timestamp, h.max_timestamp), (now, now + 5));
    }
}
