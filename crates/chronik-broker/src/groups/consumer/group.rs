//! A consumer group of the KIP-848 protocol as a pure state machine: heartbeats move members
//! towards a target assignment computed by a server-side assignor, one member at a time, with
//! no stop-the-world rebalance. No I/O; time is passed in; what must be stored is collected in
//! [`Changes`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chronik_metadata::TopicId;
use regex::{Regex, RegexBuilder};

use super::assignment::Assignment;
use super::assignor::{Assignor, AssignorMember};
use super::member::{ConsumerMember, MemberState, Target, reconcile};
use crate::groups::error::GroupError;
use crate::groups::member::{Ms, ms};

/// Member epoch of a heartbeat that joins (or rejoins) the group.
pub(crate) const JOIN_EPOCH: i32 = 0;
/// Member epoch of a heartbeat that leaves the group.
pub(crate) const LEAVE_EPOCH: i32 = -1;
/// Member epoch of a static member leaving for a while (it keeps its assignment).
pub(crate) const STATIC_LEAVE_EPOCH: i32 = -2;

/// Subscribed topics as the cluster has them: name → (id, partition count).
pub(crate) type TopicsView = BTreeMap<String, (TopicId, i32)>;

/// The coordinator's settings for consumer groups (Kafka's `group.consumer.*`).
#[derive(Debug, Clone)]
pub(crate) struct ConsumerConfig {
    pub session_timeout_ms: i32,
    pub heartbeat_interval_ms: i32,
    pub max_members: usize,
    /// The assignors offered; the first is used when members ask for none.
    pub assignors: Vec<Assignor>,
}

/// A ConsumerGroupHeartbeat as the state machine sees it (validated by the caller).
#[derive(Debug, Clone, Default)]
pub(crate) struct Heartbeat {
    /// Empty on a first join: the member gets `fresh_member_id`.
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// -1: unchanged.
    pub rebalance_timeout_ms: i32,
    /// `None`: unchanged.
    pub subscribed_topics: Option<Vec<String>>,
    /// `None`: unchanged; empty: no regular expression (heartbeat v1).
    pub subscribed_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// The partitions the member owns; `None`: unchanged since the last heartbeat.
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
    pub fresh_member_id: String,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeartbeatAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// The member's assignment, when it changed or the request was a full one.
    pub assignment: Option<Assignment>,
}

/// What a step changed and must be stored (the coordinator turns it into records).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changes {
    pub group_epoch: bool,
    /// The subscribed topics' metadata changed.
    pub subscription: bool,
    /// Members whose metadata (subscription, ids, timeouts) changed or who are new.
    pub metadata: BTreeSet<String>,
    /// Members whose target assignment changed.
    pub targets: BTreeSet<String>,
    pub target_epoch: bool,
    /// Members whose current assignment (epoch, state, partitions) changed.
    pub current: BTreeSet<String>,
    /// Members removed: their records are deleted.
    pub removed: BTreeSet<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }

    /// Adds what `other` changed.
    pub fn merge(&mut self, other: Changes) {
        self.group_epoch |= other.group_epoch;
        self.subscription |= other.subscription;
        self.target_epoch |= other.target_epoch;
        self.metadata.extend(other.metadata);
        self.targets.extend(other.targets);
        self.current.extend(other.current);
        self.removed.extend(other.removed);
    }
}

/// What [`ConsumerGroup::apply`] needs besides the updated member.
pub(crate) struct Step<'a> {
    /// The member before this request (a fresh one when new).
    pub before: &'a ConsumerMember,
    /// The static member this one replaces, if any.
    pub replaced: Option<&'a ConsumerMember>,
    /// The partitions the member reports owning (`None`: not reported).
    pub owned: Option<&'a Assignment>,
    /// How long the member lives without another request.
    pub session_timeout_ms: i32,
}

/// The state of a consumer group as ConsumerGroupDescribe and ListGroups name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

/// A consumer group's membership and assignments (its offsets live in the enclosing group).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerGroup {
    /// Bumped whenever membership or subscriptions change.
    pub epoch: i32,
    /// The group epoch the target assignment was computed for.
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    /// group.instance.id → member id.
    pub static_members: HashMap<String, String>,
    /// Target assignment by member id.
    pub targets: BTreeMap<String, Assignment>,
    /// The subscribed topics' ids and partition counts the last target was computed with:
    /// a change (a topic created, deleted or grown) bumps the group epoch.
    pub subscription: TopicsView,
    /// Which member holds each partition (assigned or pending revocation): derived from the
    /// members, it keeps a partition from two members at once.
    pub(super) owners: HashMap<(TopicId, i32), String>,
    /// Set when a write of this group's records failed: the next write stores everything,
    /// so the log again agrees with memory.
    pub needs_rewrite: bool,
    /// The members' topic regular expressions, compiled (derived from the members).
    regexes: HashMap<String, Regex>,
}

impl ConsumerGroup {
    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if (self.members.values()).all(|m| m.is_reconciled_to(self.assignment_epoch)) {
            ConsumerGroupState::Stable
        } else {
            ConsumerGroupState::Reconciling
        }
    }

    /// The topics the caller must resolve for a heartbeat: the names members subscribe to,
    /// or `None` (every topic) when a member subscribes with a regular expression.
    pub fn wanted_topics(&self) -> Option<BTreeSet<String>> {
        if self.members.values().any(|m| m.subscribed_regex.is_some()) {
            return None;
        }
        Some(
            (self.members.values())
                .flat_map(|m| m.subscribed_topics.iter().cloned())
                .collect(),
        )
    }

    /// The existing topics some member subscribes to (by name or regular expression).
    pub fn subscribed_topics(&self) -> BTreeSet<String> {
        self.subscription.keys().cloned().collect()
    }

    /// The topics of `topics` that `m` subscribes to: by name, or matching its regular
    /// expression (internal topics only by name).
    pub(super) fn effective<'a>(
        &'a self,
        m: &'a ConsumerMember,
        topics: &'a TopicsView,
    ) -> impl Iterator<Item = &'a String> + 'a {
        let regex = m
            .subscribed_regex
            .as_ref()
            .and_then(|r| self.regexes.get(r));
        let by_name = m
            .subscribed_topics
            .iter()
            .filter(|n| topics.contains_key(*n));
        let by_regex = (topics.keys())
            .filter(move |t| !t.starts_with("__") && regex.is_some_and(|r| r.is_match(t)))
            .filter(|t| !m.subscribed_topics.contains(t));
        by_name.chain(by_regex)
    }

    /// Compiles the regular expressions of the members and `extra` not compiled yet (an
    /// invalid one, refused by the caller before, matches nothing).
    fn compile_regexes(&mut self, extra: Option<&String>) {
        let patterns: Vec<String> = (self.members.values())
            .filter_map(|m| m.subscribed_regex.clone())
            .chain(extra.cloned())
            .collect();
        self.regexes.retain(|p, _| patterns.contains(p));
        for p in patterns {
            if !self.regexes.contains_key(&p)
                && let Ok(r) = topic_regex(&p)
            {
                self.regexes.insert(p, r);
            }
        }
    }

    /// The subscription after `members` changed: the subscribed topics of `topics`.
    pub(super) fn resolve_subscription(&self, topics: &TopicsView) -> TopicsView {
        (self.members.values())
            .flat_map(|m| self.effective(m, topics))
            .filter_map(|n| topics.get(n).map(|v| (n.clone(), *v)))
            .collect()
    }

    /// Rebuilds what is derived from the members (after loading).
    pub fn rebuild_owners(&mut self) {
        self.compile_regexes(None);
        self.owners.clear();
        self.static_members.clear();
        for m in self.members.values() {
            for tp in m.assigned.pairs().chain(m.pending_revocation.pairs()) {
                self.owners.insert(tp, m.id.clone());
            }
            if let Some(instance) = &m.instance_id {
                self.static_members.insert(instance.clone(), m.id.clone());
            }
        }
    }

    /// Handles a heartbeat; on error nothing changed.
    pub fn heartbeat(
        &mut self,
        req: Heartbeat,
        topics: &TopicsView,
        config: &ConsumerConfig,
        now: Ms,
        changes: &mut Changes,
    ) -> Result<HeartbeatAnswer, GroupError> {
        if req.member_epoch == LEAVE_EPOCH || req.member_epoch == STATIC_LEAVE_EPOCH {
            return self.leave(&req, changes);
        }
        if let Some(name) = &req.server_assignor
            && !config.assignors.iter().any(|a| a.name() == name)
        {
            return Err(GroupError::UnsupportedAssignor(name.clone()));
        }
        let (member, replaced) = self.member_for(&req, config)?;
        let full = req.member_epoch == JOIN_EPOCH
            || (req.rebalance_timeout_ms != -1
                && req.subscribed_topics.is_some()
                && req.owned.is_some());
        let before = member.clone();
        let updated = updated_member(member, &req);
        let step = Step {
            before: &before,
            replaced: replaced.as_ref(),
            owned: req.owned.as_ref(),
            session_timeout_ms: config.session_timeout_ms,
        };
        let (updated, is_new) = self.apply(updated, step, topics, config, now, changes);
        let changed = before.assigned != updated.assigned || is_new;
        Ok(HeartbeatAnswer {
            member_id: updated.id.clone(),
            member_epoch: updated.epoch,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            assignment: (full || changed).then(|| updated.assigned.clone()),
        })
    }

    /// Stores `updated` (a new or changed member, of either protocol), bumps the group epoch
    /// when subscriptions changed, recomputes targets when the epoch moved, and reconciles
    /// the member. Returns the member as it now is and whether it is new.
    pub(super) fn apply(
        &mut self,
        updated: ConsumerMember,
        step: Step<'_>,
        topics: &TopicsView,
        config: &ConsumerConfig,
        now: Ms,
        changes: &mut Changes,
    ) -> (ConsumerMember, bool) {
        let before = step.before;
        let is_new = step.replaced.is_none() && !self.members.contains_key(&updated.id);
        if let Some(old) = step.replaced {
            self.replace_static(old, &updated, changes);
        }
        let mut bump = is_new
            || before.subscribed_topics != updated.subscribed_topics
            || before.subscribed_regex != updated.subscribed_regex;
        if is_new || !same_metadata(before, &updated) {
            changes.metadata.insert(updated.id.clone());
        }
        self.compile_regexes(updated.subscribed_regex.as_ref());
        let previous = self.members.insert(updated.id.clone(), updated.clone());
        let subscription = self.resolve_subscription(topics);
        match previous {
            Some(p) => self.members.insert(p.id.clone(), p),
            None => self.members.remove(&updated.id),
        };
        if subscription != self.subscription {
            self.subscription = subscription;
            changes.subscription = true;
            bump = true;
        }
        if let Some(instance) = &updated.instance_id {
            self.static_members
                .insert(instance.clone(), updated.id.clone());
        }
        self.members.insert(updated.id.clone(), updated.clone());
        if bump {
            self.epoch += 1;
            changes.group_epoch = true;
        }
        if self.epoch > self.assignment_epoch {
            self.compute_targets(config, changes);
        }
        let reconciled = self.reconcile_member(&updated.id, step.owned, now, changes);
        if let Some(m) = self.members.get_mut(&reconciled.id) {
            m.session_deadline = now + ms(step.session_timeout_ms);
        }
        (reconciled, is_new)
    }

    /// The member a heartbeat speaks for, new or existing, with the static member it
    /// replaces (if any); or why the heartbeat is refused.
    fn member_for(
        &self,
        req: &Heartbeat,
        config: &ConsumerConfig,
    ) -> Result<(ConsumerMember, Option<ConsumerMember>), GroupError> {
        let joining = req.member_epoch == JOIN_EPOCH;
        let id = if req.member_id.is_empty() {
            req.fresh_member_id.clone()
        } else {
            req.member_id.clone()
        };
        let static_holder = (req.instance_id.as_ref())
            .and_then(|i| self.static_members.get(i))
            .and_then(|id| self.members.get(id));
        if let (Some(_), true) = (&req.instance_id, joining) {
            return match static_holder {
                None => self.existing_or_new(id, config).map(|m| (m, None)),
                Some(old) if old.id != id && old.epoch != STATIC_LEAVE_EPOCH => {
                    Err(GroupError::UnreleasedInstanceId)
                }
                Some(old) if old.id == id => Ok((old.clone(), None)),
                Some(old) => {
                    let mut taken = old.clone();
                    taken.id = id;
                    taken.epoch = 0;
                    taken.previous_epoch = 0;
                    Ok((taken, Some(old.clone())))
                }
            };
        }
        if joining {
            return self.existing_or_new(id, config).map(|m| (m, None));
        }
        let member = match (&req.instance_id, static_holder) {
            (Some(_), None) => return Err(GroupError::UnknownMember),
            (Some(_), Some(holder)) if holder.id != id => return Err(GroupError::FencedInstance),
            _ => self.members.get(&id).ok_or(GroupError::UnknownMember)?,
        };
        check_epoch(member, req.member_epoch, req.owned.as_ref())?;
        Ok((member.clone(), None))
    }

    fn existing_or_new(
        &self,
        id: String,
        config: &ConsumerConfig,
    ) -> Result<ConsumerMember, GroupError> {
        if let Some(m) = self.members.get(&id) {
            return Ok(m.clone());
        }
        if self.members.len() >= config.max_members {
            return Err(GroupError::GroupFull {
                limit: config.max_members,
            });
        }
        Ok(ConsumerMember::new(id))
    }

    /// A static member coming back under a new member id takes the old one's place and
    /// target, so its partitions stay with it and nobody rebalances.
    pub(super) fn replace_static(
        &mut self,
        old: &ConsumerMember,
        new: &ConsumerMember,
        changes: &mut Changes,
    ) {
        self.members.remove(&old.id);
        if let Some(target) = self.targets.remove(&old.id) {
            self.targets.insert(new.id.clone(), target);
            changes.targets.insert(new.id.clone());
        }
        for holder in self.owners.values_mut().filter(|h| **h == old.id) {
            holder.clone_from(&new.id);
        }
        if let Some(instance) = &new.instance_id {
            self.static_members.insert(instance.clone(), new.id.clone());
        }
        changes.removed.insert(old.id.clone());
        changes.current.insert(new.id.clone());
        changes.metadata.insert(new.id.clone());
    }

    /// A new target assignment for every member at the current group epoch.
    fn compute_targets(&mut self, config: &ConsumerConfig, changes: &mut Changes) {
        let assignor = self.preferred_assignor(config);
        let counts: BTreeMap<TopicId, i32> = self.subscription.values().copied().collect();
        let inputs: Vec<AssignorMember<'_>> = (self.members.values())
            .map(|m| AssignorMember {
                id: &m.id,
                subscribed: (self.effective(m, &self.subscription))
                    .filter_map(|n| self.subscription.get(n).map(|(id, _)| *id))
                    .collect(),
                previous: self.targets.get(&m.id),
            })
            .collect();
        let targets = assignor.assign(&inputs, &counts);
        for (id, target) in &targets {
            if self.targets.get(id) != Some(target) {
                changes.targets.insert(id.clone());
            }
        }
        self.targets = targets;
        self.assignment_epoch = self.epoch;
        changes.target_epoch = true;
    }

    /// The assignor most members ask for; the configured default when none asks.
    pub fn preferred_assignor(&self, config: &ConsumerConfig) -> Assignor {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for name in self
            .members
            .values()
            .filter_map(|m| m.server_assignor.as_deref())
        {
            *votes.entry(name).or_default() += 1;
        }
        let chosen = (votes.iter().rev())
            .max_by_key(|(_, n)| **n)
            .and_then(|(name, _)| Assignor::by_name(name));
        (chosen.or_else(|| config.assignors.first().copied())).unwrap_or(Assignor::Uniform)
    }

    /// Moves one member towards its target; records what changed.
    fn reconcile_member(
        &mut self,
        id: &str,
        owned: Option<&Assignment>,
        now: Ms,
        changes: &mut Changes,
    ) -> ConsumerMember {
        let Some(member) = self.members.get(id).cloned() else {
            return ConsumerMember::new(id.to_owned());
        };
        if member.is_reconciled_to(self.assignment_epoch) {
            return member;
        }
        let empty = Assignment::default();
        let owners = &self.owners;
        let held = |t: &TopicId, p: i32| owners.get(&(*t, p)).is_some_and(|h| h != id);
        let target = Target {
            epoch: self.assignment_epoch,
            assignment: self.targets.get(id).unwrap_or(&empty),
            held_by_other: &held,
        };
        let mut next = reconcile(&member, &target, owned);
        if next.same_assignment_state(&member) {
            return member;
        }
        next.revocation_deadline = (next.state == MemberState::UnrevokedPartitions)
            .then(|| now + ms(next.rebalance_timeout_ms));
        self.set_holdings(&member, &next);
        changes.current.insert(id.to_owned());
        self.members.insert(id.to_owned(), next.clone());
        next
    }

    /// Updates who holds what after `before` became `after`.
    pub(super) fn set_holdings(&mut self, before: &ConsumerMember, after: &ConsumerMember) {
        for tp in before
            .assigned
            .pairs()
            .chain(before.pending_revocation.pairs())
        {
            if self.owners.get(&tp) == Some(&before.id) {
                self.owners.remove(&tp);
            }
        }
        for tp in after
            .assigned
            .pairs()
            .chain(after.pending_revocation.pairs())
        {
            self.owners.insert(tp, after.id.clone());
        }
    }
}

/// A topic regular expression as Kafka applies it: matching the whole topic name, with a
/// bounded compiled size.
pub(crate) fn topic_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

/// The member with the heartbeat's changed fields applied.
fn updated_member(mut m: ConsumerMember, req: &Heartbeat) -> ConsumerMember {
    if req.instance_id.is_some() {
        m.instance_id.clone_from(&req.instance_id);
    }
    if req.rack_id.is_some() {
        m.rack_id.clone_from(&req.rack_id);
    }
    if req.rebalance_timeout_ms != -1 {
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    }
    if req.server_assignor.is_some() {
        m.server_assignor.clone_from(&req.server_assignor);
    }
    if let Some(regex) = &req.subscribed_regex {
        m.subscribed_regex = Some(regex.clone()).filter(|r| !r.is_empty());
    }
    if let Some(topics) = &req.subscribed_topics {
        let mut sorted = topics.clone();
        sorted.sort();
        sorted.dedup();
        m.subscribed_topics = sorted;
    }
    m.client_id.clone_from(&req.client_id);
    m.client_host.clone_from(&req.client_host);
    m
}

fn same_metadata(a: &ConsumerMember, b: &ConsumerMember) -> bool {
    a.instance_id == b.instance_id
        && a.rack_id == b.rack_id
        && a.client_id == b.client_id
        && a.client_host == b.client_host
        && a.subscribed_topics == b.subscribed_topics
        && a.subscribed_regex == b.subscribed_regex
        && a.server_assignor == b.server_assignor
        && a.rebalance_timeout_ms == b.rebalance_timeout_ms
}

/// Kafka's member epoch check: a newer epoch than the coordinator's is fenced; an older one
/// only passes when it is the previous epoch and the member owns no more than it is assigned
/// (the answer that moved it on was lost).
fn check_epoch(
    member: &ConsumerMember,
    epoch: i32,
    owned: Option<&Assignment>,
) -> Result<(), GroupError> {
    let fenced = GroupError::FencedMemberEpoch {
        requested: epoch,
        current: member.epoch,
    };
    if epoch > member.epoch {
        return Err(fenced);
    }
    if epoch < member.epoch
        && (epoch != member.previous_epoch || !owned.is_some_and(|o| o.is_subset(&member.assigned)))
    {
        return Err(fenced);
    }
    Ok(())
}
