//! Writing coordinator records to a `__consumer_offsets` partition, waiting for them to be
//! committed, and reading them back.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chronik_kafka::kafka_protocol::indexmap::IndexMap;
use chronik_kafka::kafka_protocol::records::{
    Compression, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, Record,
    RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use chronik_wal::{Durable, PartitionLog, WalError};
use tokio::sync::watch;

use super::error::GroupError;
use super::records::RecordKey;
use crate::replica::Mark;

/// How much of the log one load step reads.
const LOAD_READ_BYTES: usize = 1024 * 1024;

/// A key and its value (`None`: a tombstone).
pub(crate) type KeyValue = (Bytes, Option<Bytes>);

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("log: {0}")]
    Wal(#[from] WalError),
    #[error("cannot encode the record batch: {0}")]
    Encode(String),
    #[error("record batch of {0} bytes exceeds the {1}-byte limit")]
    TooLarge(usize, usize),
}

/// Appends `records` as one v2 batch (so a commit of many partitions is atomic) with the
/// partition's leader epoch; returns when it is on its way to disk.
pub(crate) fn append(
    log: &PartitionLog,
    epoch: i32,
    records: &[KeyValue],
    timestamp: i64,
    max_bytes: usize,
) -> Result<chronik_wal::AppendInfo, StoreError> {
    append_batch(log, epoch, records, timestamp, max_bytes, None)
}

/// [`append`], as a transactional batch of `producer` (id, epoch) when given: its records
/// count only once the producer's commit marker follows (TxnOffsetCommit).
pub(crate) fn append_batch(
    log: &PartitionLog,
    epoch: i32,
    records: &[KeyValue],
    timestamp: i64,
    max_bytes: usize,
    producer: Option<(i64, i16)>,
) -> Result<chronik_wal::AppendInfo, StoreError> {
    let (producer_id, producer_epoch) = producer.unwrap_or((NO_PRODUCER_ID, NO_PRODUCER_EPOCH));
    let records: Vec<Record> = (records.iter().enumerate())
        .map(|(i, (key, value))| Record {
            transactional: producer.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // offset - sequence must stay constant or the encoder splits the batch; this
            // also gives the batch Kafka's "no sequence" base sequence of -1.
            sequence: i as i32 - 1,
            timestamp,
            key: Some(key.clone()),
            value: value.clone(),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options)
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    if buf.len() > max_bytes {
        return Err(StoreError::TooLarge(buf.len(), max_bytes));
    }
    Ok(log.append(&mut buf, epoch)?)
}

/// How long a group write waits for the ISR (Kafka's `offsets.commit.timeout.ms`).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// A group record written to the leader's log: committed once durable and on every ISR
/// member, like an acks=all produce.
pub(crate) struct Written {
    pub(crate) durable: Durable,
    pub(crate) marks: watch::Receiver<Mark>,
    pub(crate) base_offset: i64,
    pub(crate) epoch: i32,
}

impl Written {
    /// Waits until the record is committed; the error says why it may not be.
    pub async fn wait_async(self) -> Result<(), GroupError> {
        self.committed().await.map_err(GroupError::Storage)
    }

    /// Waits until the record is committed; the error says why it may not be.
    pub async fn committed(mut self) -> Result<(), String> {
        (self.durable.wait_async().await).map_err(|e| e.to_string())?;
        let (epoch, base) = (self.epoch, self.base_offset);
        let committed = self
            .marks
            .wait_for(|m| m.leader_epoch != Some(epoch) || m.high_watermark > base);
        match tokio::time::timeout(COMMIT_TIMEOUT, committed).await {
            Ok(Ok(m)) if m.leader_epoch == Some(epoch) => Ok(()),
            Ok(_) => {
                Err("the coordinator lost its leadership before the ISR had the record".into())
            }
            Err(_) => Err(format!(
                "the ISR did not take the record within {COMMIT_TIMEOUT:?}"
            )),
        }
    }
}

/// Records of transactions still open at the end of a log, by producer id.
pub(crate) type OpenTxns = HashMap<i64, Vec<(RecordKey, Option<Bytes>)>>;

/// Reads every record of `log` in order and hands each decodable one to `visit`; a
/// transaction's records come when its commit marker does, an aborted transaction's never.
/// Returns the records of transactions still open. Damaged batches and records are skipped
/// with a warning: loading never fails on content.
/// Also returns the offset the read stopped at (the log end when it began).
pub(crate) fn read_all(
    log: &PartitionLog,
    mut visit: impl FnMut(RecordKey, Option<Bytes>),
) -> Result<(OpenTxns, i64), WalError> {
    let name = log.name().to_owned();
    let mut open: OpenTxns = HashMap::new();
    let read_to = read_all_raw(log, |item| match item {
        LogItem::Record {
            key,
            value,
            offset,
            txn,
        } => match (RecordKey::decode(&key), txn) {
            (Ok(key), None) => visit(key, value),
            (Ok(key), Some(producer_id)) => open.entry(producer_id).or_default().push((key, value)),
            (Err(e), _) => tracing::warn!(log = name, offset, error = %e, "skipping a record"),
        },
        LogItem::Marker {
            producer_id,
            commit,
        } => {
            let records = open.remove(&producer_id).unwrap_or_default();
            if commit {
                for (key, value) in records {
                    visit(key, value);
                }
            }
        }
    })?;
    Ok((open, read_to))
}

/// One thing a log holds, as loading sees it.
pub(crate) enum LogItem {
    /// A keyed record; `txn` is its producer id when it belongs to a transaction.
    Record {
        key: Bytes,
        value: Option<Bytes>,
        offset: i64,
        txn: Option<i64>,
    },
    /// The end of a producer's transaction.
    Marker { producer_id: i64, commit: bool },
}

/// Reads every keyed record and transaction marker of `log` in order and hands each to
/// `visit`; damaged batches are skipped. Returns the offset it read to.
pub(crate) fn read_all_raw(
    log: &PartitionLog,
    mut visit: impl FnMut(LogItem),
) -> Result<i64, WalError> {
    let end = log.end_offset();
    let mut from = log.start_offset();
    while from < end {
        let read = log.read(from, LOAD_READ_BYTES)?;
        if read.next_offset <= from || read.data.is_empty() {
            break;
        }
        visit_batches(log.name(), read.data, &mut visit);
        from = read.next_offset;
    }
    Ok(end)
}

fn visit_batches(log: &str, mut data: Bytes, visit: &mut impl FnMut(LogItem)) {
    while !data.is_empty() {
        let len = match chronik_records::BatchHeader::parse(&data) {
            Ok(h) if h.total_len() <= data.len() => h.total_len(),
            _ => {
                tracing::warn!(
                    log,
                    "unreadable batch header; skipping the rest of this read"
                );
                return;
            }
        };
        let batch = data.split_to(len);
        let header = match chronik_records::validate_stored_batch(&batch) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(log, error = %e, "skipping a damaged batch");
                continue;
            }
        };
        if header.is_control() {
            if let Some(marker) = chronik_records::read_marker(&batch) {
                visit(LogItem::Marker {
                    producer_id: header.producer_id,
                    commit: marker.commit,
                });
            }
            continue;
        }
        // The decoder reserves by the record count: a count above the bytes present is damage.
        if usize::try_from(header.records_count).map_or(true, |n| n > len) {
            continue;
        }
        let txn = header.is_transactional().then_some(header.producer_id);
        let mut raw = batch;
        let set = match RecordBatchDecoder::decode(&mut raw) {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(log, error = %e, "skipping an undecodable batch");
                continue;
            }
        };
        for record in set.records {
            if let Some(key) = record.key {
                visit(LogItem::Record {
                    key,
                    value: record.value,
                    offset: record.offset,
                    txn,
                });
            }
        }
    }
}
