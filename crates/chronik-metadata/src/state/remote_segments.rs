//! The remote copies of partition segments (tiered storage) in the state: applying
//! RemoteSegmentChange records and restoring the copies from a snapshot with the same checks.
//! A copy goes COPY_STARTED → COPIED → DELETE_STARTED → gone (or COPY_STARTED →
//! DELETE_STARTED when an upload is abandoned), each step by the partition's current leader.

use std::collections::BTreeMap;

use crate::Result;
use crate::error::StateError;
use crate::ids::{TopicId, Uuid};
use crate::proto::{RemoteSegmentChange, RemoteSegmentState};
use crate::state::MetadataState;

/// Names one upload of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RemoteSegmentKey {
    pub topic_id: TopicId,
    pub partition: i32,
    pub base_offset: i64,
    pub upload_id: u64,
}

/// Where a copy stands; a deleted copy leaves the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteCopyState {
    /// Its objects are being written: not readable, not yet a reason to drop the local segment.
    CopyStarted,
    /// Whole in the store: readers may use it, and the local segment may be deleted.
    Copied,
    /// Being removed from the store: no longer read.
    DeleteStarted,
}

/// One remote copy of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSegment {
    pub key: RemoteSegmentKey,
    /// The topic's name when the copy started, which its object keys hold.
    pub topic: String,
    pub state: RemoteCopyState,
    /// The leader epoch of the copy's last change.
    pub leader_epoch: i32,
    /// One past the last offset the copy holds.
    pub next_offset: i64,
    pub max_timestamp: i64,
    pub size_bytes: u64,
}

pub(crate) type RemoteSegments = BTreeMap<RemoteSegmentKey, RemoteSegment>;

/// What a valid record does to the copies.
enum Step {
    Insert(RemoteSegment),
    Move(RemoteSegmentKey, RemoteCopyState),
    Remove(RemoteSegmentKey),
}

impl MetadataState {
    /// The copies of one partition's segments, by base offset, then upload id.
    pub fn remote_segments(
        &self,
        topic_id: TopicId,
        partition: i32,
    ) -> impl Iterator<Item = &RemoteSegment> {
        let key = |base_offset, upload_id| RemoteSegmentKey {
            topic_id,
            partition,
            base_offset,
            upload_id,
        };
        self.remote_segments
            .range(key(i64::MIN, 0)..=key(i64::MAX, u64::MAX))
            .map(|(_, s)| s)
    }

    /// The copies of topics that no longer exist: still to be removed from the store.
    pub fn orphaned_remote_segments(&self) -> impl Iterator<Item = &RemoteSegment> {
        self.remote_segments
            .values()
            .filter(|s| !self.topics.contains_key(&s.key.topic_id))
    }

    pub(crate) fn change_remote_segment(&mut self, r: &RemoteSegmentChange) -> Result<()> {
        match self.remote_step(r)? {
            Step::Insert(segment) => {
                self.remote_segments.insert(segment.key, segment);
            }
            Step::Move(key, state) => {
                if let Some(segment) = self.remote_segments.get_mut(&key) {
                    segment.state = state;
                    segment.leader_epoch = r.leader_epoch;
                }
            }
            Step::Remove(key) => {
                self.remote_segments.remove(&key);
            }
        }
        Ok(())
    }

    /// Whether the state shows `r` applied: the copy in `r`'s state, or gone after DELETED.
    pub fn shows_remote_segment_change(&self, r: &RemoteSegmentChange) -> bool {
        let Ok(key) = key_of(r) else {
            return false;
        };
        let now = self.remote_segments.get(&key).map(|s| wire_state(s.state));
        match RemoteSegmentState::try_from(r.state) {
            Ok(RemoteSegmentState::RemoteSegmentDeleted) => now.is_none(),
            Ok(to) => now == Some(to),
            Err(_) => false,
        }
    }

    /// Whether the record would apply, changing nothing: for the controller, before it
    /// proposes one.
    pub fn check_remote_segment_change(&self, r: &RemoteSegmentChange) -> Result<()> {
        self.remote_step(r).map(drop)
    }

    fn remote_step(&self, r: &RemoteSegmentChange) -> Result<Step> {
        let key = key_of(r)?;
        let to = RemoteSegmentState::try_from(r.state)
            .map_err(|_| invalid(&key, format!("unknown state {}", r.state)))?;
        self.check_leader(&key, r.leader_epoch, to)?;
        let current = self.remote_segments.get(&key).map(|s| s.state);
        use RemoteCopyState::*;
        Ok(match (current, to) {
            (None, RemoteSegmentState::RemoteSegmentCopyStarted) => {
                Step::Insert(segment_of(key, r, CopyStarted)?)
            }
            (Some(CopyStarted), RemoteSegmentState::RemoteSegmentCopied) => Step::Move(key, Copied),
            (Some(CopyStarted | Copied), RemoteSegmentState::RemoteSegmentDeleteStarted) => {
                Step::Move(key, DeleteStarted)
            }
            (Some(DeleteStarted), RemoteSegmentState::RemoteSegmentDeleted) => Step::Remove(key),
            (from, to) => {
                return Err(invalid(
                    &key,
                    format!(
                        "cannot go from {} to {}",
                        from.map_or("no copy", state_name),
                        to.as_str_name()
                    ),
                ));
            }
        })
    }

    /// Only the partition's current leader changes its copies; a deleted topic's copies
    /// can only be deleted.
    fn check_leader(
        &self,
        key: &RemoteSegmentKey,
        epoch: i32,
        to: RemoteSegmentState,
    ) -> Result<()> {
        if !self.topics.contains_key(&key.topic_id) {
            return match to {
                RemoteSegmentState::RemoteSegmentDeleteStarted
                | RemoteSegmentState::RemoteSegmentDeleted => Ok(()),
                _ => Err(StateError::UnknownTopicId(key.topic_id)),
            };
        }
        let (_, partition) = self.topic_partition(key.topic_id, key.partition)?;
        if epoch != partition.leader_epoch {
            return Err(invalid(
                key,
                format!(
                    "changed at leader epoch {epoch}, but the partition's leader epoch is {}",
                    partition.leader_epoch
                ),
            ));
        }
        Ok(())
    }
}

fn key_of(r: &RemoteSegmentChange) -> Result<RemoteSegmentKey> {
    let key = RemoteSegmentKey {
        topic_id: Uuid::from_field("topic_id", &r.topic_id)?,
        partition: r.partition,
        base_offset: r.base_offset,
        upload_id: r.upload_id,
    };
    if key.partition < 0 || key.base_offset < 0 {
        return Err(invalid(&key, "negative partition or base offset".into()));
    }
    Ok(key)
}

fn segment_of(
    key: RemoteSegmentKey,
    r: &RemoteSegmentChange,
    state: RemoteCopyState,
) -> Result<RemoteSegment> {
    chronik_types::validate_topic_name(&r.topic).map_err(|e| invalid(&key, e.to_string()))?;
    if r.next_offset <= key.base_offset || r.size_bytes == 0 {
        return Err(invalid(
            &key,
            format!(
                "a copy holds at least one offset and byte (next offset {}, {} bytes)",
                r.next_offset, r.size_bytes
            ),
        ));
    }
    Ok(RemoteSegment {
        key,
        topic: r.topic.clone(),
        state,
        leader_epoch: r.leader_epoch,
        next_offset: r.next_offset,
        max_timestamp: r.max_timestamp,
        size_bytes: r.size_bytes,
    })
}

fn invalid(key: &RemoteSegmentKey, reason: String) -> StateError {
    StateError::InvalidRemoteSegment {
        segment: format!(
            "{}-{} at {} (upload {:x})",
            key.topic_id, key.partition, key.base_offset, key.upload_id
        ),
        reason,
    }
}

fn state_name(state: RemoteCopyState) -> &'static str {
    wire_state(state).as_str_name()
}

fn wire_state(state: RemoteCopyState) -> RemoteSegmentState {
    match state {
        RemoteCopyState::CopyStarted => RemoteSegmentState::RemoteSegmentCopyStarted,
        RemoteCopyState::Copied => RemoteSegmentState::RemoteSegmentCopied,
        RemoteCopyState::DeleteStarted => RemoteSegmentState::RemoteSegmentDeleteStarted,
    }
}

/// The copies as a snapshot lists them, in the state's order.
pub(crate) fn remote_segment_snapshots(segments: &RemoteSegments) -> Vec<RemoteSegmentChange> {
    segments
        .values()
        .map(|s| RemoteSegmentChange {
            topic_id: s.key.topic_id.to_vec(),
            partition: s.key.partition,
            base_offset: s.key.base_offset,
            upload_id: s.key.upload_id,
            state: wire_state(s.state) as i32,
            leader_epoch: s.leader_epoch,
            next_offset: s.next_offset,
            max_timestamp: s.max_timestamp,
            size_bytes: s.size_bytes,
            topic: s.topic.clone(),
        })
        .collect()
}

/// Restores the copies of a snapshot, with the checks a record gets; they must come in the
/// state's order, once each.
pub(crate) fn restore_remote_segments(snapshots: &[RemoteSegmentChange]) -> Result<RemoteSegments> {
    let mut segments = RemoteSegments::new();
    for r in snapshots {
        let key = key_of(r)?;
        let state = match RemoteSegmentState::try_from(r.state) {
            Ok(RemoteSegmentState::RemoteSegmentCopyStarted) => RemoteCopyState::CopyStarted,
            Ok(RemoteSegmentState::RemoteSegmentCopied) => RemoteCopyState::Copied,
            Ok(RemoteSegmentState::RemoteSegmentDeleteStarted) => RemoteCopyState::DeleteStarted,
            _ => {
                return Err(StateError::InvalidSnapshot(format!(
                    "remote segment {key:?} in state {}",
                    r.state
                )));
            }
        };
        if segments
            .last_key_value()
            .is_some_and(|(last, _)| *last >= key)
        {
            return Err(StateError::InvalidSnapshot(format!(
                "remote segment {key:?} out of order or listed twice"
            )));
        }
        segments.insert(key, segment_of(key, r, state)?);
    }
    Ok(segments)
}
