//! The consumer group state machine driven through heartbeats, as a member sees it.

use chronik_metadata::Uuid;

use super::group::{
    Changes, ConsumerConfig, ConsumerGroup, ConsumerGroupState, Heartbeat, HeartbeatAnswer,
    TopicsView,
};
use super::{Assignment, Assignor};
use crate::groups::error::GroupError;

fn tid() -> Uuid {
    Uuid([5; 16])
}

fn topics(partitions: i32) -> TopicsView {
    [("t".to_owned(), (tid(), partitions))].into()
}

fn config() -> ConsumerConfig {
    ConsumerConfig {
        session_timeout_ms: 45_000,
        heartbeat_interval_ms: 5_000,
        max_members: 3,
        assignors: Assignor::ALL.to_vec(),
    }
}

fn parts(ps: &[i32]) -> Assignment {
    Assignment::from_pairs(ps.iter().map(|p| (tid(), *p)))
}

fn join(id: &str) -> Heartbeat {
    Heartbeat {
        member_id: id.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 10_000,
        subscribed_topics: Some(vec!["t".into()]),
        owned: Some(Assignment::default()),
        client_id: "c".into(),
        ..Heartbeat::default()
    }
}

/// A steady heartbeat: the member's epoch and what it owns.
fn beat(id: &str, epoch: i32, owned: &Assignment) -> Heartbeat {
    Heartbeat {
        member_id: id.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        owned: Some(owned.clone()),
        ..Heartbeat::default()
    }
}

struct Harness {
    group: ConsumerGroup,
    topics: TopicsView,
    now: u64,
}

impl Harness {
    fn new(partitions: i32) -> Harness {
        Harness {
            group: ConsumerGroup::default(),
            topics: topics(partitions),
            now: 0,
        }
    }

    fn send(&mut self, hb: Heartbeat) -> Result<HeartbeatAnswer, GroupError> {
        let mut changes = Changes::default();
        self.now += 100;
        self.group
            .heartbeat(hb, &self.topics, &config(), self.now, &mut changes)
    }
}

#[test]
fn a_first_member_gets_every_partition_at_epoch_one() {
    let mut h = Harness::new(4);
    let a = h.send(join("a")).expect("joins");
    assert_eq!(a.member_epoch, 1);
    assert_eq!(a.assignment, Some(parts(&[0, 1, 2, 3])));
    assert_eq!(a.heartbeat_interval_ms, 5_000);
    assert_eq!(h.group.state(), ConsumerGroupState::Stable);
    let again = h.send(beat("a", 1, &parts(&[0, 1, 2, 3]))).expect("steady");
    assert_eq!(
        again.assignment, None,
        "nothing changed: no assignment sent"
    );
}

#[test]
fn a_second_member_gets_partitions_only_after_the_first_revokes_them() {
    let mut h = Harness::new(4);
    h.send(join("a")).expect("a joins");
    let b = h.send(join("b")).expect("b joins");
    assert_eq!(b.member_epoch, 2);
    assert_eq!(
        b.assignment,
        Some(Assignment::default()),
        "a still holds them"
    );
    assert_eq!(h.group.state(), ConsumerGroupState::Reconciling);
    let a = h
        .send(beat("a", 1, &parts(&[0, 1, 2, 3])))
        .expect("a told to revoke");
    assert_eq!(a.member_epoch, 1, "epoch waits for the revocation");
    let kept = a.assignment.expect("new assignment");
    assert_eq!(kept.len(), 2);
    let a = h.send(beat("a", 1, &kept)).expect("a revoked");
    assert_eq!((a.member_epoch, a.assignment), (2, None));
    let b = h
        .send(beat("b", 2, &Assignment::default()))
        .expect("b takes the rest");
    let taken = b.assignment.expect("b's partitions");
    assert_eq!(taken, parts(&[0, 1, 2, 3]).difference(&kept));
    assert_eq!(h.group.state(), ConsumerGroupState::Stable);
}

#[test]
fn a_leaving_member_hands_its_partitions_over() {
    let mut h = Harness::new(2);
    h.send(join("a")).expect("a");
    h.send(join("b")).expect("b");
    let a = h.send(beat("a", 1, &parts(&[0, 1]))).expect("revoke");
    let kept = a.assignment.expect("kept");
    h.send(beat("a", 1, &kept)).expect("revoked");
    let left = h.send(beat("a", -1, &kept)).expect("a leaves");
    assert_eq!(left.member_epoch, -1);
    let b = h.send(beat("b", 2, &Assignment::default())).expect("b");
    assert_eq!(b.assignment, Some(parts(&[0, 1])));
    assert_eq!(b.member_epoch, 3, "leave bumped the group epoch");
}

#[test]
fn stale_and_future_epochs_are_fenced_and_unknown_members_refused() {
    let mut h = Harness::new(2);
    h.send(join("a")).expect("a");
    let future = h.send(beat("a", 7, &parts(&[0, 1])));
    assert!(matches!(
        future,
        Err(GroupError::FencedMemberEpoch {
            requested: 7,
            current: 1
        })
    ));
    let unknown = h.send(beat("zz", 1, &Assignment::default()));
    assert_eq!(unknown, Err(GroupError::UnknownMember));
    h.send(join("b")).expect("b");
    let a = h.send(beat("a", 1, &parts(&[0, 1]))).expect("revoke");
    let kept = a.assignment.expect("kept");
    h.send(beat("a", 1, &kept)).expect("a at epoch 2");
    // The answer that moved a to epoch 2 was lost: epoch 1 with a subset of what it has passes.
    assert!(h.send(beat("a", 1, &kept)).is_ok());
    let too_much = h.send(beat("a", 1, &parts(&[0, 1])));
    assert!(matches!(
        too_much,
        Err(GroupError::FencedMemberEpoch { .. })
    ));
}

#[test]
fn expired_sessions_and_unrevoked_partitions_remove_members() {
    let mut h = Harness::new(2);
    h.send(join("a")).expect("a");
    h.send(join("b")).expect("b");
    h.send(beat("a", 1, &parts(&[0, 1])))
        .expect("a must revoke");
    let mut changes = Changes::default();
    // a never revokes: its rebalance timeout (10 s) passes before any session does.
    assert_eq!(
        h.group.tick(h.now + 10_001, &mut changes),
        vec!["a".to_owned()]
    );
    assert!(changes.removed.contains("a") && changes.group_epoch);
    let mut changes = Changes::default();
    assert_eq!(
        h.group.tick(h.now + 45_001, &mut changes),
        vec!["b".to_owned()]
    );
    assert_eq!(h.group.state(), ConsumerGroupState::Empty);
}

#[test]
fn a_static_member_coming_back_keeps_its_partitions() {
    let mut h = Harness::new(2);
    let mut first = join("a");
    first.instance_id = Some("i1".into());
    h.send(first).expect("a");
    let epoch = h.group.epoch;
    let mut park = beat("a", -2, &parts(&[0, 1]));
    park.instance_id = Some("i1".into());
    assert_eq!(h.send(park).expect("parks").member_epoch, -2);
    let mut intruder = join("x");
    intruder.instance_id = Some("i2".into());
    h.send(intruder).expect("another instance joins");
    let mut back = join("a2");
    back.instance_id = Some("i1".into());
    let answer = h.send(back).expect("takes over");
    assert_eq!(answer.member_id, "a2");
    assert!(!h.group.members.contains_key("a"));
    let mine = answer.assignment.expect("assignment");
    assert!(!mine.is_empty(), "kept what the target gives it");
    assert!(h.group.epoch > epoch);
    let mut twin = join("a3");
    twin.instance_id = Some("i1".into());
    assert_eq!(h.send(twin), Err(GroupError::UnreleasedInstanceId));
}

#[test]
fn a_grown_topic_bumps_the_epoch_and_is_assigned() {
    let mut h = Harness::new(1);
    h.send(join("a")).expect("a");
    h.topics = topics(3);
    let a = h.send(beat("a", 1, &parts(&[0]))).expect("a");
    assert_eq!(a.member_epoch, 2);
    assert_eq!(a.assignment, Some(parts(&[0, 1, 2])));
}

#[test]
fn a_full_group_refuses_new_members_only() {
    let mut h = Harness::new(1);
    for id in ["a", "b", "c"] {
        h.send(join(id)).expect("fits");
    }
    assert_eq!(h.send(join("d")), Err(GroupError::GroupFull { limit: 3 }));
    assert!(h.send(join("a")).is_ok(), "a known member rejoins");
}

#[test]
fn offsets_need_the_current_member_epoch() {
    let mut h = Harness::new(1);
    assert!(
        h.group.check_offsets_caller("", -1).is_ok(),
        "empty group: admin commit"
    );
    h.send(join("a")).expect("a");
    assert_eq!(
        h.group.check_offsets_caller("", -1),
        Err(GroupError::UnknownMember)
    );
    assert!(h.group.check_offsets_caller("a", 1).is_ok());
    assert_eq!(
        h.group.check_offsets_caller("a", 0),
        Err(GroupError::StaleMemberEpoch {
            requested: 0,
            current: 1
        })
    );
}

#[test]
fn a_regex_subscription_takes_matching_topics_as_they_appear() {
    let mut h = Harness::new(1);
    let other = Uuid([6; 16]);
    h.topics.insert("t2".into(), (other, 2));
    h.topics.insert("x".into(), (Uuid([7; 16]), 1));
    h.topics.insert("__internal".into(), (Uuid([8; 16]), 1));
    let mut hb = join("a");
    hb.subscribed_topics = Some(Vec::new());
    hb.subscribed_regex = Some("t.*|__.*".into());
    let a = h.send(hb).expect("joins by regex");
    let mut want = parts(&[0]);
    want.insert(other, 0);
    want.insert(other, 1);
    assert_eq!(
        a.assignment,
        Some(want.clone()),
        "t and t2, not x, not internal topics"
    );
    let grown = Uuid([9; 16]);
    h.topics.insert("t3".into(), (grown, 1));
    let a = h.send(beat("a", 1, &want)).expect("a");
    want.insert(grown, 0);
    assert_eq!(
        (a.member_epoch, a.assignment),
        (2, Some(want)),
        "a new matching topic"
    );
    let mut cleared = beat("a", 2, &parts(&[0]));
    cleared.subscribed_regex = Some(String::new());
    cleared.subscribed_topics = Some(vec!["x".into()]);
    let a = h.send(cleared).expect("back to names");
    assert_eq!(
        (a.member_epoch, a.assignment),
        (2, Some(Assignment::default())),
        "first gives up what the regex gave it"
    );
    let a = h
        .send(beat("a", 2, &Assignment::default()))
        .expect("revoked");
    let x = Assignment::from_pairs([(Uuid([7; 16]), 0)]);
    assert_eq!((a.member_epoch, a.assignment), (3, Some(x)));
}

mod classic_members {
    use bytes::{BufMut, Bytes, BytesMut};
    use chronik_kafka::kafka_protocol::messages::ConsumerProtocolSubscription;
    use chronik_kafka::kafka_protocol::messages::consumer_protocol_subscription::TopicPartition;
    use chronik_kafka::kafka_protocol::protocol::{Encodable, StrBytes};

    use super::*;
    use crate::groups::consumer::classic::{decode_assignment, encode_assignment};
    use crate::groups::member::{JoinRequest, Protocol};
    use crate::groups::ops::{Caller, Leaving};

    /// A classic consumer's subscription to "t" owning `owned` (ConsumerProtocol v1).
    fn subscription(owned: &[i32]) -> Bytes {
        let mut sub = ConsumerProtocolSubscription::default()
            .with_topics(vec![StrBytes::from_static_str("t")]);
        if !owned.is_empty() {
            sub.owned_partitions = vec![
                TopicPartition::default()
                    .with_topic(chronik_kafka::kafka_protocol::messages::TopicName(
                        StrBytes::from_static_str("t"),
                    ))
                    .with_partitions(owned.to_vec()),
            ];
        }
        let mut out = BytesMut::new();
        out.put_i16(1);
        sub.encode(&mut out, 1).expect("encodes");
        out.freeze()
    }

    fn classic_join(id: &str, owned: &[i32]) -> JoinRequest {
        let mut req = JoinRequest::for_test("consumer", subscription(owned));
        req.member_id = id.into();
        req.fresh_member_id = id.into();
        req.protocols[0].name = "cooperative-sticky".into();
        req
    }

    fn caller(id: &str, generation: i32) -> Caller<'_> {
        Caller {
            member_id: id,
            instance_id: None,
            generation,
        }
    }

    #[test]
    fn a_classic_member_shares_a_consumer_group_by_member_epoch() {
        let mut h = Harness::new(2);
        h.send(join("a"))
            .expect("a joins with the consumer protocol");
        let mut changes = Changes::default();
        let joined = (h.group)
            .classic_join(
                &classic_join("c", &[]),
                &h.topics,
                &config(),
                200,
                &mut changes,
            )
            .expect("the classic member joins");
        assert_eq!(
            (joined.generation, joined.leader.as_str()),
            (2, ""),
            "a follower"
        );
        assert_eq!(joined.protocol_name.as_deref(), Some("cooperative-sticky"));
        let (nothing, ..) = h
            .group
            .classic_sync(caller("c", 2), (None, None), 200)
            .expect("sync");
        assert!(nothing.is_empty(), "a still holds both partitions");
        h.send(beat("a", 1, &parts(&[0, 1])))
            .expect("a revokes one");
        let kept = h.group.members["a"].assigned.clone();
        h.send(beat("a", 1, &kept)).expect("a at epoch 2");
        assert_eq!(
            h.group.classic_heartbeat(caller("c", 2), 300),
            Err(GroupError::RebalanceInProgress),
            "the released partition is waiting: rejoin"
        );
        let mut changes = Changes::default();
        let rejoined = (h.group)
            .classic_join(
                &classic_join("c", &[]),
                &h.topics,
                &config(),
                400,
                &mut changes,
            )
            .expect("rejoins");
        let (mine, name, version) = h
            .group
            .classic_sync(caller("c", rejoined.generation), (None, None), 400)
            .expect("sync");
        assert_eq!(
            (mine.len(), name.as_str(), version),
            (1, "cooperative-sticky", 1)
        );
        assert!(!mine.overlaps(&kept));
        assert_eq!(
            h.group
                .classic_heartbeat(caller("c", rejoined.generation), 500),
            Ok(())
        );
        assert_eq!(
            h.group.classic_heartbeat(caller("c", 9), 500),
            Err(GroupError::IllegalGeneration { requested: 9 })
        );
        let encoded = encode_assignment(&mine, version, &|_| Some("t".into()));
        let partitions: Vec<i32> = decode_assignment(&encoded)
            .expect("decodes")
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        assert_eq!(
            partitions,
            mine.0[&tid()].iter().copied().collect::<Vec<_>>()
        );
        assert!(!h.group.only_classic_left());
        let mut changes = Changes::default();
        h.send(beat("a", -1, &kept)).expect("a leaves");
        assert!(
            h.group.only_classic_left(),
            "only the classic member is left"
        );
        let leaving = Leaving {
            member_id: "c".into(),
            instance_id: None,
        };
        assert_eq!(h.group.classic_leave(&leaving, &mut changes), Ok(()));
        assert!(h.group.members.is_empty());
    }

    #[test]
    fn a_classic_join_needs_a_protocol_every_classic_member_has() {
        let mut h = Harness::new(1);
        let mut changes = Changes::default();
        (h.group)
            .classic_join(
                &classic_join("c", &[]),
                &h.topics,
                &config(),
                100,
                &mut changes,
            )
            .expect("first classic member");
        let mut other = classic_join("d", &[]);
        other.protocols = vec![Protocol {
            name: "range".into(),
            metadata: subscription(&[]),
        }];
        let refused = (h.group).classic_join(&other, &h.topics, &config(), 100, &mut changes);
        assert_eq!(refused.err(), Some(GroupError::InconsistentProtocol));
        let mut garbage = classic_join("e", &[]);
        garbage.protocols[0].metadata = Bytes::from_static(b"x");
        let refused = (h.group).classic_join(&garbage, &h.topics, &config(), 100, &mut changes);
        assert_eq!(refused.err(), Some(GroupError::InconsistentProtocol));
        let unknown = h.group.classic_sync(caller("zz", 1), (None, None), 100);
        assert_eq!(unknown.err(), Some(GroupError::UnknownMember));
    }
}
