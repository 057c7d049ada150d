//! Moving a partition's log start offset as its leader (Kafka's DeleteRecords): the leader
//! moves its own, followers move theirs to the leader's on their next fetch, and the request
//! is answered once the whole ISR has (the low watermark). On a partition with remote copies
//! the log start over both tiers is recorded in the metadata first, which every replica and
//! every later leader follows; the remote tier task then deletes the copies wholly below it.

use std::time::Duration;

use chronik_metadata::proto::RemoteLogStartChange;
use chronik_types::TopicPartition;

use super::{PartitionError, PartitionLayer, Result};

/// DeleteRecords' "up to the high watermark".
const HIGH_WATERMARK: i64 = -1;

impl PartitionLayer {
    /// Deletes the records of `tp` below `offset` ([`HIGH_WATERMARK`]: all that consumers can
    /// see) and returns the low watermark once every ISR member's log starts there, or fails
    /// with `TimedOut` after `timeout` (the leader's own start has moved by then).
    pub async fn delete_records(
        &self,
        tp: &TopicPartition,
        offset: i64,
        timeout: Duration,
    ) -> Result<i64> {
        if tp.topic == crate::groups::OFFSETS_TOPIC {
            return Err(PartitionError::InternalTopic(tp.clone()));
        }
        let leading = self.leader(tp)?;
        let compact_only = self
            .limits(tp)
            .is_some_and(|(topic, _)| !topic.cleanup.delete);
        if compact_only {
            // Kafka's rule: a compacted log keeps every key's latest record.
            return Err(PartitionError::CompactOnly(tp.clone()));
        }
        let log = leading.log().clone();
        let high_watermark = leading.high_watermark();
        let target = if offset == HIGH_WATERMARK {
            high_watermark
        } else {
            offset
        };
        if target < 0 || target > high_watermark {
            return Err(PartitionError::OffsetOutOfRange {
                offset,
                log_start: log.start_offset(),
                log_end: high_watermark,
                visible_end: high_watermark,
            });
        }
        if let Some(remote_start) = self.remote_view(&leading.hosted, tp).start() {
            if target > log.start_offset().min(remote_start) {
                self.move_start_over_tiers(tp, &leading, target).await?;
            }
            if target <= log.start_offset() {
                // Only remote records go: every replica's local log stays as it is.
                return Ok(self.log_start_over_tiers(&leading.hosted, tp));
            }
        }
        let moved = tokio::task::spawn_blocking(move || log.advance_start(target)).await;
        if !matches!(moved, Ok(Ok(_))) {
            tracing::warn!(partition = %tp, ?moved, "moving the log start offset failed");
            leading.hosted.check_failed();
            return Err(PartitionError::Storage(tp.clone()));
        }
        tracing::info!(partition = %tp, log_start = target, "records deleted");
        leading.hosted.replica.changed();
        self.wait_low_watermark(&leading, target, timeout).await
    }

    /// Records `target` as the log start over both tiers in the metadata, at the leader's epoch.
    async fn move_start_over_tiers(
        &self,
        tp: &TopicPartition,
        leading: &super::Leading,
        target: i64,
    ) -> Result<()> {
        let change = RemoteLogStartChange {
            topic_id: leading.hosted.topic_id.to_vec(),
            partition: tp.partition,
            leader_epoch: leading.epoch,
            log_start_offset: target,
        };
        if let Err(e) = self.cluster.move_remote_log_start(&change).await {
            tracing::warn!(partition = %tp, error = %e, "the metadata did not record the new log start");
            let still_leading = leading.hosted.replica.leader_epoch() == Some(leading.epoch);
            return Err(match still_leading {
                true => PartitionError::TimedOut,
                false => PartitionError::LeadershipLost,
            });
        }
        let start = self.remote_view(&leading.hosted, tp).start();
        leading.hosted.set_remote_start(start);
        tracing::info!(partition = %tp, log_start = target, "records deleted, in the remote tier too");
        Ok(())
    }

    /// Waits until the ISR's lowest log start reaches `target` in the leader's epoch.
    async fn wait_low_watermark(
        &self,
        leading: &super::Leading,
        target: i64,
        timeout: Duration,
    ) -> Result<i64> {
        let hosted = &leading.hosted;
        let mut changes = hosted.replica.subscribe_changes();
        let reached = async {
            loop {
                let local = hosted.log.start_offset();
                let low = hosted.replica.read(|p| {
                    (p.leader_epoch() == Some(leading.epoch))
                        .then(|| p.low_watermark(local))
                        .flatten()
                });
                match low {
                    None => return Err(PartitionError::LeadershipLost),
                    Some(low) if low >= target => return Ok(low),
                    Some(_) => {}
                }
                if changes.changed().await.is_err() {
                    return Err(PartitionError::LeadershipLost);
                }
            }
        };
        tokio::time::timeout(timeout, reached)
            .await
            .unwrap_or(Err(PartitionError::TimedOut))
    }
}
