//! What the consumer group (KIP-848) handlers call: ConsumerGroupHeartbeat and
//! ConsumerGroupDescribe on the coordinator, and the reaper's session checks.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::consumer::{
    Assignment, Changes, ConsumerGroup, ConsumerMember, Heartbeat, HeartbeatAnswer, TopicsView,
    store,
};
use super::coordinator::{Coordinator, Place};
use super::error::GroupError;
use super::group::Group;
use super::member::GroupState;
use super::records::RecordKey;
use super::store::{KeyValue, Written};
use super::{MAX_GROUPS, api};

/// A consumer group as ConsumerGroupDescribe shows it.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerGroupView {
    pub state: &'static str,
    pub epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: &'static str,
    /// Each member with its target assignment.
    pub members: Vec<(ConsumerMember, Assignment)>,
}

impl Coordinator {
    /// A ConsumerGroupHeartbeat; the answer goes out once the returned write (if any) is
    /// committed.
    pub fn consumer_heartbeat(
        self: &Arc<Self>,
        group: &str,
        req: Heartbeat,
    ) -> Result<(HeartbeatAnswer, Option<Written>), GroupError> {
        api::check_group_id(group)?;
        let total = self.group_count();
        self.with_groups(group, |groups, place| {
            let joining = req.member_epoch == super::consumer::group::JOIN_EPOCH;
            let mut records = Vec::new();
            if !groups.contains_key(group) {
                if !joining {
                    return Err(GroupError::GroupIdNotFound);
                }
                let g = api::created_group(groups, group, total, MAX_GROUPS)?;
                g.consumer = Some(ConsumerGroup::default());
            }
            let g = groups.get_mut(group).ok_or(GroupError::GroupUnavailable)?;
            if g.consumer.is_none() {
                if !joining || g.state == GroupState::Dead {
                    return Err(GroupError::OtherProtocol { current: "classic" });
                }
                match g.is_empty() && g.pending.is_empty() {
                    true => records.extend(convert_to_consumer(g)?),
                    false => records.extend(self.upgrade(g, place.now)?),
                }
            }
            let Some(cg) = g.consumer.as_mut() else {
                return Err(GroupError::GroupUnavailable);
            };
            let wanted = match (cg.wanted_topics(), &req.subscribed_regex) {
                (Some(mut names), regex) if regex.as_ref().is_none_or(String::is_empty) => {
                    names.extend(req.subscribed_topics.iter().flatten().cloned());
                    Some(names)
                }
                _ => None,
            };
            let topics = self.topics_view(wanted.as_ref());
            let mut changes = Changes::default();
            let leaving = req.member_epoch == super::consumer::group::LEAVE_EPOCH;
            let answer = cg.heartbeat(req, &topics, &self.consumer, place.now, &mut changes)?;
            let written = self.write_consumer_group(group, cg, changes, records, place)?;
            if leaving {
                self.maybe_downgrade(g, place);
            }
            Ok((answer, written))
        })?
    }

    /// A consumer group's description; `None` for a missing or classic group.
    pub fn consumer_describe(
        self: &Arc<Self>,
        group: &str,
    ) -> Result<Option<ConsumerGroupView>, GroupError> {
        api::check_group_id(group)?;
        self.with_groups(group, |groups, _| {
            let cg = groups.get(group)?.consumer.as_ref()?;
            let members = (cg.members.values())
                .map(|m| {
                    (
                        m.clone(),
                        cg.targets.get(&m.id).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            Some(ConsumerGroupView {
                state: cg.state().name(),
                epoch: cg.epoch,
                assignment_epoch: cg.assignment_epoch,
                assignor: cg.preferred_assignor(&self.consumer).name(),
                members,
            })
        })
    }

    /// Whether an OffsetFetch (v9) naming `member_id` at `epoch` may read `group`'s offsets:
    /// a caller naming no member with a negative epoch always may, and so may anyone for a
    /// missing or classic group.
    pub fn check_offset_fetcher(
        self: &Arc<Self>,
        group: &str,
        member_id: Option<&str>,
        epoch: i32,
    ) -> Result<(), GroupError> {
        if member_id.is_none() && epoch < 0 {
            return Ok(());
        }
        self.with_groups(group, |groups, _| {
            match groups.get(group).and_then(|g| g.consumer.as_ref()) {
                Some(cg) => cg.check_fetch_caller(member_id, epoch),
                None => Ok(()),
            }
        })?
    }

    /// Ids and partition counts of the named topics that exist (`None`: of every topic).
    fn topics_view(&self, names: Option<&BTreeSet<String>>) -> TopicsView {
        let entry = |t: &chronik_metadata::Topic| {
            let count = i32::try_from(t.partitions.len()).ok()?;
            Some((t.name.clone(), (t.id, count)))
        };
        self.cluster.metadata(|s| match names {
            Some(names) => names
                .iter()
                .filter_map(|n| entry(s.topic_by_name(n)?))
                .collect(),
            None => s.topics().filter_map(entry).collect(),
        })
    }

    /// Appends `before` and the records of `changes` (everything, after a failed write);
    /// a failed append marks the group for a full rewrite.
    pub(super) fn write_consumer_group(
        &self,
        group: &str,
        cg: &mut ConsumerGroup,
        mut changes: Changes,
        before: Vec<KeyValue>,
        place: &Place,
    ) -> Result<Option<Written>, GroupError> {
        if cg.needs_rewrite {
            changes.merge(store::everything(cg));
        }
        if changes.is_empty() && before.is_empty() {
            return Ok(None);
        }
        let mut records = before;
        match store::records(group, cg, &changes) {
            Ok(r) => records.extend(r),
            Err(e) => {
                tracing::error!(group, error = %e, "cannot encode consumer group records");
                cg.needs_rewrite = true;
                return Err(GroupError::InvalidRequest(format!(
                    "the group's records cannot be stored: {e}"
                )));
            }
        }
        match self.append(place, &records) {
            Ok(written) => {
                cg.needs_rewrite = false;
                Ok(Some(written))
            }
            Err(e) => {
                cg.needs_rewrite = true;
                Err(e)
            }
        }
    }

    /// The reaper's pass over consumer groups: expired sessions and revocation deadlines.
    pub(super) fn tick_consumer_groups(&self, groups: &mut HashMap<String, Group>, place: &Place) {
        for (id, g) in groups.iter_mut() {
            let Some(cg) = g.consumer.as_mut() else {
                continue;
            };
            let mut changes = Changes::default();
            let modern = super::migration::consumer_protocol_members(cg);
            let removed = cg.tick(place.now, &mut changes);
            let modern_left = removed.iter().any(|m| modern.contains(m));
            for member in &removed {
                tracing::info!(group = %id, member, "consumer group member removed: session or rebalance timeout");
            }
            if changes.is_empty() && !cg.needs_rewrite {
                continue;
            }
            if let Err(e) = self.write_consumer_group(id, cg, changes, Vec::new(), place) {
                tracing::warn!(group = %id, error = %e, "consumer group records not written; will retry");
            }
            if modern_left {
                self.maybe_downgrade(g, place);
            }
        }
    }
}

/// Makes an empty classic group a consumer group (its offsets stay); the tombstone of its
/// classic membership record is returned to be written first.
fn convert_to_consumer(g: &mut Group) -> Result<Vec<KeyValue>, GroupError> {
    let mut records = Vec::new();
    if g.generation > 0 || g.state_timestamp.is_some() {
        let key = RecordKey::Group {
            group: g.id.clone(),
        };
        match key.encode() {
            Ok(k) => records.push((k, None)),
            Err(e) => {
                return Err(GroupError::InvalidRequest(format!(
                    "the group id cannot be stored: {e}"
                )));
            }
        }
    }
    tracing::info!(group = %g.id, "empty classic group becomes a consumer group");
    let id = g.id.clone();
    let offsets = std::mem::take(&mut g.offsets);
    let txn_offsets = std::mem::take(&mut g.txn_offsets);
    *g = Group::new(&id);
    g.offsets = offsets;
    g.txn_offsets = txn_offsets;
    g.consumer = Some(ConsumerGroup::default());
    Ok(records)
}
