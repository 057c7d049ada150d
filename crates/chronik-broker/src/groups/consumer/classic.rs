//! Members of the classic protocol inside a consumer group, so a group migrates between the
//! protocols while it runs (Kafka's bidirectional `group.consumer.migration.policy`): their
//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup are answered from the consumer group's
//! state, with its member epoch as their generation; and a classic group's members become
//! such members when a consumer-protocol member joins (online upgrade).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use chronik_kafka::kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use chronik_kafka::kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use chronik_kafka::kafka_protocol::protocol::{Encodable, StrBytes};
use chronik_metadata::TopicId;

use super::PROTOCOL_TYPE;
use super::assignment::Assignment;
use super::group::{Changes, ConsumerConfig, ConsumerGroup, Step, TopicsView};
use super::member::{ClassicMember, ConsumerMember, MemberState};
use crate::groups::error::GroupError;
use crate::groups::group::Group;
use crate::groups::member::{JoinRequest, JoinResult, Ms, ms};
use crate::groups::ops::{Caller, Leaving};

/// Newest ConsumerProtocol subscription and assignment format (later ones only add fields).
const CONSUMER_PROTOCOL_MAX: i16 = 3;

/// What a classic consumer's protocol metadata says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClassicSubscription {
    pub topics: Vec<String>,
    /// (topic, partition) it owns (ConsumerProtocol v1+; cooperative clients fill it).
    pub owned: Vec<(String, i32)>,
    pub rack: Option<String>,
}

/// Reads a ConsumerProtocolSubscription (its i16 version first); `None` when unreadable.
pub(crate) fn decode_subscription(metadata: &Bytes) -> Option<ClassicSubscription> {
    let mut data = metadata.clone();
    if data.remaining() < 2 {
        return None;
    }
    let version = data.get_i16();
    if version < 0 {
        return None;
    }
    let sub: ConsumerProtocolSubscription =
        chronik_kafka::decode_guarded(data, version.min(CONSUMER_PROTOCOL_MAX), false).ok()?;
    Some(ClassicSubscription {
        topics: sub.topics.iter().map(|t| t.to_string()).collect(),
        owned: (sub.owned_partitions.iter())
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.0.to_string(), *p)))
            .collect(),
        rack: sub.rack_id.map(|r| r.to_string()),
    })
}

/// Reads a ConsumerProtocolAssignment as (topic, partition) pairs; `None` when unreadable.
pub(crate) fn decode_assignment(bytes: &Bytes) -> Option<Vec<(String, i32)>> {
    let mut data = bytes.clone();
    if data.remaining() < 2 {
        return None;
    }
    let version = data.get_i16();
    if version < 0 {
        return None;
    }
    let a: ConsumerProtocolAssignment =
        chronik_kafka::decode_guarded(data, version.min(CONSUMER_PROTOCOL_MAX), false).ok()?;
    Some(
        (a.assigned_partitions.iter())
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.0.to_string(), *p)))
            .collect(),
    )
}

/// `assigned` as the ConsumerProtocolAssignment a classic member reads from SyncGroup, in
/// the format version of its subscription; topics no longer known are left out.
pub(crate) fn encode_assignment(
    assigned: &Assignment,
    version: i16,
    name_of: &dyn Fn(&TopicId) -> Option<String>,
) -> Bytes {
    let topics = (assigned.0.iter())
        .filter_map(|(id, partitions)| {
            let name = name_of(id)?;
            Some(
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(name)))
                    .with_partitions(partitions.iter().copied().collect()),
            )
        })
        .collect();
    let body = ConsumerProtocolAssignment::default().with_assigned_partitions(topics);
    let mut out = BytesMut::new();
    out.put_i16(version);
    // Every field exists in every version: encoding cannot fail on content.
    if body.encode(&mut out, version).is_err() {
        out.truncate(2);
    }
    out.freeze()
}

/// The ConsumerProtocol version of a member's protocol metadata (its first i16, at most the
/// newest known): its SyncGroup assignment is written in it.
pub(crate) fn metadata_version(metadata: &Bytes) -> i16 {
    let mut data = metadata.clone();
    match data.remaining() >= 2 {
        true => data.get_i16().clamp(0, CONSUMER_PROTOCOL_MAX),
        false => 0,
    }
}

/// `pairs` named by topic, as ids of topics in `topics`.
fn by_id(pairs: &[(String, i32)], topics: &TopicsView) -> Assignment {
    Assignment::from_pairs(
        pairs
            .iter()
            .filter_map(|(t, p)| topics.get(t).map(|(id, _)| (*id, *p))),
    )
}

impl ConsumerGroup {
    /// Whether one of `protocols` is supported by every classic member.
    fn supports_classic(&self, names: &[&str]) -> bool {
        let classic: Vec<&ClassicMember> = self
            .members
            .values()
            .filter_map(|m| m.classic.as_ref())
            .collect();
        names.iter().any(|n| {
            classic
                .iter()
                .all(|c| c.protocols.iter().any(|p| p.name == *n))
        })
    }

    /// A classic member's JoinGroup: answered at once (everyone is a follower; the coordinator
    /// assigns), with its member epoch as the generation.
    pub fn classic_join(
        &mut self,
        req: &JoinRequest,
        topics: &TopicsView,
        config: &ConsumerConfig,
        now: Ms,
        changes: &mut Changes,
    ) -> Result<JoinResult, GroupError> {
        let names: Vec<&str> = req.protocols.iter().map(|p| p.name.as_str()).collect();
        let first = req
            .protocols
            .first()
            .ok_or(GroupError::InconsistentProtocol)?;
        if req.protocol_type != PROTOCOL_TYPE || !self.supports_classic(&names) {
            return Err(GroupError::InconsistentProtocol);
        }
        let sub = decode_subscription(&first.metadata).ok_or(GroupError::InconsistentProtocol)?;
        let id = match req.member_id.is_empty() {
            true => req.fresh_member_id.clone(),
            false => req.member_id.clone(),
        };
        if req.member_id.is_empty() && req.instance_id.is_none() && req.require_known_member_id {
            return Ok(JoinResult::error(GroupError::MemberIdRequired, &id));
        }
        let holder = (req.instance_id.as_ref())
            .and_then(|i| self.static_members.get(i))
            .and_then(|h| self.members.get(h))
            .cloned();
        let (before, replaced) = match holder {
            Some(old) if old.id != id => {
                let mut taken = old.clone();
                taken.id.clone_from(&id);
                taken.epoch = 0;
                taken.previous_epoch = 0;
                (taken, Some(old))
            }
            Some(same) => (same, None),
            None => match self.members.get(&id) {
                Some(m) => (m.clone(), None),
                None if self.members.len() >= config.max_members => {
                    return Err(GroupError::GroupFull {
                        limit: config.max_members,
                    });
                }
                None => (ConsumerMember::new(id), None),
            },
        };
        let mut updated = before.clone();
        let mut topics_sorted = sub.topics.clone();
        topics_sorted.sort();
        topics_sorted.dedup();
        updated.subscribed_topics = topics_sorted;
        updated.subscribed_regex = None;
        updated.rack_id = sub.rack.clone();
        updated.instance_id.clone_from(&req.instance_id);
        updated.rebalance_timeout_ms = req.rebalance_timeout_ms;
        updated.client_id.clone_from(&req.client_id);
        updated.client_host.clone_from(&req.client_host);
        updated.classic = Some(ClassicMember {
            session_timeout_ms: req.session_timeout_ms,
            protocols: req.protocols.clone(),
        });
        let owned = by_id(&sub.owned, topics);
        let step = Step {
            before: &before,
            replaced: replaced.as_ref(),
            owned: Some(&owned),
            session_timeout_ms: req.session_timeout_ms,
        };
        let (member, _) = self.apply(updated, step, topics, config, now, changes);
        Ok(JoinResult {
            error: None,
            generation: member.epoch,
            protocol_type: Some(PROTOCOL_TYPE.to_owned()),
            protocol_name: Some(first.name.clone()),
            leader: String::new(),
            member_id: member.id,
            skip_assignment: false,
            members: Vec::new(),
        })
    }

    /// The classic member a SyncGroup or Heartbeat names, checked as Kafka checks it.
    fn classic_member(&self, caller: Caller<'_>) -> Result<&ConsumerMember, GroupError> {
        let member = match caller.instance_id {
            Some(instance) => {
                let holder = (self.static_members.get(instance))
                    .and_then(|id| self.members.get(id))
                    .ok_or(GroupError::UnknownMember)?;
                if holder.id != caller.member_id {
                    return Err(GroupError::FencedInstance);
                }
                holder
            }
            None => (self.members.get(caller.member_id)).ok_or(GroupError::UnknownMember)?,
        };
        if member.classic.is_none() {
            return Err(GroupError::UnknownMember);
        }
        if caller.generation != member.epoch {
            return Err(GroupError::IllegalGeneration {
                requested: caller.generation,
            });
        }
        Ok(member)
    }

    fn touch(&mut self, id: &str, now: Ms) {
        if let Some(m) = self.members.get_mut(id) {
            let session = m.classic.as_ref().map_or(0, |c| c.session_timeout_ms);
            m.session_deadline = now + ms(session);
        }
    }

    /// A classic member's SyncGroup: its current assignment (what it may consume now) and
    /// the format version to write it in, or REBALANCE_IN_PROGRESS when the group moved on.
    pub fn classic_sync(
        &mut self,
        caller: Caller<'_>,
        protocol: (Option<&str>, Option<&str>),
        now: Ms,
    ) -> Result<(Assignment, String, i16), GroupError> {
        let m = self.classic_member(caller)?;
        let first = (m.classic.as_ref())
            .and_then(|c| c.protocols.first())
            .ok_or(GroupError::InconsistentProtocol)?;
        if protocol.0.is_some_and(|t| t != PROTOCOL_TYPE)
            || protocol.1.is_some_and(|n| n != first.name)
        {
            return Err(GroupError::InconsistentProtocol);
        }
        if self.epoch > m.epoch && m.state != MemberState::UnrevokedPartitions {
            return Err(GroupError::RebalanceInProgress);
        }
        let answer = (
            m.assigned.clone(),
            first.name.clone(),
            metadata_version(&first.metadata),
        );
        let id = m.id.clone();
        self.touch(&id, now);
        Ok(answer)
    }

    /// A classic member's Heartbeat: REBALANCE_IN_PROGRESS tells it to rejoin when its
    /// assignment must change (the group moved on, it must revoke, or what it waits for was
    /// released).
    pub fn classic_heartbeat(&mut self, caller: Caller<'_>, now: Ms) -> Result<(), GroupError> {
        let m = self.classic_member(caller)?;
        let target = self.targets.get(&m.id).cloned().unwrap_or_default();
        let released = (target.difference(&m.assigned).pairs())
            .any(|tp| self.owners.get(&tp).is_none_or(|h| *h == m.id));
        let rejoin = m.epoch < self.epoch
            || m.state == MemberState::UnrevokedPartitions
            || (m.state == MemberState::UnreleasedPartitions && released);
        let id = m.id.clone();
        self.touch(&id, now);
        match rejoin {
            true => Err(GroupError::RebalanceInProgress),
            false => Ok(()),
        }
    }

    /// A classic LeaveGroup's member: removed like a consumer-protocol member that left.
    pub fn classic_leave(
        &mut self,
        who: &Leaving,
        changes: &mut Changes,
    ) -> Result<(), GroupError> {
        let member = match &who.instance_id {
            Some(instance) => {
                let holder = (self.static_members.get(instance))
                    .and_then(|id| self.members.get(id))
                    .ok_or(GroupError::UnknownMember)?;
                if !who.member_id.is_empty() && who.member_id != holder.id {
                    return Err(GroupError::FencedInstance);
                }
                holder
            }
            None => (self.members.get(&who.member_id)).ok_or(GroupError::UnknownMember)?,
        };
        if member.classic.is_none() {
            return Err(GroupError::UnknownMember);
        }
        let id = member.id.clone();
        self.remove_member(&id, changes);
        Ok(())
    }

    /// The consumer group a classic group's members form when a consumer-protocol member
    /// joins it (online upgrade): each keeps its assignment as its target, the generation
    /// becomes the group and member epochs. `None` when a subscription or an assignment
    /// cannot be read, or the group never chose a protocol.
    pub fn from_classic(group: &Group, topics: &TopicsView, now: Ms) -> Option<ConsumerGroup> {
        let protocol = group.protocol.as_deref()?;
        let mut cg = ConsumerGroup::default();
        cg.epoch = group.generation;
        cg.assignment_epoch = group.generation;
        for m in group.members.values() {
            let sub = decode_subscription(&m.metadata_for(protocol))?;
            let assigned = match m.assignment.is_empty() {
                true => Assignment::default(),
                false => by_id(&decode_assignment(&m.assignment)?, topics),
            };
            let mut member = ConsumerMember::new(m.id.clone());
            member.instance_id.clone_from(&m.instance_id);
            member.rack_id = sub.rack;
            member.client_id.clone_from(&m.client_id);
            member.client_host.clone_from(&m.client_host);
            member.subscribed_topics = sub.topics;
            member.subscribed_topics.sort();
            member.subscribed_topics.dedup();
            member.rebalance_timeout_ms = m.rebalance_timeout_ms;
            member.epoch = group.generation;
            member.previous_epoch = group.generation;
            member.assigned = assigned.clone();
            member.session_deadline = now + ms(m.session_timeout_ms);
            member.classic = Some(ClassicMember {
                session_timeout_ms: m.session_timeout_ms,
                protocols: m.protocols.clone(),
            });
            cg.targets.insert(m.id.clone(), assigned);
            cg.members.insert(m.id.clone(), member);
        }
        cg.rebuild_owners();
        cg.subscription = cg.resolve_subscription(topics);
        Some(cg)
    }

    /// Whether only classic members are left (and some are): the group goes back to the
    /// classic protocol (online downgrade).
    pub fn only_classic_left(&self) -> bool {
        !self.members.is_empty() && self.members.values().all(|m| m.classic.is_some())
    }
}
