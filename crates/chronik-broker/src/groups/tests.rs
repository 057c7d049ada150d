//! The group state machine with a hand-driven clock.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::error::GroupError;
use super::group::Group;
use super::member::{Answer, GroupState, JoinRequest, JoinResult, Protocol, SyncResult};
use super::ops::{Caller, Leaving};
use super::partition_for;

const SESSION: i32 = 10_000;
pub(super) const REBALANCE: i32 = 30_000;
pub(super) const MAX: usize = 100;

pub(super) fn req(member_id: &str, fresh: &str) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        instance_id: None,
        client_id: "c".into(),
        client_host: String::new(),
        session_timeout_ms: SESSION,
        rebalance_timeout_ms: REBALANCE,
        protocol_type: "consumer".into(),
        protocols: vec![Protocol {
            name: "range".into(),
            metadata: Bytes::from_static(b"sub"),
        }],
        require_known_member_id: false,
        fresh_member_id: fresh.into(),
    }
}

pub(super) fn later<T>(a: Answer<T>) -> oneshot::Receiver<T> {
    match a {
        Answer::Later(rx) => rx,
        Answer::Now(_) => panic!("expected a held answer"),
    }
}

fn now<T: std::fmt::Debug>(a: Answer<T>) -> T {
    match a {
        Answer::Now(t) => t,
        Answer::Later(_) => panic!("expected an immediate answer"),
    }
}

pub(super) fn done<T>(rx: &mut oneshot::Receiver<T>) -> T {
    rx.try_recv().expect("answer ready")
}

fn who(id: &str, generation: i32) -> Caller<'_> {
    Caller {
        member_id: id,
        instance_id: None,
        generation,
    }
}

/// Two members joined and synced: generation 2 ("a" alone formed generation 1).
fn stable_pair(g: &mut Group) -> (JoinResult, JoinResult) {
    let mut a = later(g.join(req("", "a"), 0, MAX));
    let first = done(&mut a);
    assert_eq!((first.generation, first.leader.as_str()), (1, "a"));
    let mut b = later(g.join(req("", "b"), 10, MAX));
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(who("a", 1), 20),
        Err(GroupError::RebalanceInProgress)
    );
    let mut a = later(g.join(req("a", ""), 30, MAX));
    let (ja, jb) = (done(&mut a), done(&mut b));
    sync_all(g, &ja, &jb);
    (ja, jb)
}

fn sync_all(g: &mut Group, leader: &JoinResult, other: &JoinResult) {
    let assignments = vec![
        (leader.member_id.clone(), Bytes::from_static(b"A")),
        (other.member_id.clone(), Bytes::from_static(b"B")),
    ];
    let mut rx_other = later(g.sync(
        who(&other.member_id, other.generation),
        (None, None),
        vec![],
        40,
    ));
    let mut rx_leader = later(g.sync(
        who(&leader.member_id, leader.generation),
        (None, None),
        assignments,
        41,
    ));
    assert_eq!(done(&mut rx_leader).assignment, Bytes::from_static(b"A"));
    assert_eq!(done(&mut rx_other).assignment, Bytes::from_static(b"B"));
    assert_eq!(g.state, GroupState::Stable);
}

/// A group of one member that joined with `r` and synced its assignment `X`: Stable.
fn stable_alone(g: &mut Group, r: JoinRequest) -> JoinResult {
    let mut rx = later(g.join(r.clone(), 0, MAX));
    let j = done(&mut rx);
    let assignment = vec![(j.member_id.clone(), Bytes::from_static(b"X"))];
    let caller = Caller {
        member_id: &j.member_id,
        instance_id: r.instance_id.as_deref(),
        generation: j.generation,
    };
    let mut s = later(g.sync(caller, (None, None), assignment, 1));
    assert_eq!(done(&mut s).assignment, Bytes::from_static(b"X"));
    assert_eq!(g.state, GroupState::Stable);
    j
}

#[test]
fn two_members_join_elect_a_leader_and_sync() {
    let mut g = Group::new("g");
    let (ja, jb) = stable_pair(&mut g);
    assert_eq!(ja.generation, 2);
    assert_eq!(ja.leader, "a");
    assert_eq!(
        ja.members.len(),
        2,
        "the leader gets every member's metadata"
    );
    assert!(jb.members.is_empty());
    assert_eq!(jb.protocol_name.as_deref(), Some("range"));
    assert_eq!(g.heartbeat(who("b", 2), 50), Ok(()));
    assert_eq!(
        g.heartbeat(who("b", 1), 50),
        Err(GroupError::IllegalGeneration { requested: 1 })
    );
    assert_eq!(
        g.heartbeat(who("zz", 2), 50),
        Err(GroupError::UnknownMember)
    );
    assert!(g.dirty, "the leader's assignment is persisted");
}

#[test]
fn join_completion_is_not_persisted_until_the_leader_syncs() {
    let mut g = Group::new("g");
    let mut a = later(g.join(req("", "a"), 0, MAX));
    let ja = done(&mut a);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    assert!(
        !g.dirty,
        "no record with empty assignments is written at join completion"
    );
    let mut s = later(g.sync(
        who("a", ja.generation),
        (None, None),
        vec![("a".into(), Bytes::from_static(b"A"))],
        1,
    ));
    assert_eq!(done(&mut s).assignment, Bytes::from_static(b"A"));
    assert!(g.dirty, "the completed sync is persisted");
    let stored = g.to_value(0);
    assert_eq!(stored.members[0].assignment, Bytes::from_static(b"A"));
    g.dirty = false;
    let leaving = [Leaving {
        member_id: "a".into(),
        instance_id: None,
    }];
    assert_eq!(g.leave(&leaving, 2), vec![Ok(())]);
    g.tick(3);
    assert_eq!(g.state, GroupState::Empty);
    assert!(g.dirty, "becoming Empty is persisted");
}

#[test]
fn a_restored_group_without_assignments_rebalances() {
    let mut g = Group::new("g");
    let mut a = later(g.join(req("", "a"), 0, MAX));
    let ja = done(&mut a);
    // What older versions stored at join completion: the generation, no assignment.
    let value = g.to_value(0);
    let mut restored = Group::new("g");
    restored.apply_value(value, 1_000);
    assert_eq!(restored.state, GroupState::PreparingRebalance);
    let leader_sync = now(restored.sync(
        who("a", ja.generation),
        (None, None),
        vec![("a".into(), Bytes::from_static(b"A"))],
        1_001,
    ));
    assert_eq!(
        leader_sync.error,
        Some(GroupError::RebalanceInProgress),
        "the member rejoins rather than getting an empty assignment"
    );
    let mut rejoin = later(restored.join(req("a", ""), 1_002, MAX));
    let j = done(&mut rejoin);
    assert_eq!((j.error, j.generation), (None, ja.generation + 1));
}

#[test]
fn static_members_that_have_not_rejoined_stay_when_the_join_phase_ends() {
    let mut g = Group::new("g");
    let mut s = req("", "s-1");
    s.instance_id = Some("inst".into());
    let mut rx = later(g.join(s, 0, MAX));
    let js = done(&mut rx);
    let mut sync = later(g.sync(
        who("s-1", js.generation),
        (None, None),
        vec![("s-1".into(), Bytes::from_static(b"S"))],
        1,
    ));
    assert_eq!(done(&mut sync).assignment, Bytes::from_static(b"S"));
    // A dynamic member joins; the static leader keeps heartbeating but does not rejoin.
    let mut d = later(g.join(req("", "d"), 10, MAX));
    let static_caller = Caller {
        member_id: "s-1",
        instance_id: Some("inst"),
        generation: js.generation,
    };
    for t in [9_000, 18_000, 27_000] {
        assert_eq!(
            g.heartbeat(static_caller, t),
            Err(GroupError::RebalanceInProgress)
        );
        g.tick(t);
    }
    g.tick(10 + REBALANCE as u64);
    let jd = done(&mut d);
    assert_eq!(jd.error, None);
    assert!(
        g.members.contains_key("s-1"),
        "a static member leaves only by session expiry"
    );
    assert_eq!(jd.leader, "d", "the leader is one that rejoined");
    assert_eq!(
        jd.members.len(),
        2,
        "the leader assigns to the static member too"
    );
    assert_eq!(
        g.static_members.get("inst").map(String::as_str),
        Some("s-1")
    );
    // Its session (restarted when the join phase ended) then runs out and it is removed.
    g.tick(10 + (REBALANCE + SESSION) as u64 + 1);
    assert!(!g.members.contains_key("s-1"));
}

#[test]
fn only_static_members_left_unjoined_extend_the_join_phase() {
    let mut g = Group::new("g");
    let mut s = req("", "s-1");
    s.instance_id = Some("inst".into());
    let mut rx = later(g.join(s, 0, MAX));
    let js = done(&mut rx);
    let _sync = later(g.sync(who("s-1", js.generation), (None, None), vec![], 1));
    g.prepare_rebalance(2);
    g.complete_join(3);
    assert_eq!(
        (g.state, g.generation, g.members.len()),
        (GroupState::PreparingRebalance, js.generation, 1),
        "nobody rejoined: no new generation, the static member stays"
    );
}

#[test]
fn offsets_of_an_empty_group_expire_after_the_retention() {
    use super::records::OffsetValue;
    const DAY: i64 = 24 * 3600 * 1000;
    let offset = |ts: i64| OffsetValue {
        offset: 1,
        leader_epoch: -1,
        metadata: String::new(),
        commit_timestamp: ts,
    };
    let mut g = Group::new("g");
    g.offsets.insert(("t".into(), 0), offset(0));
    g.offsets.insert(("t".into(), 1), offset(3 * DAY));
    // A simple consumer's group: each offset counts from its commit.
    assert_eq!(g.expired_offsets(7 * DAY - 1, 7 * DAY, 100), vec![]);
    assert_eq!(
        g.expired_offsets(7 * DAY, 7 * DAY, 100),
        vec![("t".to_owned(), 0)]
    );
    assert_eq!(g.expired_offsets(10 * DAY, 7 * DAY, 1).len(), 1, "bounded");
    // A group that became Empty on day 5: nothing expires before day 12.
    g.state_timestamp = Some(5 * DAY);
    assert_eq!(g.expired_offsets(12 * DAY - 1, 7 * DAY, 100), vec![]);
    assert_eq!(g.expired_offsets(12 * DAY, 7 * DAY, 100).len(), 2);
    // A group with members keeps its offsets.
    let _a = later(g.join(req("", "a"), 0, MAX));
    assert_eq!(g.expired_offsets(100 * DAY, 7 * DAY, 100), vec![]);
}

#[test]
fn member_id_required_then_rejoin() {
    let mut g = Group::new("g");
    let mut r = req("", "c-1");
    r.require_known_member_id = true;
    let first = now(g.join(r.clone(), 0, MAX));
    assert_eq!(first.error, Some(GroupError::MemberIdRequired));
    assert_eq!(first.member_id, "c-1");
    r.member_id = "c-1".into();
    let mut rx = later(g.join(r, 5, MAX));
    assert_eq!(done(&mut rx).generation, 1);
}

#[test]
fn session_expiry_removes_the_member_and_rebalances() {
    let mut g = Group::new("g");
    stable_pair(&mut g);
    // "a" keeps heartbeating, "b" goes silent.
    assert_eq!(g.heartbeat(who("a", 2), 9_000), Ok(()));
    g.tick(10_100);
    assert!(!g.members.contains_key("b"), "b's session expired");
    assert_eq!(g.state, GroupState::PreparingRebalance);
    let mut a = later(g.join(req("a", ""), 10_200, MAX));
    let ja = done(&mut a);
    assert_eq!((ja.generation, ja.members.len()), (3, 1));
}

#[test]
fn rebalance_timeout_removes_members_that_do_not_rejoin() {
    let mut g = Group::new("g");
    stable_pair(&mut g);
    let mut c = later(g.join(req("", "c"), 1_000, MAX));
    // a and b keep their sessions alive by heartbeating, but never rejoin.
    for t in [5_000, 14_000, 23_000] {
        for m in ["a", "b"] {
            let beat = g.heartbeat(who(m, 2), t);
            assert_eq!(beat, Err(GroupError::RebalanceInProgress));
        }
        g.tick(t);
    }
    g.tick(1_000 + REBALANCE as u64 - 1);
    assert!(c.try_recv().is_err(), "still waiting for a and b");
    g.tick(1_000 + REBALANCE as u64);
    let jc = done(&mut c);
    assert_eq!(jc.generation, 3);
    assert_eq!(jc.leader, "c", "the old leader did not rejoin");
    assert_eq!(g.members.len(), 1);
}

#[test]
fn leave_rebalances_and_the_last_leave_empties_the_group() {
    let mut g = Group::new("g");
    stable_pair(&mut g);
    let leaving = [Leaving {
        member_id: "b".into(),
        instance_id: None,
    }];
    assert_eq!(g.leave(&leaving, 100), vec![Ok(())]);
    assert_eq!(g.leave(&leaving, 100), vec![Err(GroupError::UnknownMember)]);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    let mut a = later(g.join(req("a", ""), 110, MAX));
    assert_eq!(done(&mut a).members.len(), 1);
    let a_leaves = [Leaving {
        member_id: "a".into(),
        instance_id: None,
    }];
    assert_eq!(g.leave(&a_leaves, 120), vec![Ok(())]);
    assert_eq!(
        g.state,
        GroupState::Empty,
        "at once: nobody is left to wait for"
    );
}

#[test]
fn the_last_member_leaving_a_stable_group_empties_it_at_once() {
    let mut g = Group::new("g");
    let joined = stable_alone(&mut g, req("", "a"));
    let leaving = [Leaving {
        member_id: "a".into(),
        instance_id: None,
    }];
    assert_eq!(g.leave(&leaving, 20), vec![Ok(())]);
    assert_eq!(g.state, GroupState::Empty, "no tick needed, as in Kafka");
    assert_eq!(g.generation, joined.generation + 1);
    assert!(g.members.is_empty());
}

#[test]
fn static_member_rejoins_without_rebalance_and_old_id_is_fenced() {
    let mut g = Group::new("g");
    let mut r = req("", "s-1");
    r.instance_id = Some("inst".into());
    stable_alone(&mut g, r.clone());
    // Restart of the static member: unknown member id, same instance and metadata.
    r.fresh_member_id = "s-2".into();
    let rejoin = now(g.join(r.clone(), 100, MAX));
    assert_eq!(
        (rejoin.error, rejoin.generation),
        (None, 1),
        "no new generation"
    );
    assert_eq!(rejoin.member_id, "s-2");
    assert!(
        rejoin.skip_assignment,
        "the static leader keeps its assignment"
    );
    assert_eq!(g.state, GroupState::Stable);
    let stale = Caller {
        member_id: "s-1",
        instance_id: Some("inst"),
        generation: 1,
    };
    assert_eq!(g.heartbeat(stale, 101), Err(GroupError::FencedInstance));
    let current = Caller {
        member_id: "s-2",
        instance_id: Some("inst"),
        generation: 1,
    };
    assert_eq!(g.heartbeat(current, 101), Ok(()));
    let s = now(g.sync(who("s-2", 1), (None, None), vec![], 102));
    assert_eq!(s.assignment, Bytes::from_static(b"X"));
}

#[test]
fn a_static_member_rebalances_a_stable_group_only_when_the_selected_protocol_changes() {
    let mut g = Group::new("g");
    let mut r = req("", "s-1");
    r.instance_id = Some("inst".into());
    stable_alone(&mut g, r.clone());
    // A restarted consumer: same protocol, new metadata (owned partitions, generation).
    r.fresh_member_id = "s-2".into();
    r.protocols[0].metadata = Bytes::from_static(b"sub, owns nothing yet");
    let rejoin = now(g.join(r.clone(), 100, MAX));
    assert_eq!(
        (rejoin.error, rejoin.generation),
        (None, 1),
        "no new generation"
    );
    assert_eq!(g.state, GroupState::Stable);
    // Another restart preferring another protocol: the group's selection changes.
    r.fresh_member_id = "s-3".into();
    r.protocols.insert(
        0,
        Protocol {
            name: "cooperative-sticky".into(),
            metadata: Bytes::from_static(b"sub"),
        },
    );
    let mut rx = later(g.join(r, 200, MAX));
    g.tick(200 + REBALANCE as u64);
    let j = done(&mut rx);
    assert_eq!(j.generation, 2, "a rebalance to the new protocol");
    assert_eq!(j.protocol_name.as_deref(), Some("cooperative-sticky"));
}

#[test]
fn stale_generation_is_rejected_for_sync_and_commit() {
    let mut g = Group::new("g");
    stable_pair(&mut g);
    let sync = now(g.sync(who("a", 1), (None, None), vec![], 50));
    assert_eq!(
        sync,
        SyncResult::error(GroupError::IllegalGeneration { requested: 1 })
    );
    assert_eq!(
        g.check_commit(who("a", 1), 50),
        Err(GroupError::IllegalGeneration { requested: 1 })
    );
    assert_eq!(g.check_commit(who("a", 2), 50), Ok(()));
    assert_eq!(
        g.check_commit(who("", -1), 50),
        Err(GroupError::UnknownMember)
    );
    let mut empty = Group::new("simple");
    assert_eq!(
        empty.check_commit(who("", -1), 0),
        Ok(()),
        "simple consumer commit"
    );
}

#[test]
fn protocol_selection_and_mismatch() {
    let mut g = Group::new("g");
    let mut r = req("", "a");
    r.protocols.insert(
        0,
        Protocol {
            name: "roundrobin".into(),
            metadata: Bytes::new(),
        },
    );
    let mut a = later(g.join(r, 0, MAX));
    assert_eq!(done(&mut a).protocol_name.as_deref(), Some("roundrobin"));
    let mut b = later(g.join(req("", "b"), 1, MAX));
    let mut a = later(g.join(req("a", ""), 2, MAX));
    assert_eq!(done(&mut a).protocol_name.as_deref(), Some("range"));
    assert_eq!(done(&mut b).protocol_name.as_deref(), Some("range"));
    let mut other = req("", "x");
    other.protocols[0].name = "sticky".into();
    let refused = now(g.join(other, 3, MAX));
    assert_eq!(refused.error, Some(GroupError::InconsistentProtocol));
}

#[test]
fn group_size_is_bounded() {
    let mut g = Group::new("g");
    let _a = later(g.join(req("", "a"), 0, 1));
    let full = now(g.join(req("", "b"), 1, 1));
    assert_eq!(full.error, Some(GroupError::GroupFull { limit: 1 }));
}

#[test]
fn stored_membership_restores_a_stable_group() {
    let mut g = Group::new("g");
    stable_pair(&mut g);
    let value = g.to_value(0);
    let mut restored = Group::new("g");
    restored.apply_value(value, 5_000);
    assert_eq!(restored.state, GroupState::Stable);
    assert_eq!(
        (restored.generation, restored.leader.as_deref()),
        (2, Some("a"))
    );
    assert_eq!(restored.heartbeat(who("b", 2), 5_001), Ok(()));
    let s = now(restored.sync(who("b", 2), (None, None), vec![], 5_002));
    assert_eq!(
        s.assignment,
        Bytes::from_static(b"B"),
        "Stable: answered at once"
    );
}

#[test]
fn partition_matches_kafka_string_hash() {
    // "group".hashCode() == 98629247 in Java.
    assert_eq!(partition_for("group", 8), 98_629_247 % 8);
    assert_eq!(partition_for("group", 50), 98_629_247 % 50);
    assert_eq!(partition_for("", 8), 0);
    for g in ["a", "some-group", "ünïcode"] {
        assert!((0..8).contains(&partition_for(g, 8)));
        assert_eq!(partition_for(g, 1), 0, "one partition holds every group");
        assert_eq!(partition_for(g, 0), 0, "a bad count never divides by zero");
    }
}
