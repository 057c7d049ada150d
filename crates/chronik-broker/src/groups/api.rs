//! What the group handlers call: one method per request kind, each returning either the
//! answer or why the whole group request was refused.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::coordinator::Coordinator;
use super::error::GroupError;
use super::group::Group;
use super::member::{Answer, GroupState, JoinRequest, JoinResult, SyncResult};
use super::ops::{Caller, Leaving};
use super::records::{OffsetValue, RecordKey};
use super::store::{KeyValue, Written};
use super::{
    MAX_GROUPS, MAX_MEMBER_METADATA_BYTES, MAX_MEMBERS, MAX_SESSION_TIMEOUT_MS, MAX_STRING_BYTES,
    MIN_SESSION_TIMEOUT_MS,
};

/// One offset to commit.
#[derive(Debug, Clone)]
pub(crate) struct CommitEntry {
    pub topic: String,
    pub partition: i32,
    pub value: OffsetValue,
}

/// Committed offsets of one topic: (partition, offset) with `None` for "none committed".
pub(crate) type TopicOffsets = (String, Vec<(i32, Option<OffsetValue>)>);

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub(crate) struct MemberSummary {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as DescribeGroups and ListGroups show it.
#[derive(Debug, Clone)]
pub(crate) struct GroupSummary {
    pub group_id: String,
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberSummary>,
}

/// The group, created if new. At `max` groups a new one is refused with `TooManyGroups`, which
/// clients see as the retriable COORDINATOR_NOT_AVAILABLE (room comes back as empty groups
/// expire), not as GROUP_MAX_SIZE_REACHED, a per-group limit fatal to the Java consumer.
fn created_group<'a>(
    groups: &'a mut HashMap<String, Group>,
    id: &str,
    total: usize,
    max: usize,
) -> Result<&'a mut Group, GroupError> {
    if !groups.contains_key(id) {
        if total >= max {
            tracing::warn!(
                group = id,
                limit = max,
                "group limit reached; refusing a new group until empty groups expire"
            );
            return Err(GroupError::TooManyGroups { limit: max });
        }
        tracing::info!(group = id, "group created");
        groups.insert(id.to_owned(), Group::new(id));
    }
    groups.get_mut(id).ok_or(GroupError::GroupUnavailable)
}

/// A group id a group can be stored under: non-empty and short enough for a record.
pub(super) fn check_group_id(group: &str) -> Result<(), GroupError> {
    if group.is_empty() || group.len() > MAX_STRING_BYTES {
        return Err(GroupError::InvalidGroupId);
    }
    Ok(())
}

/// What a JoinGroup must satisfy before it reaches the group: every string it stores fits a
/// record, its metadata is bounded, and its session timeout is within Kafka's limits.
pub(super) fn check_join(group: &str, req: &JoinRequest) -> Result<(), GroupError> {
    check_group_id(group)?;
    let strings = [
        ("member id", req.member_id.len()),
        (
            "instance id",
            req.instance_id.as_ref().map_or(0, String::len),
        ),
        ("client id", req.client_id.len()),
        ("client host", req.client_host.len()),
        ("protocol type", req.protocol_type.len()),
    ];
    let names = (req.protocols.iter()).map(|p| ("protocol name", p.name.len()));
    if let Some((what, len)) =
        (strings.into_iter().chain(names)).find(|(_, n)| *n > MAX_STRING_BYTES)
    {
        tracing::warn!(
            group,
            what,
            len,
            limit = MAX_STRING_BYTES,
            "JoinGroup refused"
        );
        return Err(match what {
            // No member id this coordinator hands out is that long.
            "member id" => GroupError::UnknownMember,
            _ => GroupError::InvalidRequest(format!(
                "the {what} is {len} bytes, longer than {MAX_STRING_BYTES}"
            )),
        });
    }
    let metadata: usize = req.protocols.iter().map(|p| p.metadata.len()).sum();
    if metadata > MAX_MEMBER_METADATA_BYTES {
        tracing::warn!(
            group,
            bytes = metadata,
            limit = MAX_MEMBER_METADATA_BYTES,
            "JoinGroup refused: protocol metadata too large"
        );
        return Err(GroupError::InvalidRequest(format!(
            "the protocol metadata is {metadata} bytes, more than {MAX_MEMBER_METADATA_BYTES}"
        )));
    }
    let timeout_ms = req.session_timeout_ms;
    if !(MIN_SESSION_TIMEOUT_MS..=MAX_SESSION_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(GroupError::InvalidSessionTimeout { timeout_ms });
    }
    Ok(())
}

impl Coordinator {
    pub fn join(
        self: &Arc<Self>,
        group: &str,
        req: JoinRequest,
    ) -> Result<Answer<JoinResult>, GroupError> {
        check_join(group, &req)?;
        let total = self.group_count();
        self.with_groups(group, |groups, place| {
            let g = created_group(groups, group, total, MAX_GROUPS)?;
            // Only a join opens a rebalance of an Empty group, the one the delay applies to.
            g.initial_rebalance_delay = self.initial_rebalance_delay_ms;
            let answer = g.join(req, place.now, MAX_MEMBERS);
            self.persist_if_dirty(g, place);
            Ok(answer)
        })?
    }

    /// A SyncGroup; the durable handle (if any) covers the membership record the leader's
    /// assignment produced.
    pub fn sync(
        self: &Arc<Self>,
        group: &str,
        caller: Caller<'_>,
        protocol: (Option<&str>, Option<&str>),
        assignments: Vec<(String, Bytes)>,
    ) -> Result<(Answer<SyncResult>, Option<Written>), GroupError> {
        self.with_groups(group, |groups, place| {
            let Some(g) = groups.get_mut(group) else {
                return Err(GroupError::UnknownMember);
            };
            let answer = g.sync(caller, protocol, assignments, place.now);
            Ok((answer, self.persist_if_dirty(g, place)))
        })?
    }

    pub fn heartbeat(self: &Arc<Self>, group: &str, caller: Caller<'_>) -> Result<(), GroupError> {
        self.with_groups(group, |groups, place| match groups.get_mut(group) {
            Some(g) => g.heartbeat(caller, place.now),
            None => Err(GroupError::UnknownMember),
        })?
    }

    /// A LeaveGroup: one outcome per member named, in order.
    pub fn leave(
        self: &Arc<Self>,
        group: &str,
        leaving: &[Leaving],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        self.with_groups(group, |groups, place| {
            let Some(g) = groups.get_mut(group) else {
                return vec![Err(GroupError::UnknownMember); leaving.len()];
            };
            let outcomes = g.leave(leaving, place.now);
            self.persist_if_dirty(g, place);
            outcomes
        })
    }

    /// Validates the caller, appends the offsets as one batch and applies them; the handler
    /// answers once the returned handle resolves.
    pub fn commit(
        self: &Arc<Self>,
        group: &str,
        caller: Caller<'_>,
        entries: Vec<CommitEntry>,
    ) -> Result<Option<Written>, GroupError> {
        self.commit_offsets(group, caller, entries, None)
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
        self.commit_offsets(group, caller, entries, Some(producer))
    }

    /// A commit, plain or (with `producer`) transactional: the offsets of a transaction wait
    /// in `Group::txn_offsets` for its marker.
    fn commit_offsets(
        self: &Arc<Self>,
        group: &str,
        caller: Caller<'_>,
        entries: Vec<CommitEntry>,
        producer: Option<(i64, i16)>,
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
            g.check_commit(caller, place.now)?;
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

    /// A group's description; an unknown group is described as Dead, as Kafka does.
    pub fn describe(self: &Arc<Self>, group: &str) -> Result<GroupSummary, GroupError> {
        self.with_groups(group, |groups, _| match groups.get(group) {
            Some(g) => summarize(g, true),
            None => GroupSummary {
                group_id: group.to_owned(),
                state: GroupState::Dead.name(),
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            },
        })
    }

    /// Every group this broker coordinates whose state is in `states` (all when empty).
    pub fn list(self: &Arc<Self>, states: &[String]) -> Result<Vec<GroupSummary>, GroupError> {
        self.all_groups(|g| {
            let wanted = states.is_empty()
                || (states.iter()).any(|s| s.eq_ignore_ascii_case(g.state.name()));
            wanted.then(|| summarize(g, false))
        })
    }

    /// Deletes an empty group and its offsets (tombstones for every key).
    pub fn delete(self: &Arc<Self>, group: &str) -> Result<Written, GroupError> {
        self.with_groups(group, |groups, place| {
            let Some(g) = groups.get(group) else {
                return Err(GroupError::GroupIdNotFound);
            };
            if !g.is_empty() || !g.pending.is_empty() {
                return Err(GroupError::NonEmptyGroup);
            }
            let keys = (g.offsets.keys())
                .map(|(topic, partition)| RecordKey::Offset {
                    group: group.to_owned(),
                    topic: topic.clone(),
                    partition: *partition,
                })
                .chain([RecordKey::Group {
                    group: group.to_owned(),
                }]);
            let records: Result<Vec<_>, _> = keys.map(|k| k.encode().map(|b| (b, None))).collect();
            let records = records.map_err(|e| {
                tracing::error!(group, error = %e, "cannot encode tombstones");
                GroupError::InvalidGroupId
            })?;
            let durable = self.append(place, &records)?;
            groups.remove(group);
            tracing::info!(group, "group deleted");
            Ok(durable)
        })?
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

fn summarize(g: &Group, with_members: bool) -> GroupSummary {
    let stable = g.state == GroupState::Stable;
    let protocol = g.protocol.clone().unwrap_or_default();
    let members = match with_members {
        true => (g.members.values())
            .map(|m| MemberSummary {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: if stable {
                    m.metadata_for(&protocol)
                } else {
                    Bytes::new()
                },
                assignment: if stable {
                    m.assignment.clone()
                } else {
                    Bytes::new()
                },
            })
            .collect(),
        false => Vec::new(),
    };
    GroupSummary {
        group_id: g.id.clone(),
        state: g.state.name(),
        protocol_type: g.protocol_type.clone().unwrap_or_default(),
        protocol: if stable { protocol } else { String::new() },
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join_req() -> JoinRequest {
        JoinRequest::for_test("consumer", Bytes::from_static(b"sub"))
    }

    #[test]
    fn over_long_ids_and_oversized_metadata_are_refused() {
        let long = "x".repeat(MAX_STRING_BYTES + 1);
        assert_eq!(check_join("g", &join_req()), Ok(()));
        let invalid_group = Err(GroupError::InvalidGroupId);
        assert_eq!(check_join(&long, &join_req()), invalid_group);
        assert_eq!(check_join("", &join_req()), invalid_group);
        assert_eq!(check_group_id(&long), invalid_group);
        let mut r = join_req();
        r.instance_id = Some(long.clone());
        assert!(matches!(
            check_join("g", &r),
            Err(GroupError::InvalidRequest(_))
        ));
        let mut r = join_req();
        r.member_id = long;
        assert_eq!(check_join("g", &r), Err(GroupError::UnknownMember));
        let mut r = join_req();
        r.protocols[0].metadata = Bytes::from(vec![0; MAX_MEMBER_METADATA_BYTES + 1]);
        assert!(matches!(
            check_join("g", &r),
            Err(GroupError::InvalidRequest(_))
        ));
        let mut r = join_req();
        r.session_timeout_ms = MIN_SESSION_TIMEOUT_MS - 1;
        assert_eq!(
            check_join("g", &r),
            Err(GroupError::InvalidSessionTimeout {
                timeout_ms: MIN_SESSION_TIMEOUT_MS - 1
            })
        );
        let id = crate::groups::new_member_id(&"é".repeat(MAX_STRING_BYTES));
        assert!(
            id.len() <= MAX_STRING_BYTES,
            "a generated member id always fits"
        );
    }

    #[test]
    fn a_full_coordinator_refuses_new_groups_with_a_retriable_error() {
        let mut groups = HashMap::new();
        assert!(created_group(&mut groups, "a", 0, 1).is_ok());
        assert!(
            created_group(&mut groups, "a", 1, 1).is_ok(),
            "existing group"
        );
        let refused = created_group(&mut groups, "b", 1, 1).map(|_| ());
        assert_eq!(refused, Err(GroupError::TooManyGroups { limit: 1 }));
    }
}
