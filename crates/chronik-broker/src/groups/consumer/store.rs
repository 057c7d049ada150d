//! A consumer group's records: what a step writes (in Kafka's order, so a Kafka tool or a
//! reload replays them the same way) and how a load replays them.

use bytes::Bytes;

use super::assignment::Assignment;
use super::group::{Changes, ConsumerGroup};
use super::member::{ClassicMember, ConsumerMember, MemberState};
use super::records::{
    ClassicMemberMetadata, CurrentAssignmentValue, GroupEpochValue, MemberMetadataValue,
    PartitionMetadataValue, TargetEpochValue, TargetMemberValue, TopicMetadata,
};
use crate::groups::member::Protocol;
use crate::groups::records::{GroupRecord, MemberRecord, RecordError, RecordKey};
use crate::groups::store::KeyValue;

fn group_key(kind: GroupRecord, group: &str) -> Result<Bytes, RecordError> {
    RecordKey::ConsumerGroup {
        kind,
        group: group.to_owned(),
    }
    .encode()
}

fn member_key(kind: MemberRecord, group: &str, member: &str) -> Result<Bytes, RecordError> {
    RecordKey::ConsumerMember {
        kind,
        group: group.to_owned(),
        member: member.to_owned(),
    }
    .encode()
}

/// The records of `changes`: removed members' tombstones (current, target, metadata), member
/// metadata, subscription metadata, group epoch, targets, target epoch, current assignments.
pub(crate) fn records(
    group: &str,
    cg: &ConsumerGroup,
    changes: &Changes,
) -> Result<Vec<KeyValue>, RecordError> {
    let mut out = Vec::new();
    for id in &changes.removed {
        for kind in [
            MemberRecord::Current,
            MemberRecord::Target,
            MemberRecord::Metadata,
        ] {
            out.push((member_key(kind, group, id)?, None));
        }
    }
    for id in &changes.metadata {
        if let Some(m) = cg.members.get(id) {
            let value = metadata_value(m).encode()?;
            out.push((member_key(MemberRecord::Metadata, group, id)?, Some(value)));
        }
    }
    if changes.subscription {
        let value = PartitionMetadataValue {
            topics: (cg.subscription.iter())
                .map(|(name, (id, partitions))| TopicMetadata {
                    id: *id,
                    name: name.clone(),
                    partitions: *partitions,
                })
                .collect(),
        };
        let key = group_key(GroupRecord::PartitionMetadata, group)?;
        out.push((key, Some(value.encode()?)));
    }
    if changes.group_epoch {
        let value = GroupEpochValue { epoch: cg.epoch }.encode()?;
        out.push((group_key(GroupRecord::Epoch, group)?, Some(value)));
    }
    for id in &changes.targets {
        if let Some(target) = cg.targets.get(id) {
            let value = TargetMemberValue {
                partitions: target.clone(),
            };
            let key = member_key(MemberRecord::Target, group, id)?;
            out.push((key, Some(value.encode()?)));
        }
    }
    if changes.target_epoch {
        let value = TargetEpochValue {
            assignment_epoch: cg.assignment_epoch,
        };
        let key = group_key(GroupRecord::TargetEpoch, group)?;
        out.push((key, Some(value.encode()?)));
    }
    for id in &changes.current {
        if let Some(m) = cg.members.get(id) {
            let key = member_key(MemberRecord::Current, group, id)?;
            out.push((key, Some(current_value(m).encode()?)));
        }
    }
    Ok(out)
}

/// Everything stored about the group, for a rewrite after a failed write.
pub(crate) fn everything(cg: &ConsumerGroup) -> Changes {
    let ids = cg.members.keys().cloned();
    Changes {
        group_epoch: true,
        subscription: true,
        metadata: ids.clone().collect(),
        targets: cg.targets.keys().cloned().collect(),
        target_epoch: true,
        current: ids.collect(),
        removed: Default::default(),
    }
}

/// Tombstones for every record of the group (it is deleted), in Kafka's order.
pub(crate) fn tombstones(group: &str, cg: &ConsumerGroup) -> Result<Vec<KeyValue>, RecordError> {
    let mut out = Vec::new();
    let ids: Vec<&String> = cg.members.keys().collect();
    for kind in [MemberRecord::Current, MemberRecord::Target] {
        for id in &ids {
            out.push((member_key(kind, group, id)?, None));
        }
    }
    out.push((group_key(GroupRecord::TargetEpoch, group)?, None));
    for id in &ids {
        out.push((member_key(MemberRecord::Metadata, group, id)?, None));
    }
    out.push((group_key(GroupRecord::PartitionMetadata, group)?, None));
    out.push((group_key(GroupRecord::Epoch, group)?, None));
    Ok(out)
}

fn metadata_value(m: &ConsumerMember) -> MemberMetadataValue {
    MemberMetadataValue {
        instance_id: m.instance_id.clone(),
        rack_id: m.rack_id.clone(),
        client_id: m.client_id.clone(),
        client_host: m.client_host.clone(),
        subscribed_topic_names: m.subscribed_topics.clone(),
        subscribed_topic_regex: m.subscribed_regex.clone(),
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        server_assignor: m.server_assignor.clone(),
        classic: m.classic.as_ref().map(|c| ClassicMemberMetadata {
            session_timeout_ms: c.session_timeout_ms,
            protocols: (c.protocols.iter())
                .map(|p| (p.name.clone(), p.metadata.clone()))
                .collect(),
        }),
    }
}

fn current_value(m: &ConsumerMember) -> CurrentAssignmentValue {
    CurrentAssignmentValue {
        member_epoch: m.epoch,
        previous_member_epoch: m.previous_epoch,
        state: m.state.code(),
        assigned: m.assigned.clone(),
        pending_revocation: m.pending_revocation.clone(),
    }
}

impl ConsumerGroup {
    /// Replays one of the group's own records (`None`: a tombstone).
    pub fn replay_group(
        &mut self,
        kind: GroupRecord,
        value: Option<&[u8]>,
    ) -> Result<(), RecordError> {
        match (kind, value) {
            (GroupRecord::Epoch, Some(v)) => self.epoch = GroupEpochValue::decode(v)?.epoch,
            (GroupRecord::Epoch, None) => self.epoch = 0,
            (GroupRecord::PartitionMetadata, Some(v)) => {
                self.subscription = (PartitionMetadataValue::decode(v)?.topics.into_iter())
                    .map(|t| (t.name, (t.id, t.partitions)))
                    .collect();
            }
            (GroupRecord::PartitionMetadata, None) => self.subscription.clear(),
            (GroupRecord::TargetEpoch, Some(v)) => {
                self.assignment_epoch = TargetEpochValue::decode(v)?.assignment_epoch;
            }
            (GroupRecord::TargetEpoch, None) => self.assignment_epoch = 0,
        }
        Ok(())
    }

    /// Replays one of a member's records (`None`: a tombstone).
    pub fn replay_member(
        &mut self,
        kind: MemberRecord,
        id: &str,
        value: Option<&[u8]>,
    ) -> Result<(), RecordError> {
        match (kind, value) {
            (MemberRecord::Metadata, Some(v)) => {
                let v = MemberMetadataValue::decode(v)?;
                let m = self.member_entry(id);
                m.instance_id = v.instance_id;
                m.rack_id = v.rack_id;
                m.client_id = v.client_id;
                m.client_host = v.client_host;
                m.subscribed_topics = v.subscribed_topic_names;
                m.subscribed_regex = v.subscribed_topic_regex;
                m.rebalance_timeout_ms = v.rebalance_timeout_ms;
                m.server_assignor = v.server_assignor;
                m.classic = v.classic.map(|c| ClassicMember {
                    session_timeout_ms: c.session_timeout_ms,
                    protocols: (c.protocols.into_iter())
                        .map(|(name, metadata)| Protocol { name, metadata })
                        .collect(),
                });
            }
            (MemberRecord::Metadata, None) => {
                self.members.remove(id);
            }
            (MemberRecord::Target, Some(v)) => {
                let target = TargetMemberValue::decode(v)?.partitions;
                self.targets.insert(id.to_owned(), target);
            }
            (MemberRecord::Target, None) => {
                self.targets.remove(id);
            }
            (MemberRecord::Current, Some(v)) => {
                let v = CurrentAssignmentValue::decode(v)?;
                let m = self.member_entry(id);
                m.epoch = v.member_epoch;
                m.previous_epoch = v.previous_member_epoch;
                // An unknown state is reconciled from scratch: the member keeps nothing.
                match MemberState::from_code(v.state) {
                    Some(state) => {
                        m.state = state;
                        m.assigned = v.assigned;
                        m.pending_revocation = v.pending_revocation;
                    }
                    None => {
                        m.state = MemberState::Stable;
                        m.epoch = 0;
                        m.assigned = Assignment::default();
                        m.pending_revocation = Assignment::default();
                    }
                }
            }
            (MemberRecord::Current, None) => {
                if let Some(m) = self.members.get_mut(id) {
                    m.epoch = -1;
                    m.previous_epoch = -1;
                    m.assigned = Assignment::default();
                    m.pending_revocation = Assignment::default();
                }
            }
        }
        Ok(())
    }

    fn member_entry(&mut self, id: &str) -> &mut ConsumerMember {
        self.members
            .entry(id.to_owned())
            .or_insert_with(|| ConsumerMember::new(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::consumer::Assignor;
    use crate::groups::consumer::group::{ConsumerConfig, Heartbeat, TopicsView};
    use crate::groups::records::RecordKey;
    use chronik_metadata::Uuid;

    fn config() -> ConsumerConfig {
        ConsumerConfig {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            max_members: 100,
            assignors: Assignor::ALL.to_vec(),
        }
    }

    fn join(id: &str) -> Heartbeat {
        Heartbeat {
            member_id: id.into(),
            member_epoch: 0,
            rebalance_timeout_ms: 30_000,
            subscribed_topics: Some(vec!["t".into()]),
            owned: Some(Assignment::default()),
            client_id: "c".into(),
            ..Heartbeat::default()
        }
    }

    /// Replays records the way a load does.
    fn replay(records: &[KeyValue]) -> ConsumerGroup {
        let mut cg = ConsumerGroup::default();
        for (key, value) in records {
            match RecordKey::decode(key).unwrap() {
                RecordKey::ConsumerGroup { kind, .. } => {
                    cg.replay_group(kind, value.as_deref()).unwrap()
                }
                RecordKey::ConsumerMember { kind, member, .. } => {
                    cg.replay_member(kind, &member, value.as_deref()).unwrap()
                }
                other => panic!("unexpected key {other:?}"),
            }
        }
        cg.rebuild_owners();
        cg
    }

    #[test]
    fn a_reload_replays_the_state_that_was_written() {
        let topics: TopicsView = [("t".to_owned(), (Uuid([4; 16]), 4))].into();
        let mut cg = ConsumerGroup::default();
        let mut written = Vec::new();
        for (id, now) in [("a", 0), ("b", 1), ("a", 2)] {
            let mut changes = Changes::default();
            let mut hb = join(id);
            if now == 2 {
                hb.member_epoch = cg.members["a"].epoch;
                hb.owned = Some(cg.members["a"].assigned.clone());
            }
            cg.heartbeat(hb, &topics, &config(), now, &mut changes)
                .unwrap();
            written.extend(records("g", &cg, &changes).unwrap());
        }
        let loaded = replay(&written);
        assert_eq!(loaded.epoch, cg.epoch);
        assert_eq!(loaded.assignment_epoch, cg.assignment_epoch);
        assert_eq!(loaded.targets, cg.targets);
        assert_eq!(loaded.subscription, cg.subscription);
        for (id, m) in &cg.members {
            assert!(loaded.members[id].same_assignment_state(m), "member {id}");
            assert_eq!(loaded.members[id].subscribed_topics, m.subscribed_topics);
        }
        let mut changes = Changes::default();
        cg.remove_member("b", &mut changes);
        written.extend(records("g", &cg, &changes).unwrap());
        let loaded = replay(&written);
        assert!(!loaded.members.contains_key("b") && !loaded.targets.contains_key("b"));
        written.extend(tombstones("g", &cg).unwrap());
        let loaded = replay(&written);
        assert!(loaded.members.is_empty() && loaded.targets.is_empty());
        assert_eq!((loaded.epoch, loaded.assignment_epoch), (0, 0));
    }
}
