//! Appends as leader: admission (internal topics, acks and min.insync.replicas, record
//! validation), idempotent producers' sequence checks, the append in the leader epoch, and
//! the wait that settles an acknowledgement: durable for acks=1, committed (the high
//! watermark passed it) for acks=all.

use std::time::Duration;

use bytes::Bytes;
use chronik_records::{BatchHeader, ProducerFields};
use chronik_types::TopicPartition;
use chronik_wal::Durable;

use super::rewrite::Rewrite;
use super::{Leading, PartitionError, PartitionLayer, Result};
use crate::partitions::Hosted;
use crate::producers::{SeqCheck, TxnGuard};

/// One validated batch of a produce: its bytes and the header validation read from them.
struct Batch<'a> {
    bytes: &'a [u8],
    header: &'a BatchHeader,
}

/// How many replicas must have an append before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acks {
    /// No acknowledgement at all.
    None,
    /// The leader's log made it durable.
    Leader,
    /// Every ISR member holds it: the high watermark passed it.
    All,
}

impl Acks {
    /// The `acks` of a Produce request; `None` for a value Kafka does not define.
    pub fn from_wire(acks: i16) -> Option<Acks> {
        match acks {
            0 => Some(Acks::None),
            1 => Some(Acks::Leader),
            -1 => Some(Acks::All),
            _ => None,
        }
    }
}

/// A partition's records, written.
pub(crate) struct Appended {
    /// Offset of the first record written (or of the original, for a retried batch).
    pub base_offset: i64,
    pub log_start_offset: i64,
    /// The time the broker stamped the batches with, under LogAppendTime.
    pub log_append_time: Option<i64>,
    /// What to wait for before acknowledging.
    pub wait: AckWait,
}

/// What an acknowledgement waits for: the last append's durability and, for acks=all, the
/// high watermark passing it in the epoch it was written in.
pub(crate) struct AckWait {
    /// Resolves when the last append is durable (the log is fsynced in order, so it covers the
    /// earlier ones).
    pub(super) durable: Option<Durable>,
    pub(super) hosted: std::sync::Arc<Hosted>,
    pub(super) partition: TopicPartition,
    /// Base offset of the last batch: committed once the high watermark passes it.
    pub(super) last_base: i64,
    pub(super) epoch: i32,
    /// For acks=all, the ISR must still hold this many members when the high watermark
    /// passes the append: one that shrank below it to let the mark pass has not replicated
    /// the records as the topic asks (Kafka's NOT_ENOUGH_REPLICAS_AFTER_APPEND).
    pub(super) min_insync_replicas: i32,
}

impl PartitionLayer {
    /// Validates and appends one partition's records as its leader. The topic must exist
    /// (auto-creation is the caller's business) and this broker must lead it.
    pub fn append(
        &self,
        tp: &TopicPartition,
        acks: Acks,
        records: Option<&Bytes>,
        verified: Option<TxnGuard>,
    ) -> Result<Appended> {
        if crate::services::is_internal_topic(&tp.topic) {
            // Only the coordinators write there; a client's records would corrupt their state.
            return Err(PartitionError::InternalTopic(tp.clone()));
        }
        let leading = self.leader(tp)?;
        let (topic, isr) = self
            .limits(tp)
            .ok_or_else(|| PartitionError::UnknownPartition(tp.clone()))?;
        let min = topic.min_insync_replicas;
        if too_few_in_sync(acks, min, isr) {
            tracing::debug!(partition = %tp, isr, min, "acks=all refused");
            return Err(PartitionError::NotEnoughReplicas {
                partition: tp.clone(),
                isr,
                min,
            });
        }
        let records = records.ok_or(PartitionError::MissingRecords)?;
        let mut batches = chronik_records::split_batches(records, topic.max_message_bytes)
            .inspect_err(|e| tracing::debug!(partition = %tp, error = %e, "produce rejected"))?;
        if topic.cleanup.compact {
            for batch in &batches {
                check_keyed(tp, &records[batch.range.clone()])?;
            }
        }
        for batch in &batches {
            check_timestamp_type(tp, &batch.header)?;
        }
        let now = crate::wall_clock::wall_ms();
        if topic.timestamps.bounds_timestamps() {
            for batch in &batches {
                check_timestamps(tp, &topic.timestamps, &records[batch.range.clone()], now)?;
            }
        }
        let append_time = topic.timestamps.log_append_time.then_some(now);
        let rewrite = Rewrite {
            recompress: topic.compression.target(),
            append_time,
            max_message_bytes: topic.max_message_bytes,
        };
        let rewritten = rewrite.apply(records, &mut batches)?;
        let records = rewritten.as_ref().unwrap_or(records);
        let mut base_offset = None;
        let mut wait = AckWait {
            durable: None,
            hosted: leading.hosted.clone(),
            partition: tp.clone(),
            last_base: -1,
            epoch: leading.epoch,
            min_insync_replicas: min,
        };
        for batch in batches {
            let batch = Batch {
                bytes: &records[batch.range],
                header: &batch.header,
            };
            let (base, durable) = match batch.header.producer() {
                None => append_one(tp, &leading, &batch).map(|(base, _, d)| (base, d))?,
                Some(p) => append_idempotent(tp, &leading, &p, &batch, verified)?,
            };
            base_offset.get_or_insert(base);
            wait.durable = Some(durable);
            wait.last_base = base;
        }
        let hosted = &leading.hosted;
        let end = hosted.log.end_offset();
        hosted.replica.update(|p| p.advance(end));
        hosted.replica.changed();
        hosted.count_bytes_in(&tp.topic, records.len());
        Ok(Appended {
            base_offset: base_offset.unwrap_or(-1),
            log_start_offset: hosted.log.start_offset(),
            log_append_time: append_time,
            wait,
        })
    }
}

/// Refuses a batch whose records' producer timestamps lie outside the topic's bounds (records
/// without a timestamp are not checked, as in Kafka).
fn check_timestamps(
    tp: &TopicPartition,
    settings: &crate::topic_config::TimestampSettings,
    batch: &[u8],
    now: i64,
) -> Result<()> {
    let limit = chronik_compaction::DEFAULT_UNCOMPRESSED_LIMIT;
    let range = chronik_compaction::timestamp_range(batch, limit)
        .map_err(|e| PartitionError::UnreadableRecords(e.to_string()))?;
    let Some(range) = range else {
        return Ok(());
    };
    (settings.check(range, now)).map_err(|reason| PartitionError::TimestampOutOfBounds {
        partition: tp.clone(),
        reason,
    })
}

/// Refuses a batch a producer marked with LogAppendTime: only the broker stamps that, as in
/// Kafka.
fn check_timestamp_type(tp: &TopicPartition, header: &BatchHeader) -> Result<()> {
    if !header.is_log_append_time() {
        return Ok(());
    }
    Err(PartitionError::TimestampOutOfBounds {
        partition: tp.clone(),
        reason: "a producer may not mark its batch with LogAppendTime; the broker stamps it".into(),
    })
}

impl PartitionLayer {
    /// The producer id and epoch of `records`' first batch, with the guard to append it under,
    /// when it is transactional and opens its producer's transaction here: its coordinator
    /// must confirm the partition is in that transaction first (KIP-890).
    pub fn txn_to_verify(
        &self,
        tp: &TopicPartition,
        records: Option<&Bytes>,
    ) -> Option<(i64, i16, TxnGuard)> {
        let header = BatchHeader::parse(records?).ok()?;
        if !header.is_transactional() || header.is_control() || header.producer_id < 0 {
            return None;
        }
        let hosted = self.partitions.get_hosted(tp)?;
        let guard = hosted.producers().txn_guard(header.producer_id)?;
        Some((header.producer_id, header.producer_epoch, guard))
    }
}

impl AckWait {
    /// Base offset of the last batch appended.
    pub fn offset(&self) -> i64 {
        self.last_base
    }

    /// Waits until the appends are durable and, for acks=all, committed. A leader that loses
    /// its leadership meanwhile fails the wait (the client retries at the new leader);
    /// `timeout` bounds the wait for the ISR.
    pub async fn settle(self, acks: Acks, timeout: Duration) -> Result<()> {
        let mut marks = self.hosted.replica.subscribe();
        if let Some(durable) = self.durable
            && let Err(e) = durable.wait_async().await
        {
            tracing::debug!(error = %e, "append not made durable");
            self.hosted.check_failed();
            return Err(PartitionError::Storage(self.partition));
        }
        if acks != Acks::All {
            return Ok(());
        }
        let (epoch, last_base) = (self.epoch, self.last_base);
        let committed =
            marks.wait_for(|m| m.leader_epoch != Some(epoch) || m.high_watermark > last_base);
        match tokio::time::timeout(timeout, committed).await {
            Ok(Ok(m)) if m.leader_epoch == Some(epoch) => {
                drop(m);
                match self.hosted.replica.replicas_holding(last_base) {
                    Some(isr) if too_few_in_sync(Acks::All, self.min_insync_replicas, isr) => {
                        Err(PartitionError::NotEnoughReplicasAfterAppend {
                            partition: self.partition,
                            isr,
                            min: self.min_insync_replicas,
                        })
                    }
                    _ => Ok(()),
                }
            }
            Ok(_) => Err(PartitionError::LeadershipLost),
            Err(_) => Err(PartitionError::TimedOut),
        }
    }
}

/// A compacted topic keeps the latest record of each key, so every record needs one (Kafka's
/// rule, answered with INVALID_RECORD).
fn check_keyed(tp: &TopicPartition, batch: &[u8]) -> Result<()> {
    let limit = chronik_compaction::DEFAULT_UNCOMPRESSED_LIMIT;
    match chronik_compaction::unkeyed_records(batch, limit) {
        Ok(positions) if positions.is_empty() => Ok(()),
        Ok(positions) => Err(PartitionError::UnkeyedRecords {
            partition: tp.clone(),
            positions,
        }),
        Err(e) => Err(PartitionError::UnreadableRecords(e.to_string())),
    }
}

/// Appends a batch of an idempotent producer unless it is a retry of one already written
/// (answered with the original base offset) or out of sequence.
fn append_idempotent(
    tp: &TopicPartition,
    leading: &Leading,
    p: &ProducerFields,
    batch: &Batch<'_>,
    verified: Option<TxnGuard>,
) -> Result<(i64, Durable)> {
    let hosted = &leading.hosted;
    let mut producers = hosted.producers();
    if batch.header.is_transactional() && !producers.check_txn_batch(p.producer_id, verified) {
        tracing::debug!(partition = %tp, producer = p.producer_id,
            "transactional batch outside a verified transaction refused");
        return Err(PartitionError::NotInTransaction(tp.clone()));
    }
    match producers.check(p) {
        SeqCheck::Append => {
            let (base, last, durable) = append_one(tp, leading, batch)?;
            producers.record(p, (base, last), batch.header.max_timestamp);
            if batch.header.is_transactional() {
                producers.txn_written(p.producer_id, base);
            }
            Ok((base, durable))
        }
        SeqCheck::Duplicate(written) => {
            tracing::debug!(partition = %tp, producer = p.producer_id, seq = p.first_seq,
                "duplicate batch answered with its offsets");
            drop(producers);
            // The original append may still wait for its fsync; the retry's ack must not come
            // first. The flusher's next fsync covers both, without blocking this thread.
            Ok((written.base_offset, hosted.log.durable_end()))
        }
        SeqCheck::Reject(e) => {
            tracing::debug!(partition = %tp, producer = p.producer_id, seq = p.first_seq,
                error = %e, "idempotent batch refused");
            Err(e.into())
        }
    }
}

/// Appends one batch in the leader epoch: its base and last offsets and durable handle. A log
/// that failed for good is reported once (see [`Hosted::check_failed`]), not on every append.
fn append_one(
    tp: &TopicPartition,
    leading: &Leading,
    batch: &Batch<'_>,
) -> Result<(i64, i64, Durable)> {
    let hosted = &leading.hosted;
    let log = &hosted.log;
    match log.append_validated(batch.bytes, batch.header, leading.epoch) {
        Ok(info) => Ok((info.base_offset, info.last_offset, info.durable)),
        Err(e) => {
            if log.failure().is_some() {
                tracing::debug!(partition = %tp, error = %e, "append refused");
                hosted.check_failed();
            } else {
                tracing::error!(partition = %tp, error = %e, "append failed");
            }
            Err(PartitionError::Storage(tp.clone()))
        }
    }
}

/// Whether an append with `acks` is refused for an ISR of `isr` members: only acks=all waits
/// for the ISR, so only it needs `min.insync.replicas` of them.
fn too_few_in_sync(acks: Acks, min_insync_replicas: i32, isr: usize) -> bool {
    acks == Acks::All && i64::try_from(isr).unwrap_or(i64::MAX) < i64::from(min_insync_replicas)
}

#[cfg(test)]
mod tests {
    use super::{Acks, too_few_in_sync};

    #[test]
    fn acks_all_needs_min_insync_replicas_in_the_isr() {
        assert!(too_few_in_sync(Acks::All, 2, 1));
        assert!(!too_few_in_sync(Acks::All, 1, 1));
        assert!(!too_few_in_sync(Acks::Leader, 2, 1));
        assert!(!too_few_in_sync(Acks::None, 2, 1));
    }

    #[test]
    fn only_the_three_kafka_acks_values_exist() {
        assert_eq!(Acks::from_wire(-1), Some(Acks::All));
        assert_eq!(Acks::from_wire(0), Some(Acks::None));
        assert_eq!(Acks::from_wire(1), Some(Acks::Leader));
        assert_eq!(Acks::from_wire(2), None);
        assert_eq!(Acks::from_wire(-2), None);
    }
}
