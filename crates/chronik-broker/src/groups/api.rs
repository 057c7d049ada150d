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
use super::store::Written;
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
    /// "classic" or "consumer" (ListGroups v5).
    pub group_type: &'static str,
}

/// The group, created if new. At `max` groups a new one is refused with `TooManyGroups`, which
/// clients see as the retriable COORDINATOR_NOT_AVAILABLE (room comes back as empty groups
/// expire), not as GROUP_MAX_SIZE_REACHED, a per-group limit fatal to the Java consumer.
pub(super) fn created_group<'a>(
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
            if g.consumer.as_ref().is_some_and(|cg| !cg.members.is_empty()) {
                return self.classic_join_consumer(g, &req, place);
            }
            if let Some(cg) = &g.consumer {
                // An empty consumer-protocol group becomes classic (its offsets stay).
                let tombstones = super::consumer::store::tombstones(group, cg).map_err(|e| {
                    GroupError::InvalidRequest(format!("the group's records cannot be stored: {e}"))
                })?;
                self.append(place, &tombstones)?;
                tracing::info!(group, "empty consumer group becomes a classic group");
                g.consumer = None;
            }
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
            if let Some(cg) = g.consumer.as_mut() {
                let result = self.classic_sync_consumer(cg, caller, protocol, place.now);
                return Ok((Answer::Now(result), None));
            }
            let answer = g.sync(caller, protocol, assignments, place.now);
            Ok((answer, self.persist_if_dirty(g, place)))
        })?
    }

    pub fn heartbeat(self: &Arc<Self>, group: &str, caller: Caller<'_>) -> Result<(), GroupError> {
        self.with_groups(group, |groups, place| match groups.get_mut(group) {
            Some(g) => match g.consumer.as_mut() {
                Some(cg) => cg.classic_heartbeat(caller, place.now),
                None => g.heartbeat(caller, place.now),
            },
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
            if g.consumer.is_some() {
                return self.classic_leave_consumer(g, leaving, place);
            }
            let outcomes = g.leave(leaving, place.now);
            self.persist_if_dirty(g, place);
            outcomes
        })
    }

    /// A group's description; an unknown group is described as Dead, as Kafka does.
    /// A consumer-protocol group is described as Dead without members, as Kafka's
    /// DescribeGroups does (ConsumerGroupDescribe describes it).
    pub fn describe(self: &Arc<Self>, group: &str) -> Result<GroupSummary, GroupError> {
        self.with_groups(group, |groups, _| match groups.get(group) {
            Some(g) if !g.is_consumer_protocol() => summarize(g, true),
            _ => GroupSummary {
                group_id: group.to_owned(),
                state: GroupState::Dead.name(),
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
                group_type: CLASSIC_TYPE,
            },
        })
    }

    /// Every group this broker coordinates whose state is in `states` and type in `types`
    /// (all when empty; both compared without case).
    pub fn list(
        self: &Arc<Self>,
        states: &[String],
        types: &[String],
    ) -> Result<Vec<GroupSummary>, GroupError> {
        self.all_groups(|g| {
            let summary = summarize(g, false);
            let wanted = |filter: &[String], value: &str| {
                filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(value))
            };
            (wanted(states, summary.state) && wanted(types, summary.group_type)).then_some(summary)
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
            let consumer = g
                .consumer
                .as_ref()
                .map(|cg| super::consumer::store::tombstones(group, cg));
            let records = (records.and_then(|mut r| {
                r.extend(consumer.transpose()?.into_iter().flatten());
                Ok(r)
            }))
            .map_err(|e| {
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

/// ListGroups' group types.
const CLASSIC_TYPE: &str = "classic";
const CONSUMER_TYPE: &str = "consumer";

fn summarize(g: &Group, with_members: bool) -> GroupSummary {
    if let Some(cg) = &g.consumer {
        return GroupSummary {
            group_id: g.id.clone(),
            state: cg.state().name(),
            protocol_type: super::consumer::PROTOCOL_TYPE.to_owned(),
            protocol: String::new(),
            members: Vec::new(),
            group_type: CONSUMER_TYPE,
        };
    }
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
        group_type: CLASSIC_TYPE,
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
