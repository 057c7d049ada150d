//! SyncGroup, Heartbeat, LeaveGroup and the OffsetCommit membership check on a [`Group`].

use std::collections::HashMap;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::error::GroupError;
use super::group::Group;
use super::member::{Answer, GroupState, Member, Ms, SyncResult};

/// Who a request says it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub member_id: &'a str,
    pub instance_id: Option<&'a str>,
    pub generation: i32,
}

/// One member named in a LeaveGroup.
#[derive(Debug, Clone)]
pub(crate) struct Leaving {
    pub member_id: String,
    pub instance_id: Option<String>,
}

impl Group {
    /// The member the caller names, or why it is not accepted (fencing before generation).
    fn check_member(&self, caller: Caller<'_>) -> Result<&Member, GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::GroupUnavailable);
        }
        // A known instance under another member id is fenced, whether or not the stale id
        // is still a member (Kafka checks fencing first).
        if let Some(instance) = caller.instance_id
            && let Some(holder) = self.static_members.get(instance)
            && holder != caller.member_id
        {
            return Err(GroupError::FencedInstance);
        }
        let member = (self.members.get(caller.member_id)).ok_or(GroupError::UnknownMember)?;
        if caller.generation != self.generation {
            return Err(GroupError::IllegalGeneration {
                requested: caller.generation,
            });
        }
        Ok(member)
    }

    /// Handles a SyncGroup. The leader's call carries every member's assignment; the answers
    /// go out once it arrives.
    pub fn sync(
        &mut self,
        caller: Caller<'_>,
        protocol: (Option<&str>, Option<&str>),
        assignments: Vec<(String, Bytes)>,
        now: Ms,
    ) -> Answer<SyncResult> {
        let fail = |error: GroupError| Answer::Now(SyncResult::error(error));
        if let Err(e) = self.check_member(caller) {
            return fail(e);
        }
        let (ptype, pname) = protocol;
        if ptype.is_some_and(|t| Some(t) != self.protocol_type.as_deref())
            || pname.is_some_and(|n| Some(n) != self.protocol.as_deref())
        {
            return fail(GroupError::InconsistentProtocol);
        }
        let is_leader = self.leader.as_deref() == Some(caller.member_id);
        let result = self.sync_result(caller.member_id);
        let Some(member) = self.members.get_mut(caller.member_id) else {
            return fail(GroupError::UnknownMember);
        };
        member.heartbeat(now);
        match self.state {
            GroupState::Empty | GroupState::Dead => fail(GroupError::UnknownMember),
            GroupState::PreparingRebalance => fail(GroupError::RebalanceInProgress),
            GroupState::Stable => Answer::Now(result),
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                member.awaiting_sync = Some(tx);
                if is_leader {
                    self.complete_sync(assignments);
                }
                Answer::Later(rx)
            }
        }
    }

    fn sync_result(&self, member_id: &str) -> SyncResult {
        SyncResult {
            error: None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment: (self.members.get(member_id))
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    /// Stores the leader's assignment (members it left out get an empty one), makes the group
    /// Stable and answers every waiting SyncGroup.
    fn complete_sync(&mut self, assignments: Vec<(String, Bytes)>) {
        let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
        for m in self.members.values_mut() {
            m.assignment = given.remove(&m.id).unwrap_or_default();
        }
        self.state = GroupState::Stable;
        self.dirty = true;
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.sync_result(&id);
            if let Some(tx) = self
                .members
                .get_mut(&id)
                .and_then(|m| m.awaiting_sync.take())
            {
                let _ = tx.send(result);
            }
        }
    }

    /// Handles a Heartbeat. A member of a rebalancing group is kept alive but told to rejoin.
    pub fn heartbeat(&mut self, caller: Caller<'_>, now: Ms) -> Result<(), GroupError> {
        self.check_member(caller)?;
        if let Some(m) = self.members.get_mut(caller.member_id) {
            m.heartbeat(now);
        }
        match self.state {
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// Handles the members of a LeaveGroup: one outcome per member, in order.
    pub fn leave(&mut self, leaving: &[Leaving], now: Ms) -> Vec<Result<(), GroupError>> {
        let mut outcomes = Vec::with_capacity(leaving.len());
        for who in leaving {
            let outcome = self.resolve_leaving(who).map(|id| {
                if self.pending.remove(&id).is_none() {
                    tracing::debug!(group = %self.id, member = %id, "member left");
                    self.remove_and_rebalance(&id, now);
                } else {
                    self.try_complete_join(now);
                }
            });
            outcomes.push(outcome);
        }
        outcomes
    }

    fn resolve_leaving(&self, who: &Leaving) -> Result<String, GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::GroupUnavailable);
        }
        match &who.instance_id {
            Some(instance) => {
                let id = (self.static_members.get(instance)).ok_or(GroupError::UnknownMember)?;
                if !who.member_id.is_empty() && &who.member_id != id {
                    return Err(GroupError::FencedInstance);
                }
                Ok(id.clone())
            }
            None if self.members.contains_key(&who.member_id)
                || self.pending.contains_key(&who.member_id) =>
            {
                Ok(who.member_id.clone())
            }
            None => Err(GroupError::UnknownMember),
        }
    }

    /// Whether an OffsetCommit from `caller` may be written. A commit with generation -1 from
    /// outside the group is a simple consumer's and is allowed while the group is Empty.
    pub fn check_commit(&mut self, caller: Caller<'_>, now: Ms) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::GroupUnavailable);
        }
        if caller.generation < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        self.check_member(caller)?;
        if self.state == GroupState::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        if let Some(m) = self.members.get_mut(caller.member_id) {
            m.heartbeat(now);
        }
        Ok(())
    }
}
