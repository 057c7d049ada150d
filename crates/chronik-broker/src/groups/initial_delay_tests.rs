//! Kafka's `group.initial.rebalance.delay.ms` on the state machine: the first join phase of
//! an Empty group waits for more members, so consumers starting together share a generation.

use super::group::Group;
use super::member::GroupState;
use super::tests::{MAX, REBALANCE, done, later, req};

const DELAY: u64 = 3_000;

fn delayed_group() -> Group {
    let mut g = Group::new("g");
    g.initial_rebalance_delay = DELAY;
    g
}

#[test]
fn members_arriving_during_the_delay_share_the_first_generation() {
    let mut g = delayed_group();
    let mut a = later(g.join(req("", "a"), 0, MAX));
    g.tick(1_000);
    assert!(
        a.try_recv().is_err(),
        "everyone known joined, yet the delay runs"
    );
    let mut b = later(g.join(req("", "b"), 1_500, MAX));
    g.tick(DELAY);
    assert!(
        a.try_recv().is_err() && b.try_recv().is_err(),
        "a member arrived during the delay: it runs once more"
    );
    assert_eq!(g.state, GroupState::PreparingRebalance);
    g.tick(2 * DELAY - 1);
    assert!(a.try_recv().is_err());
    g.tick(2 * DELAY);
    let (ja, jb) = (done(&mut a), done(&mut b));
    assert_eq!((ja.generation, jb.generation), (1, 1), "one generation");
    assert_eq!(ja.leader, "a");
    assert_eq!(ja.members.len(), 2, "the leader assigns for both");
    assert_eq!(g.state, GroupState::CompletingRebalance);
}

#[test]
fn a_lone_member_waits_one_delay() {
    let mut g = delayed_group();
    let mut a = later(g.join(req("", "a"), 0, MAX));
    g.tick(DELAY - 1);
    assert!(a.try_recv().is_err());
    g.tick(DELAY);
    assert_eq!(done(&mut a).generation, 1);
}

#[test]
fn arrivals_extend_the_delay_only_up_to_the_rebalance_timeout() {
    let mut g = delayed_group();
    let mut first = later(g.join(req("", "m0"), 0, MAX));
    let timeout = REBALANCE as u64;
    let mut t = 0;
    let mut n = 1;
    while t + DELAY < timeout {
        let _held = g.join(req("", &format!("m{n}")), t + 1_000, MAX);
        n += 1;
        t += DELAY;
        g.tick(t);
        assert!(first.try_recv().is_err(), "still delayed at {t}");
    }
    let _late = g.join(req("", "late"), timeout - 500, MAX);
    g.tick(timeout);
    let joined = done(&mut first);
    assert_eq!(
        joined.generation, 1,
        "the rebalance timeout bounds the delay"
    );
    assert_eq!(joined.members.len(), n + 1);
}

#[test]
fn rebalances_of_a_non_empty_group_are_not_delayed() {
    let mut g = delayed_group();
    let mut a = later(g.join(req("", "a"), 0, MAX));
    g.tick(DELAY);
    let ja = done(&mut a);
    let assignment = vec![(ja.member_id.clone(), bytes::Bytes::from_static(b"A"))];
    let synced = g.sync(
        super::ops::Caller {
            member_id: "a",
            instance_id: None,
            generation: 1,
        },
        (None, None),
        assignment,
        DELAY + 1,
    );
    drop(synced);
    assert_eq!(g.state, GroupState::Stable);
    let mut b = later(g.join(req("", "b"), DELAY + 10, MAX));
    let mut a = later(g.join(req("a", ""), DELAY + 20, MAX));
    let (ja, jb) = (done(&mut a), done(&mut b));
    assert_eq!(
        (ja.generation, jb.generation),
        (2, 2),
        "completed as soon as all rejoined"
    );
}
