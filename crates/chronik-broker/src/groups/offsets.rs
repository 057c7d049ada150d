//! Committed offsets on the coordinator: OffsetCommit and TxnOffsetCommit (with the member
//! checks of either protocol), transaction markers ending transactional offsets, and
//! OffsetFetch.

use std::sync::Arc;

use super::MAX_GROUPS;
use super::api::{CommitEntry, TopicOffsets, check_group_id, created_group};
use super::coordinator::Coordinator;
use super::error::GroupError;
use super::ops::Caller;
use super::records::RecordKey;
use super::store::{KeyValue, Written};

impl Coordinator {
    /// Validates the caller, appends the offsets as one batch and applies them; the handler
    /// answers once the returned handle resolves.
    /// `member_epochs`: the request's version (OffsetCommit 9+) may come from a member of a
    /// consumer-protocol group.
    pub fn commit(
        self: &Arc<Self>,
        group: &str,
        caller: Caller<'_>,
        entries: Vec<CommitEntry>,
        member_epochs: bool,
    ) -> Result<Option<Written>, GroupError> {
        self.commit_offsets(group, caller, entries, None, member_epochs)
    }

    /// TxnOffsetCommit: offsets written inside `producer`'s transaction, as one transactional
    /// batch; they count once its commit marker reaches the group's partition.
    pub fn txn_commit(
        self: &Arc<Self>,
        group: &str,
        producer: (i64, i16),
        caller: Caller<'_>,
        entries: Vec<CommitEntry>,
    ) -> Result<Option<Written>, GroupError> {
        self.commit_offsets(group, caller, entries, Some(producer), true)
    }

    /// A commit, plain or (with `producer`) transactional: the offsets of a transaction wait
    /// in `Group::txn_offsets` for its marker.
    fn commit_offsets(
        self: &Arc<Self>,
        group: &str,
        caller: Caller<'_>,
        entries: Vec<CommitEntry>,
        producer: Option<(i64, i16)>,
        member_epochs: bool,
    ) -> Result<Option<Written>, GroupError> {
        check_group_id(group)?;
        let total = self.group_count();
        self.with_groups(group, |groups, place| {
            if !groups.contains_key(group) && caller.generation >= 0 {
                // A generation of a group this coordinator does not know.
                return Err(GroupError::IllegalGeneration {
                    requested: caller.generation,
                });
            }
            let g = created_group(groups, group, total, MAX_GROUPS)?;
            match &g.consumer {
                Some(cg) => check_consumer_commit(cg, caller, producer.is_some(), member_epochs)?,
                None => g.check_commit(caller, place.now)?,
            }
            if entries.is_empty() {
                return Ok(None);
            }
            let records = offset_records(group, &entries)?;
            let durable = self.append_batch(place, &records, producer)?;
            let target = match producer {
                Some((id, _)) => g.txn_offsets.entry(id).or_default(),
                None => &mut g.offsets,
            };
            for e in entries {
                target.insert((e.topic, e.partition), e.value);
            }
            tracing::debug!(
                group,
                offsets = records.len(),
                transactional = producer.is_some(),
                "offsets committed"
            );
            Ok(Some(durable))
        })?
    }

    /// A transaction marker for `producer_id` reached `__consumer_offsets` partition
    /// `partition` at `offset`: its groups' transactional offsets count (commit) or vanish
    /// (abort). A partition being loaded applies it once loaded, unless the load read it.
    pub fn end_txn(&self, partition: i32, producer_id: i64, commit: bool, offset: i64) {
        let slot = self.slot(partition);
        let mut shard = super::coordinator::lock(&slot);
        match &mut *shard {
            super::coordinator::Shard::Loaded { groups, .. } => {
                for g in groups.values_mut() {
                    g.end_txn(producer_id, commit);
                }
            }
            super::coordinator::Shard::Loading { markers, .. } => {
                markers.push((offset, producer_id, commit));
            }
            super::coordinator::Shard::Unloaded => {}
        }
    }

    /// The partitions of `group` whose offsets an open transaction is changing.
    pub fn unstable_offsets(
        self: &Arc<Self>,
        group: &str,
    ) -> Result<std::collections::HashSet<(String, i32)>, GroupError> {
        self.with_groups(group, |groups, _| {
            let pending = groups.get(group).map(|g| g.txn_offsets.values());
            (pending.into_iter().flatten())
                .flat_map(|o| o.keys().cloned())
                .collect()
        })
    }

    /// Committed offsets of the named partitions, or of every partition when `topics` is None.
    pub fn fetch_offsets(
        self: &Arc<Self>,
        group: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<Vec<TopicOffsets>, GroupError> {
        self.with_groups(group, |groups, _| {
            let offsets = groups.get(group).map(|g| &g.offsets);
            let lookup = |t: &str, p: i32| offsets.and_then(|o| o.get(&(t.to_owned(), p))).cloned();
            match topics {
                Some(topics) => (topics.into_iter())
                    .map(|(t, parts)| {
                        let found = parts.into_iter().map(|p| (p, lookup(&t, p))).collect();
                        (t, found)
                    })
                    .collect(),
                None => {
                    let mut by_topic: Vec<TopicOffsets> = Vec::new();
                    for ((t, p), v) in offsets.into_iter().flatten() {
                        match by_topic.last_mut() {
                            Some((last, parts)) if last == t => parts.push((*p, Some(v.clone()))),
                            _ => by_topic.push((t.clone(), vec![(*p, Some(v.clone()))])),
                        }
                    }
                    by_topic
                }
            }
        })
    }
}

/// Kafka's checks of a commit to a consumer-protocol group: an empty group takes commits
/// from anyone with a negative epoch; otherwise a member at its current epoch, through
/// OffsetCommit 9+ unless transactional (where a stale epoch is ILLEGAL_GENERATION).
fn check_consumer_commit(
    cg: &super::consumer::ConsumerGroup,
    caller: Caller<'_>,
    transactional: bool,
    member_epochs: bool,
) -> Result<(), GroupError> {
    if caller.generation < 0 && cg.members.is_empty() {
        return Ok(());
    }
    let member = cg
        .members
        .get(caller.member_id)
        .ok_or(GroupError::UnknownMember)?;
    if member.classic.is_some() {
        // A classic member (during a migration) commits with its generation, its epoch.
        return match caller.generation == member.epoch {
            true => Ok(()),
            false => Err(GroupError::IllegalGeneration {
                requested: caller.generation,
            }),
        };
    }
    if !transactional && !member_epochs {
        return Err(GroupError::OffsetCommitTooOld);
    }
    match cg.check_offsets_caller(caller.member_id, caller.generation) {
        Err(GroupError::StaleMemberEpoch { requested, .. }) if transactional => {
            Err(GroupError::IllegalGeneration { requested })
        }
        other => other,
    }
}

/// The offset records of a commit.
fn offset_records(group: &str, entries: &[CommitEntry]) -> Result<Vec<KeyValue>, GroupError> {
    let records: Result<Vec<_>, _> = (entries.iter())
        .map(|e| {
            let key = RecordKey::Offset {
                group: group.to_owned(),
                topic: e.topic.clone(),
                partition: e.partition,
            };
            Ok((key.encode()?, Some(e.value.encode()?)))
        })
        .collect();
    records.map_err(|e: super::records::RecordError| {
        tracing::warn!(group, error = %e, "offset commit refused");
        GroupError::InvalidRequest(format!("an offset cannot be stored: {e}"))
    })
}
