//! What the remote tier holds of a partition, as the metadata records it: where a read of an
//! offset below the local log goes (a consumer is told the copy to read, which the handler
//! reads off the partition's locks; a follower is told OFFSET_MOVED_TO_TIERED_STORAGE and
//! starts over at the leader's local log start instead of copying the remote history), the
//! log start offset over both tiers, and the copy a timestamp lookup reads.

use chronik_metadata::{RemoteCopyState, RemoteSegment};
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

impl PartitionLayer {
    /// The whole copies of `tp`, oldest first.
    pub fn remote_copies(&self, hosted: &Hosted, tp: &TopicPartition) -> Vec<RemoteSegment> {
        self.cluster.metadata(|s| {
            (s.remote_segments(hosted.topic_id, tp.partition))
                .filter(|c| c.state == RemoteCopyState::Copied)
                .cloned()
                .collect()
        })
    }

    /// The copy holding `offset` (the one reaching furthest when several do), and the copies
    /// after it, oldest first.
    pub(super) fn remote_copy_at(
        &self,
        hosted: &Hosted,
        tp: &TopicPartition,
        offset: i64,
    ) -> Option<(RemoteSegment, Vec<RemoteSegmentId>)> {
        let copies = self.remote_copies(hosted, tp);
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
        let remote = (self.remote_copies(hosted, tp).iter())
            .map(|c| c.key.base_offset)
            .min();
        hosted.log.start_offset().min(remote.unwrap_or(i64::MAX))
    }

    /// For ListOffsets by timestamp: the oldest copy below the local log holding a record at
    /// or after `timestamp`, with the leader epoch; `None` when the local log answers.
    pub fn remote_copy_for_timestamp(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: i32,
        timestamp: i64,
    ) -> Result<Option<(RemoteSegmentId, i32)>> {
        if timestamp < 0 {
            return Err(PartitionError::InvalidTimestamp(timestamp));
        }
        let leading = self.leader_at(tp, current_leader_epoch)?;
        let local_start = leading.log().start_offset();
        let copy = (self.remote_copies(&leading.hosted, tp).into_iter())
            .filter(|c| c.key.base_offset < local_start)
            .find(|c| c.max_timestamp >= timestamp);
        Ok(copy.map(|c| (segment_id(&c), leading.epoch)))
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
