//! A member of a consumer group (KIP-848 protocol) and its reconciliation towards its target
//! assignment, as Kafka's `CurrentAssignmentBuilder` does it.

use super::assignment::Assignment;
use crate::groups::member::{Ms, Protocol};

/// What a member using the classic protocol (JoinGroup, SyncGroup, Heartbeat) inside a
/// consumer group carries besides a consumer-protocol member's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClassicMember {
    /// Its JoinGroup's session timeout: classic members keep their own.
    pub session_timeout_ms: i32,
    /// The protocols (assignor names with subscriptions) it offered, in its order.
    pub protocols: Vec<Protocol>,
}

/// Where a member stands in reconciling its assignment with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberState {
    /// Has everything of its target it can have at its epoch.
    Stable,
    /// Must first give up `pending_revocation`; its epoch does not move until it reports
    /// (in a heartbeat's owned partitions) that it no longer holds them.
    UnrevokedPartitions,
    /// Waits for partitions of its target that another member has not released yet.
    UnreleasedPartitions,
}

impl MemberState {
    /// The value Kafka stores in the current-assignment record.
    pub fn code(self) -> i8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<MemberState> {
        [
            MemberState::Stable,
            MemberState::UnrevokedPartitions,
            MemberState::UnreleasedPartitions,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// A consumer group member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsumerMember {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Topic names it subscribes to, sorted.
    pub subscribed_topics: Vec<String>,
    /// A regular expression whose matching topics it also subscribes to (heartbeat v1).
    pub subscribed_regex: Option<String>,
    /// The assignor it asked for (`group.remote.assignor`), if any.
    pub server_assignor: Option<String>,
    pub rebalance_timeout_ms: i32,
    /// Its member epoch: the target assignment epoch it has reconciled to (-2: a static
    /// member that left and may come back).
    pub epoch: i32,
    /// The epoch before the last bump: a heartbeat with it is accepted when the answer that
    /// bumped it may have been lost.
    pub previous_epoch: i32,
    pub state: MemberState,
    /// What it may consume now.
    pub assigned: Assignment,
    /// What it must give up before it moves on.
    pub pending_revocation: Assignment,
    /// When the member is removed unless it heartbeats (not stored: restarts on load).
    pub session_deadline: Ms,
    /// When a member that has not revoked its partitions is removed (rebalance timeout).
    pub revocation_deadline: Option<Ms>,
    /// Set for a member that uses the classic protocol (during an online migration).
    pub classic: Option<ClassicMember>,
}

impl ConsumerMember {
    pub fn new(id: String) -> ConsumerMember {
        ConsumerMember {
            id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_topics: Vec::new(),
            subscribed_regex: None,
            server_assignor: None,
            rebalance_timeout_ms: 0,
            epoch: 0,
            previous_epoch: 0,
            state: MemberState::Stable,
            assigned: Assignment::default(),
            pending_revocation: Assignment::default(),
            session_deadline: 0,
            revocation_deadline: None,
            classic: None,
        }
    }

    /// Whether the member has reached the target assignment of `epoch`.
    pub fn is_reconciled_to(&self, epoch: i32) -> bool {
        self.state == MemberState::Stable && self.epoch == epoch
    }

    /// The stored part of the member's assignment state (timers aside).
    pub fn same_assignment_state(&self, other: &ConsumerMember) -> bool {
        self.epoch == other.epoch
            && self.previous_epoch == other.previous_epoch
            && self.state == other.state
            && self.assigned == other.assigned
            && self.pending_revocation == other.pending_revocation
    }

    fn move_to_epoch(&mut self, epoch: i32) {
        if epoch != self.epoch {
            self.previous_epoch = self.epoch;
            self.epoch = epoch;
        }
    }
}

/// What reconciliation needs to know besides the member.
pub(crate) struct Target<'a> {
    pub epoch: i32,
    pub assignment: &'a Assignment,
    /// Whether another member still holds a partition (assigned or pending revocation).
    pub held_by_other: &'a dyn Fn(&chronik_metadata::TopicId, i32) -> bool,
}

/// Moves `member` towards `target` given the partitions it reports owning (`None`: not
/// reported in this heartbeat). Returns the member unchanged when it cannot progress.
pub(crate) fn reconcile(
    member: &ConsumerMember,
    target: &Target<'_>,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    match member.state {
        MemberState::Stable if member.epoch == target.epoch => member.clone(),
        MemberState::Stable | MemberState::UnreleasedPartitions => {
            next_assignment(member, member.epoch, target, owned)
        }
        MemberState::UnrevokedPartitions => {
            if still_owns(owned, &member.pending_revocation) {
                member.clone()
            } else {
                next_assignment(member, member.epoch, target, owned)
            }
        }
    }
}

/// Whether the reported owned partitions include any of `revoking` (unknown counts as yes).
fn still_owns(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    owned.is_none_or(|o| o.overlaps(revoking))
}

fn next_assignment(
    member: &ConsumerMember,
    epoch: i32,
    target: &Target<'_>,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    let kept = member.assigned.intersection(target.assignment);
    let revoking = member.assigned.difference(&kept);
    let wanted = target.assignment.difference(&kept);
    let (free, unreleased): (Vec<_>, Vec<_>) = wanted.pairs().partition(|(t, p)| {
        !(target.held_by_other)(t, *p) || member.pending_revocation.contains(t, *p)
    });
    let mut next = member.clone();
    if !revoking.is_empty() && still_owns(owned, &revoking) {
        next.state = MemberState::UnrevokedPartitions;
        next.move_to_epoch(epoch);
        next.assigned = kept;
        next.pending_revocation = revoking;
        return next;
    }
    next.assigned = kept.union(&Assignment::from_pairs(free));
    next.pending_revocation = Assignment::default();
    next.state = if unreleased.is_empty() {
        MemberState::Stable
    } else {
        MemberState::UnreleasedPartitions
    };
    next.move_to_epoch(target.epoch);
    next
}

#[cfg(test)]
mod tests {
    use chronik_metadata::{TopicId, Uuid};

    use super::*;

    fn t() -> TopicId {
        Uuid([1; 16])
    }

    fn parts(ps: &[i32]) -> Assignment {
        Assignment::from_pairs(ps.iter().map(|p| (t(), *p)))
    }

    fn member(epoch: i32, assigned: &[i32]) -> ConsumerMember {
        let mut m = ConsumerMember::new("m".into());
        m.epoch = epoch;
        m.assigned = parts(assigned);
        m
    }

    fn nobody(_: &TopicId, _: i32) -> bool {
        false
    }

    #[test]
    fn a_stable_member_takes_free_partitions_and_the_new_epoch() {
        let target = parts(&[0, 1, 2]);
        let t = Target {
            epoch: 3,
            assignment: &target,
            held_by_other: &nobody,
        };
        let next = reconcile(&member(2, &[0]), &t, Some(&parts(&[0])));
        assert_eq!((next.epoch, next.previous_epoch), (3, 2));
        assert_eq!(next.assigned, target);
        assert_eq!(next.state, MemberState::Stable);
    }

    #[test]
    fn revocation_comes_first_and_holds_the_epoch_until_acknowledged() {
        let target = parts(&[0]);
        let t = Target {
            epoch: 5,
            assignment: &target,
            held_by_other: &nobody,
        };
        let m = member(4, &[0, 1]);
        let next = reconcile(&m, &t, Some(&parts(&[0, 1])));
        assert_eq!(next.state, MemberState::UnrevokedPartitions);
        assert_eq!(next.epoch, 4);
        assert_eq!(next.assigned, parts(&[0]));
        assert_eq!(next.pending_revocation, parts(&[1]));
        assert_eq!(
            reconcile(&next, &t, None),
            next,
            "no owned list: still owns"
        );
        assert_eq!(reconcile(&next, &t, Some(&parts(&[0, 1]))), next);
        let done = reconcile(&next, &t, Some(&parts(&[0])));
        assert_eq!(done.state, MemberState::Stable);
        assert_eq!((done.epoch, done.assigned.clone()), (5, parts(&[0])));
        assert!(done.pending_revocation.is_empty());
    }

    #[test]
    fn partitions_another_member_still_holds_wait() {
        let target = parts(&[0, 1]);
        let held = |_: &TopicId, p: i32| p == 1;
        let t = Target {
            epoch: 2,
            assignment: &target,
            held_by_other: &held,
        };
        let next = reconcile(&member(1, &[0]), &t, Some(&parts(&[0])));
        assert_eq!(next.state, MemberState::UnreleasedPartitions);
        assert_eq!((next.epoch, next.assigned.clone()), (2, parts(&[0])));
        let released = Target {
            held_by_other: &nobody,
            ..t
        };
        let done = reconcile(&next, &released, None);
        assert_eq!(done.state, MemberState::Stable);
        assert_eq!(done.assigned, target);
    }

    #[test]
    fn a_member_that_reports_nothing_owned_skips_revocation() {
        let target = parts(&[2]);
        let t = Target {
            epoch: 7,
            assignment: &target,
            held_by_other: &nobody,
        };
        let next = reconcile(&member(6, &[0, 1]), &t, Some(&Assignment::default()));
        assert_eq!(next.state, MemberState::Stable);
        assert_eq!((next.epoch, next.assigned.clone()), (7, parts(&[2])));
    }
}
