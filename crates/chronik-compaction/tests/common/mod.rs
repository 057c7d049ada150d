//! Batches for the tests, written and read back with kafka-protocol's encoder and decoder, so
//! that the crate's own record codec is checked against an independent one. Each test binary
//! uses part of this module.

#![allow(dead_code, unused_imports)]

use bytes::{Bytes, BytesMut};
use chronik_compaction::{ActiveProducers, CleanPolicy, Filtered, KeyMap, filter_batch};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

pub use kafka_protocol::records::Compression as Codec;

pub const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// A record to write: key, value (`None`: a tombstone), timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: i64,
}

pub fn kv(key: &str, value: &str, timestamp: i64) -> Rec {
    Rec {
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        timestamp,
    }
}

pub fn tombstone(key: &str, timestamp: i64) -> Rec {
    Rec {
        key: Some(key.as_bytes().to_vec()),
        value: None,
        timestamp,
    }
}

pub fn unkeyed(value: &str, timestamp: i64) -> Rec {
    Rec {
        key: None,
        value: Some(value.as_bytes().to_vec()),
        timestamp,
    }
}

/// How to write a batch: where it starts, its codec, producer and flags.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub base_offset: i64,
    pub codec: Compression,
    /// (producer id, epoch, base sequence)
    pub producer: Option<(i64, i16, i32)>,
    pub leader_epoch: i32,
    pub transactional: bool,
    pub control: bool,
}

impl Spec {
    pub fn at(base_offset: i64) -> Self {
        Self {
            base_offset,
            codec: Compression::None,
            producer: None,
            leader_epoch: 3,
            transactional: false,
            control: false,
        }
    }

    pub fn codec(self, codec: Compression) -> Self {
        Self { codec, ..self }
    }

    pub fn producer(self, id: i64, epoch: i16, base_sequence: i32) -> Self {
        Self {
            producer: Some((id, epoch, base_sequence)),
            ..self
        }
    }
}

/// One batch holding `records` at consecutive offsets from the spec's base offset.
pub fn batch(spec: Spec, records: &[Rec]) -> Vec<u8> {
    let (producer_id, epoch, base_sequence) = spec.producer.unwrap_or((-1, -1, -1));
    let records: Vec<Record> = (records.iter().enumerate())
        .map(|(i, r)| Record {
            transactional: spec.transactional,
            control: spec.control,
            delete_horizon: false,
            partition_leader_epoch: spec.leader_epoch,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: spec.base_offset + i as i64,
            // The encoder keeps offset - sequence constant within a batch.
            sequence: base_sequence.wrapping_add(i as i32),
            timestamp: r.timestamp,
            key: r.key.clone().map(Bytes::from),
            value: r.value.clone().map(Bytes::from),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: spec.codec,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("test batches encode");
    buf.to_vec()
}

/// A batch's records as kafka-protocol decodes them (panics on a batch it refuses).
pub fn decode(batch: &[u8]) -> Vec<Record> {
    let mut bytes = Bytes::copy_from_slice(batch);
    RecordBatchDecoder::decode(&mut bytes)
        .expect("kafka-protocol decodes the batch")
        .records
}

/// A record as read back: offset, key, value.
pub type Read = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

/// (offset, key, value) of each record.
pub fn contents(batch: &[u8]) -> Vec<Read> {
    (decode(batch).into_iter())
        .map(|r| {
            (
                r.offset,
                r.key.map(|k| k.to_vec()),
                r.value.map(|v| v.to_vec()),
            )
        })
        .collect()
}

/// A map over `batches` with a budget large enough for all of them.
pub fn map_all(batches: &[Vec<u8>], dirty: std::ops::Range<i64>) -> KeyMap {
    let mut map = KeyMap::new(1 << 20, dirty);
    for b in batches {
        map.map_batch(b).expect("test batches map");
    }
    map
}

/// Filters one batch on its own and returns the outcome and the written bytes.
pub fn filter_one(
    batch: &[u8],
    map: &KeyMap,
    now_ms: i64,
    retention_ms: i64,
    producers: &ActiveProducers,
) -> (Filtered, Vec<u8>) {
    let mut out = Vec::new();
    let policy = CleanPolicy::new(now_ms, retention_ms, producers);
    let filtered = filter_batch(batch, map, &policy, &mut out).expect("filtering succeeds");
    (filtered, out)
}
