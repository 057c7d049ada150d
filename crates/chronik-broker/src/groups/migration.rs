//! Online migration between the group protocols on the coordinator: classic members' requests
//! routed to a consumer-protocol group, a classic group upgraded when a consumer-protocol
//! member joins it, and a consumer-protocol group downgraded when its last consumer-protocol
//! member leaves and only classic members remain.

use std::collections::BTreeSet;

use tokio::sync::oneshot;

use super::consumer::classic::{encode_assignment, metadata_version};
use super::consumer::{Changes, ConsumerGroup, PROTOCOL_TYPE, TopicsView, store};
use super::coordinator::{Coordinator, Place};
use super::error::GroupError;
use super::group::Group;
use super::member::{Answer, GroupState, JoinRequest, JoinResult, Member, SyncResult, ms};
use super::ops::{Caller, Leaving};
use super::records::RecordKey;
use super::store::KeyValue;

impl Coordinator {
    /// Every topic's id and partition count, for classic members (whose subscriptions and
    /// owned partitions name topics) and conversions.
    fn all_topics(&self) -> TopicsView {
        self.cluster.metadata(|s| {
            s.topics()
                .filter_map(|t| {
                    Some((
                        t.name.clone(),
                        (t.id, i32::try_from(t.partitions.len()).ok()?),
                    ))
                })
                .collect()
        })
    }

    /// A topic's name by id, from the metadata.
    fn topic_name(&self, id: &chronik_metadata::TopicId) -> Option<String> {
        self.cluster
            .metadata(|s| s.topic(id).map(|t| t.name.clone()))
    }

    /// A classic member's JoinGroup into a consumer-protocol group with members; the answer
    /// goes out once the records it caused are committed.
    pub(super) fn classic_join_consumer(
        &self,
        g: &mut Group,
        req: &JoinRequest,
        place: &Place,
    ) -> Result<Answer<JoinResult>, GroupError> {
        let topics = self.all_topics();
        let Some(cg) = g.consumer.as_mut() else {
            return Err(GroupError::GroupUnavailable);
        };
        let mut changes = Changes::default();
        let result = cg.classic_join(req, &topics, &self.consumer, place.now, &mut changes)?;
        let written = self.write_consumer_group(&g.id, cg, changes, Vec::new(), place)?;
        let Some(written) = written else {
            return Ok(Answer::Now(result));
        };
        let (tx, rx) = oneshot::channel();
        let member_id = result.member_id.clone();
        tokio::spawn(async move {
            let answer = match written.wait_async().await {
                Ok(()) => result,
                Err(e) => JoinResult::error(e, &member_id),
            };
            let _ = tx.send(answer);
        });
        Ok(Answer::Later(rx))
    }

    /// A classic member's SyncGroup in a consumer-protocol group: its current assignment.
    pub(super) fn classic_sync_consumer(
        &self,
        cg: &mut ConsumerGroup,
        caller: Caller<'_>,
        protocol: (Option<&str>, Option<&str>),
        now: super::member::Ms,
    ) -> SyncResult {
        match cg.classic_sync(caller, protocol, now) {
            Ok((assigned, name, version)) => SyncResult {
                error: None,
                protocol_type: Some(PROTOCOL_TYPE.to_owned()),
                protocol_name: Some(name),
                assignment: encode_assignment(&assigned, version, &|id| self.topic_name(id)),
            },
            Err(e) => SyncResult::error(e),
        }
    }

    /// A classic LeaveGroup in a consumer-protocol group: one outcome per member named.
    pub(super) fn classic_leave_consumer(
        &self,
        g: &mut Group,
        leaving: &[Leaving],
        place: &Place,
    ) -> Vec<Result<(), GroupError>> {
        let Some(cg) = g.consumer.as_mut() else {
            return vec![Err(GroupError::UnknownMember); leaving.len()];
        };
        let mut changes = Changes::default();
        let outcomes: Vec<_> = leaving
            .iter()
            .map(|who| cg.classic_leave(who, &mut changes))
            .collect();
        if let Err(e) = self.write_consumer_group(&g.id, cg, changes, Vec::new(), place) {
            tracing::warn!(group = %g.id, error = %e, "consumer group records not written; will retry");
        }
        outcomes
    }

    /// Makes a classic group with members a consumer-protocol group (a consumer-protocol
    /// member is joining): their held answers are told to rejoin; returns the records that
    /// replace the classic group's, to be written before the joining member's.
    pub(super) fn upgrade(
        &self,
        g: &mut Group,
        now: super::member::Ms,
    ) -> Result<Vec<KeyValue>, GroupError> {
        if g.protocol_type.as_deref() != Some(PROTOCOL_TYPE) {
            return Err(GroupError::OtherProtocol { current: "classic" });
        }
        let topics = self.all_topics();
        let Some(cg) = ConsumerGroup::from_classic(g, &topics, now) else {
            tracing::warn!(group = %g.id, "a member's subscription or assignment is unreadable; no upgrade");
            return Err(GroupError::OtherProtocol { current: "classic" });
        };
        let encode = |records: Result<Vec<KeyValue>, _>| {
            records.map_err(|e: super::records::RecordError| {
                GroupError::InvalidRequest(format!("the group's records cannot be stored: {e}"))
            })
        };
        let mut records = encode(
            RecordKey::Group {
                group: g.id.clone(),
            }
            .encode()
            .map(|k| vec![(k, None)]),
        )?;
        records.extend(encode(store::records(&g.id, &cg, &store::everything(&cg)))?);
        g.fail_all(&GroupError::RebalanceInProgress);
        tracing::info!(group = %g.id, members = cg.members.len(), generation = g.generation,
            "classic group upgraded to the consumer protocol while running");
        let (id, offsets, txn_offsets) = (
            g.id.clone(),
            std::mem::take(&mut g.offsets),
            std::mem::take(&mut g.txn_offsets),
        );
        *g = Group::new(&id);
        g.offsets = offsets;
        g.txn_offsets = txn_offsets;
        g.consumer = Some(cg);
        Ok(records)
    }

    /// When only classic members are left in a consumer-protocol group, makes it a classic
    /// group again (online downgrade): generation = group epoch, each member's target as its
    /// assignment, then a rebalance; writes the tombstones and the classic record.
    pub(super) fn maybe_downgrade(&self, g: &mut Group, place: &Place) {
        if !g
            .consumer
            .as_ref()
            .is_some_and(ConsumerGroup::only_classic_left)
        {
            return;
        }
        let Some(cg) = g.consumer.take() else {
            return;
        };
        let tombstones = match store::tombstones(&g.id, &cg) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(group = %g.id, error = %e, "cannot encode tombstones; no downgrade");
                g.consumer = Some(cg);
                return;
            }
        };
        if let Err(e) = self.append(place, &tombstones) {
            tracing::warn!(group = %g.id, error = %e, "downgrade not written; retried on the next change");
            g.consumer = Some(cg);
            return;
        }
        to_classic(g, &cg, place.now, &|id| self.topic_name(id));
        tracing::info!(group = %g.id, members = g.members.len(), generation = g.generation,
            "consumer group downgraded to the classic protocol: only classic members are left");
        self.persist_if_dirty(g, place);
    }
}

/// The classic group `cg`'s (all classic) members form: Stable at their epoch with their
/// targets as assignments, then rebalancing, so they rejoin under the classic protocol.
fn to_classic(
    g: &mut Group,
    cg: &ConsumerGroup,
    now: super::member::Ms,
    name_of: &dyn Fn(&chronik_metadata::TopicId) -> Option<String>,
) {
    // The members' epoch is the generation they know: their heartbeats are then told to
    // rejoin (keeping their partitions) rather than that their generation is wrong.
    g.generation = (cg.members.values().map(|m| m.epoch).max()).unwrap_or(cg.epoch);
    g.protocol_type = Some(PROTOCOL_TYPE.to_owned());
    for m in cg.members.values() {
        let Some(classic) = &m.classic else { continue };
        let version = classic
            .protocols
            .first()
            .map_or(0, |p| metadata_version(&p.metadata));
        let target = cg.targets.get(&m.id).cloned().unwrap_or_default();
        let joined = g.next_order();
        g.add_member(Member {
            id: m.id.clone(),
            instance_id: m.instance_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            session_timeout_ms: classic.session_timeout_ms,
            rebalance_timeout_ms: m.rebalance_timeout_ms,
            protocol_type: PROTOCOL_TYPE.to_owned(),
            protocols: classic.protocols.clone(),
            assignment: encode_assignment(&target, version, name_of),
            joined,
            session_deadline: now + ms(classic.session_timeout_ms),
            awaiting_join: None,
            awaiting_sync: None,
        });
    }
    g.protocol = g.select_protocol();
    g.state = GroupState::Stable;
    g.prepare_rebalance(now);
    g.dirty = true;
}

/// The ids of members that use the consumer protocol (to see whether a removal was one).
pub(super) fn consumer_protocol_members(cg: &ConsumerGroup) -> BTreeSet<String> {
    (cg.members.values())
        .filter(|m| m.classic.is_none())
        .map(|m| m.id.clone())
        .collect()
}
