//! A consumer group's members leaving, expiring and being checked: leave heartbeats,
//! removal with its epoch bump, session and revocation deadlines, and the member epoch
//! checks of offset commits and fetches.

use super::assignment::Assignment;
use super::group::{
    Changes, ConsumerConfig, ConsumerGroup, Heartbeat, HeartbeatAnswer, STATIC_LEAVE_EPOCH,
};
use super::member::{ConsumerMember, MemberState};
use crate::groups::error::GroupError;
use crate::groups::member::{Ms, ms};

impl ConsumerGroup {
    /// A heartbeat with epoch -1 (leave) or -2 (a static member leaving for a while).
    pub(super) fn leave(
        &mut self,
        req: &Heartbeat,
        changes: &mut Changes,
    ) -> Result<HeartbeatAnswer, GroupError> {
        let member = match &req.instance_id {
            None => self
                .members
                .get(&req.member_id)
                .ok_or(GroupError::UnknownMember)?,
            Some(instance) => {
                let holder = (self.static_members.get(instance))
                    .and_then(|id| self.members.get(id))
                    .ok_or(GroupError::UnknownMember)?;
                if holder.id != req.member_id {
                    return Err(GroupError::FencedInstance);
                }
                holder
            }
        };
        let id = member.id.clone();
        if req.member_epoch == STATIC_LEAVE_EPOCH && member.instance_id.is_some() {
            let before = member.clone();
            let mut parked = member.clone();
            parked.previous_epoch = parked.epoch;
            parked.epoch = STATIC_LEAVE_EPOCH;
            parked.pending_revocation = Assignment::default();
            self.set_holdings(&before, &parked);
            self.members.insert(id.clone(), parked);
            changes.current.insert(id.clone());
        } else {
            self.remove_member(&id, changes);
        }
        Ok(HeartbeatAnswer {
            member_id: id,
            member_epoch: req.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    /// Removes a member (left, expired or fenced) and bumps the group epoch so the others
    /// get its partitions.
    pub fn remove_member(&mut self, id: &str, changes: &mut Changes) {
        let Some(member) = self.members.remove(id) else {
            return;
        };
        let gone = ConsumerMember::new(String::new());
        self.set_holdings(&member, &gone);
        if let Some(instance) = &member.instance_id
            && self.static_members.get(instance).map(String::as_str) == Some(id)
        {
            self.static_members.remove(instance);
        }
        self.targets.remove(id);
        self.subscription = self.resolve_subscription(&self.subscription);
        self.epoch += 1;
        changes.group_epoch = true;
        changes.removed.insert(id.to_owned());
        changes.metadata.remove(id);
        changes.current.remove(id);
        changes.targets.remove(id);
    }

    /// Removes members whose session expired or who did not revoke in time.
    pub fn tick(&mut self, now: Ms, changes: &mut Changes) -> Vec<String> {
        let expired: Vec<String> = (self.members.values())
            .filter(|m| {
                m.session_deadline <= now || m.revocation_deadline.is_some_and(|d| d <= now)
            })
            .map(|m| m.id.clone())
            .collect();
        for id in &expired {
            self.remove_member(id, changes);
        }
        expired
    }

    /// Whether `member_id` at `epoch` may commit offsets: any caller with a negative epoch
    /// while the group has no members (an admin or a manual commit), else a member at its
    /// current epoch exactly.
    pub fn check_offsets_caller(&self, member_id: &str, epoch: i32) -> Result<(), GroupError> {
        if epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        let member = self
            .members
            .get(member_id)
            .ok_or(GroupError::UnknownMember)?;
        if member.epoch != epoch {
            return Err(GroupError::StaleMemberEpoch {
                requested: epoch,
                current: member.epoch,
            });
        }
        Ok(())
    }

    /// Whether an OffsetFetch naming `member_id` (v9) at `epoch` may read: anyone naming no
    /// member with a negative epoch, else a member at its current epoch.
    pub fn check_fetch_caller(
        &self,
        member_id: Option<&str>,
        epoch: i32,
    ) -> Result<(), GroupError> {
        match member_id {
            None if epoch < 0 => Ok(()),
            id => {
                let member = self.members.get(id.unwrap_or_default());
                let member = member.ok_or(GroupError::UnknownMember)?;
                if member.epoch != epoch {
                    return Err(GroupError::StaleMemberEpoch {
                        requested: epoch,
                        current: member.epoch,
                    });
                }
                Ok(())
            }
        }
    }

    /// Restarts every member's session at `now` (after loading).
    pub fn restart_sessions(&mut self, now: Ms, config: &ConsumerConfig) {
        for m in self.members.values_mut() {
            m.session_deadline = now + ms(config.session_timeout_ms);
            m.revocation_deadline = (m.state == MemberState::UnrevokedPartitions)
                .then(|| now + ms(m.rebalance_timeout_ms));
        }
    }
}
