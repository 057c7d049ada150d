//! JoinGroup on a [`Group`]: new dynamic and static members, rejoins, and the decision whether
//! a join starts a rebalance.

use tokio::sync::oneshot;

use super::error::GroupError;
use super::group::Group;
use super::member::{Answer, GroupState, JoinRequest, JoinResult, Member, Ms};

impl Group {
    /// Handles a JoinGroup. `max_members` bounds members plus pending member ids.
    pub fn join(&mut self, req: JoinRequest, now: Ms, max_members: usize) -> Answer<JoinResult> {
        let fail = |error: GroupError| Answer::Now(JoinResult::error(error, &req.member_id));
        if self.state == GroupState::Dead {
            return fail(GroupError::GroupUnavailable);
        }
        let names: Vec<&str> = req.protocols.iter().map(|p| p.name.as_str()).collect();
        if !self.accepts_protocols(&req.protocol_type, &names) {
            return fail(GroupError::InconsistentProtocol);
        }
        if req.member_id.is_empty() {
            return self.join_unknown(req, now, max_members);
        }
        if self.pending.contains_key(&req.member_id) {
            let id = req.member_id.clone();
            return self.add_and_rebalance(req, id, now);
        }
        if let Some(instance) = &req.instance_id
            && let Some(holder) = self.static_members.get(instance)
            && holder != &req.member_id
        {
            return fail(GroupError::FencedInstance);
        }
        if !self.members.contains_key(&req.member_id) {
            return fail(GroupError::UnknownMember);
        }
        self.join_known(req, now)
    }

    fn join_unknown(
        &mut self,
        req: JoinRequest,
        now: Ms,
        max_members: usize,
    ) -> Answer<JoinResult> {
        if let Some(old_id) = req
            .instance_id
            .as_ref()
            .and_then(|i| self.static_members.get(i))
            .cloned()
        {
            return self.replace_static(req, &old_id, now);
        }
        if self.size() >= max_members {
            let full = GroupError::GroupFull { limit: max_members };
            return Answer::Now(JoinResult::error(full, ""));
        }
        let id = req.fresh_member_id.clone();
        if req.require_known_member_id && req.instance_id.is_none() {
            // Kafka's KIP-394: the member must come back with this id; until then it counts
            // towards the group size and the join phase waits for it.
            let deadline = now + super::member::ms(req.session_timeout_ms);
            self.pending.insert(id.clone(), deadline);
            return Answer::Now(JoinResult::error(GroupError::MemberIdRequired, &id));
        }
        self.add_and_rebalance(req, id, now)
    }

    fn add_and_rebalance(&mut self, req: JoinRequest, id: String, now: Ms) -> Answer<JoinResult> {
        let order = self.next_order();
        let mut member = Member::from_join(&req, id, order, now);
        let (tx, rx) = oneshot::channel();
        member.awaiting_join = Some(tx);
        self.add_member(member);
        self.note_member_added();
        self.rebalance_or_complete(now);
        Answer::Later(rx)
    }

    /// After a member started waiting to join: open a rebalance if none is running, and
    /// complete the join phase if everyone is in.
    fn rebalance_or_complete(&mut self, now: Ms) {
        if matches!(
            self.state,
            GroupState::Empty | GroupState::Stable | GroupState::CompletingRebalance
        ) {
            self.prepare_rebalance(now);
        }
        self.try_complete_join(now);
    }

    fn join_known(&mut self, req: JoinRequest, now: Ms) -> Answer<JoinResult> {
        let is_leader = self.leader.as_deref() == Some(req.member_id.as_str());
        let Some(member) = self.members.get_mut(&req.member_id) else {
            return Answer::Now(JoinResult::error(GroupError::UnknownMember, &req.member_id));
        };
        let unchanged = member.protocols == req.protocols;
        member.heartbeat(now);
        let rebalance = match self.state {
            GroupState::PreparingRebalance => true,
            GroupState::CompletingRebalance => !unchanged,
            GroupState::Stable => is_leader || !unchanged,
            GroupState::Empty | GroupState::Dead => {
                return Answer::Now(JoinResult::error(GroupError::UnknownMember, &req.member_id));
            }
        };
        if !rebalance {
            return Answer::Now(self.current_join_result(&req.member_id, false));
        }
        member.update(&req);
        if let Some(old) = member.awaiting_join.take() {
            // A repeated join replaces the held one; the client stopped waiting for it.
            let replaced = GroupError::RebalanceInProgress;
            let _ = old.send(JoinResult::error(replaced, &req.member_id));
        }
        let (tx, rx) = oneshot::channel();
        member.awaiting_join = Some(tx);
        self.rebalance_or_complete(now);
        Answer::Later(rx)
    }

    /// A static member rejoining without its member id: it takes over the instance with a
    /// new id, and the old id is fenced. In a Stable group it needs no rebalance unless it
    /// changes the protocol the group would select (as in Kafka): a restarted consumer's
    /// metadata differs in its owned partitions and generation, which the current assignment
    /// already answers.
    fn replace_static(&mut self, req: JoinRequest, old_id: &str, now: Ms) -> Answer<JoinResult> {
        let Some(mut old) = self.members.remove(old_id) else {
            return Answer::Now(JoinResult::error(GroupError::UnknownMember, ""));
        };
        old.fail_waiting(&GroupError::FencedInstance);
        let new_id = req.fresh_member_id.clone();
        let mut member = Member::from_join(&req, new_id.clone(), old.joined, now);
        member.assignment = old.assignment;
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        self.add_member(member);
        tracing::debug!(group = %self.id, old = old_id, new = %new_id, "static member replaced");
        let keeps_protocol = self.select_protocol() == self.protocol;
        if self.state == GroupState::Stable && keeps_protocol {
            self.dirty = true;
            let is_leader = self.leader.as_deref() == Some(new_id.as_str());
            return Answer::Now(self.current_join_result(&new_id, is_leader));
        }
        let Some(m) = self.members.get_mut(&new_id) else {
            return Answer::Now(JoinResult::error(GroupError::UnknownMember, ""));
        };
        let (tx, rx) = oneshot::channel();
        m.awaiting_join = Some(tx);
        self.rebalance_or_complete(now);
        Answer::Later(rx)
    }

    /// The answer describing the current generation, without a rebalance. The leader gets the
    /// member list; `skip_assignment` tells a static leader its assignment still stands.
    fn current_join_result(&self, member_id: &str, skip_assignment: bool) -> JoinResult {
        let leader = self.leader.clone().unwrap_or_default();
        let members = if leader == member_id {
            self.joined_members()
        } else {
            Vec::new()
        };
        JoinResult {
            error: None,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader,
            member_id: member_id.to_owned(),
            skip_assignment,
            members,
        }
    }
}
