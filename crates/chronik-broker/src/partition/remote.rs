//! What the remote tier holds of a partition, as the metadata records it: where a read of an
//! offset below the local log goes (a consumer is told the copy to read, which the handler
//! reads off the partition's locks; a follower is told OFFSET_MOVED_TO_TIERED_STORAGE and
//! starts over at the leader's local log start instead of copying the remote history), the
//! log start offset over both tiers (which DeleteRecords may have moved into the remote tier),
//! and the copy a timestamp lookup reads.

use chronik_metadata::{MetadataState, RemoteCopyState, RemoteSegment, TopicId};
use chronik_tiered::RemoteSegmentId;
use chronik_types::TopicPartition;
use chronik_wal::AbortedTxn;

use super::{PartitionError, PartitionLayer, Result};
use crate::partitions::Hosted;

/// A consumer's read that the remote tier serves: from `offset` in copy `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteSpan {
    pub id: RemoteSegmentId,
    pub offset: i64,
    /// For a read_committed consumer, where aborted transactions are looked up: the copies
    /// after `id`, oldest first, then the local log's aborted transactions.
    pub committed: Option<CommittedView>,
}

/// What a read_committed read of the remote tier needs to name the aborted transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommittedView {
    pub last_stable_offset: i64,
    pub later_copies: Vec<RemoteSegmentId>,
    pub local_aborted: Vec<AbortedTxn>,
}

/// The copies of a partition that consumers may read, and the log start DeleteRecords set.
pub(crate) struct RemoteView {
    /// Whole, and holding records at or past `log_start`; oldest first.
    pub copies: Vec<RemoteSegment>,
    /// The partition's log start over both tiers as DeleteRecords moved it (0: never).
    pub log_start: i64,
}

impl RemoteView {
    /// Reads `metadata`'s view of partition `partition` of topic `topic_id`.
    pub fn of(metadata: &MetadataState, topic_id: TopicId, partition: i32) -> Self {
        let log_start = (metadata.topic(&topic_id))
            .and_then(|t| t.partition(partition))
            .map_or(0, |p| p.remote_log_start);
        let copies = (metadata.remote_segments(topic_id, partition))
            .filter(|c| c.state == RemoteCopyState::Copied && c.next_offset > log_start)
            .cloned()
            .collect();
        RemoteView { copies, log_start }
    }

    /// Where the remote tier starts for consumers; `None` when it holds nothing readable.
    pub fn start(&self) -> Option<i64> {
        let first = self.copies.iter().map(|c| c.key.base_offset).min()?;
        Some(first.max(self.log_start))
    }
}

impl PartitionLayer {
    pub(crate) fn remote_view(&self, hosted: &Hosted, tp: &TopicPartition) -> RemoteView {
        (self.cluster).metadata(|s| RemoteView::of(s, hosted.topic_id, tp.partition))
    }

    /// The whole copies of `tp` holding records consumers may read, oldest first.
    pub fn remote_copies(&self, hosted: &Hosted, tp: &TopicPartition) -> Vec<RemoteSegment> {
        self.remote_view(hosted, tp).copies
    }

    /// The copy holding `offset` (the one reaching furthest when several do), and the copies
    /// after it, oldest first.
    pub(super) fn remote_copy_at(
        &self,
        hosted: &Hosted,
        tp: &TopicPartition,
        offset: i64,
    ) -> Option<(RemoteSegment, Vec<RemoteSegmentId>)> {
        let RemoteView { copies, log_start } = self.remote_view(hosted, tp);
        if offset < log_start {
            return None;
        }
        let copy = (copies.iter())
            .filter(|c| c.key.base_offset <= offset && offset < c.next_offset)
            .max_by_key(|c| c.next_offset)?
            .clone();
        let later = (copies.iter())
            .filter(|c| c.key.base_offset >= copy.next_offset)
            .map(segment_id)
            .collect();
        Some((copy, later))
    }

    /// The log start offset over both tiers, from the metadata (not the remote tier task's
    /// last look).
    pub(super) fn log_start_over_tiers(&self, hosted: &Hosted, tp: &TopicPartition) -> i64 {
        let remote = self.remote_view(hosted, tp).start();
        hosted.log.start_offset().min(remote.unwrap_or(i64::MAX))
    }

    /// For ListOffsets by timestamp: the oldest copy below the local log holding a record at
    /// or after `timestamp`, with the leader epoch and the log start over both tiers (no
    /// answer may lie below it); `None` when the local log answers.
    pub fn remote_copy_for_timestamp(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: i32,
        timestamp: i64,
    ) -> Result<Option<(RemoteSegmentId, i32, i64)>> {
        if timestamp < 0 {
            return Err(PartitionError::InvalidTimestamp(timestamp));
        }
        let leading = self.leader_at(tp, current_leader_epoch)?;
        let local_start = leading.log().start_offset();
        let view = self.remote_view(&leading.hosted, tp);
        let copy = (view.copies.iter())
            .filter(|c| c.key.base_offset < local_start)
            .find(|c| c.max_timestamp >= timestamp);
        Ok(copy.map(|c| (segment_id(c), leading.epoch, view.log_start)))
    }
}

/// The object-store name of a copy the metadata records.
pub(crate) fn segment_id(copy: &RemoteSegment) -> RemoteSegmentId {
    RemoteSegmentId {
        topic: copy.topic.clone(),
        partition: copy.key.partition,
        topic_id: copy.key.topic_id.to_string(),
        base_offset: copy.key.base_offset,
        upload_id: copy.key.upload_id,
    }
}
