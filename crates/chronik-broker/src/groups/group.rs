//! One consumer group (classic protocol) as a pure state machine: no I/O, time passed in.
//!
//! The transitions follow Kafka's classic `GroupCoordinator`: a join or leave moves a group to
//! PreparingRebalance; the join phase completes when every member has rejoined or the rebalance
//! timeout passes (dynamic members that did not rejoin are removed; static ones stay until
//! their session expires); then the group waits in CompletingRebalance for the leader's
//! SyncGroup and becomes Stable. Held JoinGroup and SyncGroup answers are oneshot senders
//! completed by those transitions.
//!
//! As in Kafka, the membership record is written only when the leader's assignment arrives
//! (or a static member is replaced in a Stable group) and when the group becomes Empty: a
//! stored group with members therefore always carries the assignment of its generation.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::consumer::ConsumerGroup;
use super::error::GroupError;
use super::member::{GroupState, JoinResult, JoinedMember, Member, Ms, SyncResult, ms};
use super::records::{GroupValue, OffsetValue, StoredMember};

/// (topic, partition) of a committed offset.
pub(crate) type OffsetKey = (String, i32);

/// A consumer group and its committed offsets.
#[derive(Debug)]
pub(crate) struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// group.instance.id → the member id currently holding it.
    pub static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, until they rejoin or time out.
    pub pending: HashMap<String, Ms>,
    pub offsets: BTreeMap<OffsetKey, OffsetValue>,
    /// Offsets committed inside open transactions (TxnOffsetCommit), by producer id: they
    /// replace `offsets` when the transaction commits and vanish when it aborts.
    pub txn_offsets: HashMap<i64, BTreeMap<OffsetKey, OffsetValue>>,
    /// End of the join phase (PreparingRebalance) or of the wait for the leader's sync.
    pub phase_deadline: Ms,
    /// Set when the membership record must be written again; the coordinator clears it once
    /// the record is appended (a failed append keeps it set and is retried).
    pub dirty: bool,
    /// No write attempt before this time (backoff after a failed append).
    pub persist_after: Ms,
    /// Wall-clock ms of the last stored state change (Kafka's `currentStateTimestamp`): when an
    /// Empty group became Empty. `None` for a group that never had members (simple consumers).
    pub state_timestamp: Option<i64>,
    /// Kafka's `group.initial.rebalance.delay.ms`: how long the join phase of a rebalance of an
    /// Empty group waits for more members, so consumers starting together share one
    /// generation instead of rebalancing once per arrival.
    pub initial_rebalance_delay: Ms,
    /// Set while such a delayed join phase runs.
    initial_join: Option<InitialJoin>,
    next_join_order: u64,
    /// Set when the group uses the consumer protocol (KIP-848): its membership lives here and
    /// the classic fields above stay empty.
    pub consumer: Option<ConsumerGroup>,
}

/// A delayed first join phase (Kafka's `InitialDelayedJoin`): each time it ends with a member
/// added meanwhile, it waits another delay, until the rebalance timeout is used up.
#[derive(Debug, Clone, Copy)]
struct InitialJoin {
    /// What is left of the rebalance timeout for further delays.
    remaining: Ms,
    new_member_added: bool,
}

impl Group {
    pub fn new(id: &str) -> Group {
        Group {
            id: id.to_owned(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending: HashMap::new(),
            offsets: BTreeMap::new(),
            txn_offsets: HashMap::new(),
            phase_deadline: 0,
            dirty: false,
            persist_after: 0,
            state_timestamp: None,
            initial_rebalance_delay: 0,
            initial_join: None,
            next_join_order: 0,
            consumer: None,
        }
    }

    /// Ends producer `producer_id`'s transaction for this group's offsets.
    pub fn end_txn(&mut self, producer_id: i64, commit: bool) {
        if let Some(pending) = self.txn_offsets.remove(&producer_id)
            && commit
        {
            self.offsets.extend(pending);
        }
    }

    /// No members, of either protocol.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.consumer.as_ref().is_none_or(|c| c.members.is_empty())
    }

    /// Whether the group uses the consumer protocol (ListGroups' group type).
    pub fn is_consumer_protocol(&self) -> bool {
        self.consumer.is_some()
    }

    /// Members plus ids promised to members that have not rejoined yet.
    pub fn size(&self) -> usize {
        self.members.len() + self.pending.len()
    }

    pub(crate) fn next_order(&mut self) -> u64 {
        self.next_join_order += 1;
        self.next_join_order
    }

    /// Adds a member (it becomes leader of a leaderless group).
    pub(crate) fn add_member(&mut self, member: Member) {
        if self.protocol_type.is_none() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        self.pending.remove(&member.id);
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member, failing its held answers with `error`; elects the earliest remaining
    /// member as leader if it led.
    pub(crate) fn remove_member(&mut self, id: &str, error: &GroupError) {
        let Some(mut member) = self.members.remove(id) else {
            return;
        };
        member.fail_waiting(error);
        if let Some(instance) = &member.instance_id
            && self.static_members.get(instance).map(String::as_str) == Some(id)
        {
            self.static_members.remove(instance);
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = (self.members.values())
                .min_by_key(|m| m.joined)
                .map(|m| m.id.clone());
        }
    }

    /// Removes a member and moves the group on as Kafka does after a leave or expiry: the join
    /// phase completes at once when everyone left has already rejoined, so the last member's
    /// leave makes the group Empty right away.
    pub(crate) fn remove_and_rebalance(&mut self, id: &str, now: Ms) {
        self.remove_member(id, &GroupError::UnknownMember);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now);
                self.try_complete_join(now);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Starts a rebalance: answers held syncs with REBALANCE_IN_PROGRESS and opens the join
    /// phase for the longest rebalance timeout among the members (for the initial delay first,
    /// if the group was Empty).
    pub(crate) fn prepare_rebalance(&mut self, now: Ms) {
        let was_empty = self.state == GroupState::Empty;
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(SyncResult::error(GroupError::RebalanceInProgress));
                }
            }
        }
        self.state = GroupState::PreparingRebalance;
        let timeout = self.max_rebalance_timeout();
        if was_empty && self.initial_rebalance_delay > 0 {
            let delay = self.initial_rebalance_delay;
            self.initial_join = Some(InitialJoin {
                remaining: timeout.saturating_sub(delay),
                new_member_added: false,
            });
            self.phase_deadline = now + delay;
        } else {
            self.initial_join = None;
            self.phase_deadline = now + timeout;
        }
    }

    /// Notes a member added during the delayed first join phase (Kafka extends it only while
    /// the group has never completed a generation).
    pub(crate) fn note_member_added(&mut self) {
        if self.state == GroupState::PreparingRebalance
            && self.generation == 0
            && let Some(initial) = self.initial_join.as_mut()
        {
            initial.new_member_added = true;
        }
    }

    /// The join phase's deadline passed: a delayed first join phase that gained a member
    /// waits another delay (within the rebalance timeout); otherwise the join completes.
    fn join_phase_expired(&mut self, now: Ms) {
        if let Some(initial) = self.initial_join.as_mut()
            && initial.new_member_added
            && initial.remaining > 0
        {
            let delay = self.initial_rebalance_delay.min(initial.remaining);
            initial.remaining -= delay;
            initial.new_member_added = false;
            self.phase_deadline = now + delay;
            return;
        }
        self.complete_join(now);
    }

    /// Completes the join phase if nobody is left to wait for (a delayed first join phase
    /// runs its full delay, as Kafka's does).
    pub(crate) fn try_complete_join(&mut self, now: Ms) {
        if self.initial_join.is_some() {
            return;
        }
        let all_joined = self.members.values().all(|m| m.awaiting_join.is_some());
        if self.state == GroupState::PreparingRebalance && all_joined && self.pending.is_empty() {
            self.complete_join(now);
        }
    }

    /// Ends the join phase (Kafka's `onCompleteJoin`): dynamic members that did not rejoin are
    /// removed (static ones stay: they leave by session expiry or LeaveGroup), the generation
    /// advances, a protocol is chosen and every waiting member gets its JoinGroup answer (the
    /// leader with everyone's metadata). Nothing is stored here: the record is written when the
    /// leader's assignment arrives, or now if the group became Empty.
    pub(crate) fn complete_join(&mut self, now: Ms) {
        self.initial_join = None;
        let missing: Vec<String> = (self.members.values())
            .filter(|m| m.awaiting_join.is_none() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in missing {
            self.remove_member(&id, &GroupError::UnknownMember);
        }
        if self.members.is_empty() {
            self.generation = self.generation.wrapping_add(1);
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            self.dirty = true;
            return;
        }
        if !self.elect_joined_leader() {
            // Only static members that have not rejoined are left: wait another rebalance
            // timeout, as Kafka does; their sessions decide whether they stay.
            self.phase_deadline = now + self.max_rebalance_timeout();
            return;
        }
        self.generation = self.generation.wrapping_add(1);
        self.protocol = self.select_protocol();
        self.state = GroupState::CompletingRebalance;
        self.phase_deadline = now + self.max_rebalance_timeout();
        let everyone = self.joined_members();
        let leader = self.leader.clone().unwrap_or_default();
        for m in self.members.values_mut() {
            m.heartbeat(now);
            let Some(tx) = m.awaiting_join.take() else {
                continue;
            };
            let members = if m.id == leader {
                everyone.clone()
            } else {
                Vec::new()
            };
            let _ = tx.send(JoinResult {
                error: None,
                generation: self.generation,
                protocol_type: self.protocol_type.clone(),
                protocol_name: self.protocol.clone(),
                leader: leader.clone(),
                member_id: m.id.clone(),
                skip_assignment: false,
                members,
            });
        }
    }

    /// Keeps the leader if it rejoined, else makes the earliest rejoined member leader (Kafka's
    /// `maybeElectNewJoinedLeader`); false when nobody rejoined.
    fn elect_joined_leader(&mut self) -> bool {
        let joined = |m: &Member| m.awaiting_join.is_some();
        if (self.leader.as_ref())
            .and_then(|l| self.members.get(l))
            .is_some_and(joined)
        {
            return true;
        }
        let next = (self.members.values())
            .filter(|m| joined(m))
            .min_by_key(|m| m.joined)
            .map(|m| m.id.clone());
        let elected = next.is_some();
        if elected {
            self.leader = next;
        }
        elected
    }

    fn max_rebalance_timeout(&self) -> Ms {
        (self.members.values())
            .map(|m| ms(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    /// Every member with its metadata for the chosen protocol (what the leader assigns from).
    pub(crate) fn joined_members(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol.as_deref().unwrap_or_default();
        (self.members.values())
            .map(|m| JoinedMember {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                metadata: m.metadata_for(protocol),
            })
            .collect()
    }

    /// The protocol every member supports that most members prefer (each votes for its
    /// first supported candidate, as Kafka does); ties go to the earliest member's preference.
    pub(crate) fn select_protocol(&self) -> Option<String> {
        let mut by_age: Vec<&Member> = self.members.values().collect();
        by_age.sort_by_key(|m| m.joined);
        let first = by_age.first()?;
        let candidates: Vec<&str> = (first.protocols.iter())
            .map(|p| p.name.as_str())
            .filter(|name| by_age.iter().all(|m| m.supports(name)))
            .collect();
        let mut votes: Vec<(&str, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in &by_age {
            let choice = (m.protocols.iter()).find(|p| candidates.contains(&p.name.as_str()));
            if let Some(slot) = choice.and_then(|p| votes.iter_mut().find(|v| v.0 == p.name)) {
                slot.1 += 1;
            }
        }
        // max_by_key keeps the last maximum; reverse so the earliest preference wins ties.
        (votes.into_iter().rev())
            .max_by_key(|v| v.1)
            .map(|v| v.0.to_owned())
    }

    /// Whether a group of `type_` could accept a member offering `names`.
    pub(crate) fn accepts_protocols(&self, type_: &str, names: &[&str]) -> bool {
        if type_.is_empty() || names.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(type_)
            && names
                .iter()
                .any(|n| self.members.values().all(|m| m.supports(n)))
    }

    /// Expires sessions, pending member ids and rebalance phases whose time has come.
    pub fn tick(&mut self, now: Ms) {
        self.pending.retain(|_, deadline| *deadline > now);
        let expired: Vec<String> = (self.members.values())
            .filter(|m| !m.is_waiting() && m.session_deadline <= now)
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::debug!(group = %self.id, member = %id, "session expired");
            self.remove_and_rebalance(&id, now);
        }
        match self.state {
            GroupState::PreparingRebalance if now >= self.phase_deadline => {
                self.join_phase_expired(now);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now),
            GroupState::CompletingRebalance if now >= self.phase_deadline => {
                // The leader never sent its assignment: drop who has not synced and start over.
                let unsynced: Vec<String> = (self.members.values())
                    .filter(|m| m.awaiting_sync.is_none())
                    .map(|m| m.id.clone())
                    .collect();
                for id in unsynced {
                    self.remove_member(&id, &GroupError::UnknownMember);
                }
                self.prepare_rebalance(now);
                self.try_complete_join(now);
            }
            _ => {}
        }
    }

    /// The membership record written after each generation.
    pub fn to_value(&self, timestamp: i64) -> GroupValue {
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            timestamp,
            members: (self.members.values())
                .map(|m| StoredMember {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: self
                        .protocol
                        .as_deref()
                        .map_or_else(Bytes::new, |p| m.metadata_for(p)),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Restores membership from a stored record: a group with members is Stable again and
    /// every session starts fresh at `now`. A member without an assignment means the record
    /// was written before the leader's SyncGroup (older Chronik versions stored every join):
    /// such a group starts a rebalance instead of serving empty assignments as Stable.
    pub fn apply_value(&mut self, value: GroupValue, now: Ms) {
        self.generation = value.generation;
        self.state_timestamp = Some(value.timestamp);
        self.protocol_type = Some(value.protocol_type).filter(|t| !t.is_empty());
        self.protocol = value.protocol;
        self.leader = None;
        self.members.clear();
        self.static_members.clear();
        for stored in value.members {
            let joined = self.next_order();
            let protocols = match &self.protocol {
                Some(name) => vec![super::member::Protocol {
                    name: name.clone(),
                    metadata: stored.subscription,
                }],
                None => Vec::new(),
            };
            let member = Member {
                id: stored.member_id,
                instance_id: stored.instance_id,
                client_id: stored.client_id,
                client_host: stored.client_host,
                session_timeout_ms: stored.session_timeout_ms,
                rebalance_timeout_ms: stored.rebalance_timeout_ms,
                protocol_type: self.protocol_type.clone().unwrap_or_default(),
                protocols,
                assignment: stored.assignment,
                joined,
                session_deadline: now + ms(stored.session_timeout_ms),
                awaiting_join: None,
                awaiting_sync: None,
            };
            self.add_member(member);
        }
        if value
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = value.leader;
        }
        if self.members.is_empty() {
            self.state = GroupState::Empty;
        } else if self.members.values().any(|m| m.assignment.is_empty()) {
            tracing::info!(group = %self.id, generation = self.generation,
                "restored group lacks assignments; rebalancing");
            self.state = GroupState::Stable;
            self.prepare_rebalance(now);
        } else {
            self.state = GroupState::Stable;
        }
    }

    /// Fails every held answer (the group is deleted or its partition unloaded).
    pub fn fail_all(&mut self, error: &GroupError) {
        for m in self.members.values_mut() {
            m.fail_waiting(error);
        }
    }
}
