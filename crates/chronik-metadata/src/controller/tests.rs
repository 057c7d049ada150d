use std::collections::BTreeMap;

use super::*;
use crate::ConfigResource;
use crate::error::{ControllerError, ErrorKind};
use crate::ids::{NO_LEADER, TopicId, Uuid};
use crate::state::{BrokerEndpoint, MetadataState, PartitionState, UNCLEAN_LEADER_ELECTION_CONFIG};
use crate::testing::{
    apply_all, broker_config, change, cluster, create_topic as topic_record, register, set_config,
    topic_id,
};

/// Applies what a decision proposes (all of it must apply) and returns it.
fn commit(
    state: &mut MetadataState,
    decide: impl FnOnce(&MetadataState) -> Decision,
) -> Vec<MetadataRecord> {
    let records = decide(state).unwrap_or_else(|e| panic!("decision failed: {e}"));
    apply_all(state, &records);
    records
}

fn new_topic(name: &str, id: u8, partitions: i32, rf: i16) -> NewTopic {
    NewTopic {
        name: name.into(),
        topic_id: topic_id(id),
        partitions,
        replication_factor: rf,
        configs: BTreeMap::new(),
        assignment: Vec::new(),
    }
}

fn partition(state: &MetadataState, id: TopicId, index: i32) -> PartitionState {
    state
        .topic(&id)
        .and_then(|t| t.partition(index))
        .cloned()
        .expect("partition exists")
}

/// (partitions led, replicas held) per broker.
fn load(state: &MetadataState) -> BTreeMap<BrokerId, (usize, usize)> {
    let mut load = BTreeMap::new();
    for p in state.partitions() {
        load.entry(p.state.leader).or_insert((0, 0)).0 += 1;
        for r in &p.state.replicas {
            load.entry(*r).or_insert((0, 0)).1 += 1;
        }
    }
    load
}

#[test]
fn placement_spreads_leaders_and_replicas_evenly() {
    for (brokers, partitions, rf, expected) in [
        (3, 30, 3, (10, 30)),
        (3, 30, 2, (10, 20)),
        (5, 50, 3, (10, 30)),
        (4, 8, 1, (2, 2)),
    ] {
        let mut state = cluster(brokers);
        commit(&mut state, |s| {
            create_topic(s, &new_topic("t", 1, partitions, rf))
        });
        let load = load(&state);
        assert_eq!(load.len(), brokers as usize);
        assert!(
            load.values().all(|l| *l == expected),
            "{brokers} brokers rf {rf}: {load:?}"
        );
        for p in state.partitions() {
            assert_eq!(p.state.replicas.len(), rf as usize);
            assert_eq!(p.state.isr, p.state.replicas);
            assert_eq!(Some(&p.state.leader), p.state.replicas.first());
        }
    }
}

#[test]
fn placement_rotates_the_start_between_topics() {
    let mut state = cluster(3);
    for id in 1..=3 {
        commit(&mut state, |s| {
            create_topic(s, &new_topic(&format!("t{id}"), id, 1, 1))
        });
    }
    let leaders: Vec<BrokerId> = state.partitions().map(|p| p.state.leader).collect();
    assert_eq!(leaders, [1, 2, 3]);
}

#[test]
fn placement_uses_only_live_brokers() {
    let mut state = cluster(4);
    apply_all(&mut state, &[crate::testing::fence(2)]);
    commit(&mut state, |s| create_topic(s, &new_topic("t", 1, 12, 3)));
    assert!(state.partitions().all(|p| !p.state.replicas.contains(&2)));
    let err = create_topic(&state, &new_topic("u", 2, 1, 4)).expect_err("only 3 live");
    assert_eq!(
        err,
        ControllerError::NotEnoughBrokers {
            replication_factor: 4,
            live: 3
        }
    );
    assert_eq!(err.kind(), ErrorKind::InvalidReplicationFactor);
}

#[test]
fn invalid_topic_requests_are_refused() {
    let mut state = cluster(3);
    commit(&mut state, |s| create_topic(s, &new_topic("t", 1, 1, 1)));
    let cases = [
        (new_topic("t", 2, 1, 1), ErrorKind::TopicExists),
        (new_topic("u", 1, 1, 1), ErrorKind::TopicExists),
        (new_topic("u", 2, 0, 1), ErrorKind::InvalidPartitions),
        (new_topic("u", 2, -3, 1), ErrorKind::InvalidPartitions),
        (
            new_topic("u", 2, 1_000_001, 1),
            ErrorKind::InvalidPartitions,
        ),
        (new_topic("u", 2, 1, 0), ErrorKind::InvalidReplicationFactor),
        (
            new_topic("u", 2, 1, -1),
            ErrorKind::InvalidReplicationFactor,
        ),
        (new_topic("bad/name", 2, 1, 1), ErrorKind::InvalidTopicName),
        (new_topic("u", 0, 1, 1), ErrorKind::InvalidRequest),
    ];
    for (req, kind) in cases {
        let err = create_topic(&state, &req).expect_err("refused");
        assert_eq!(err.kind(), kind, "{req:?}: {err}");
    }
}

#[test]
fn create_partitions_grows_the_topic_evenly() {
    let mut state = cluster(3);
    commit(&mut state, |s| create_topic(s, &new_topic("t", 1, 3, 2)));
    commit(&mut state, |s| create_partitions(s, "t", 30, &[]));
    assert_eq!(
        state.topic_by_name("t").map(|t| t.partitions.len()),
        Some(30)
    );
    assert!(
        load(&state).values().all(|l| *l == (10, 20)),
        "{:?}",
        load(&state)
    );
    let err = create_partitions(&state, "t", 30, &[]).expect_err("must grow");
    assert_eq!(err.kind(), ErrorKind::InvalidPartitions);
    assert_eq!(
        create_partitions(&state, "nope", 3, &[]),
        Err(ControllerError::UnknownTopic("nope".into()))
    );
}

#[test]
fn delete_topic_removes_it() {
    let mut state = cluster(1);
    commit(&mut state, |s| create_topic(s, &new_topic("t", 1, 2, 1)));
    commit(&mut state, |s| delete_topic(s, "t"));
    assert!(state.topic_by_name("t").is_none());
    assert_eq!(
        delete_topic(&state, "t"),
        Err(ControllerError::UnknownTopic("t".into()))
    );
}

#[test]
fn a_config_change_computed_from_an_older_copy_is_refused() {
    let mut state = cluster(1);
    commit(&mut state, |s| create_topic(s, &new_topic("t", 1, 1, 1)));
    let copy = state.topic_by_name("t").expect("topic").configs.clone();
    let topic = ConfigResource::Topic("t".into());
    let set = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    // Another change lands after `copy` was taken.
    commit(&mut state, |s| {
        change_configs(s, &topic, &set("retention.ms", "1000"), &[], None)
    });
    let stale = change_configs(
        &state,
        &topic,
        &set("segment.ms", "60000"),
        &[],
        Some(&copy),
    );
    assert_eq!(
        stale,
        Err(ControllerError::ConfigsChanged("topic 't'".into()))
    );
    assert_eq!(stale.unwrap_err().kind(), ErrorKind::ConfigsChanged);
    // Computed again from the current configs, it applies.
    let current = state.topic_by_name("t").expect("topic").configs.clone();
    commit(&mut state, |s| {
        change_configs(s, &topic, &set("segment.ms", "60000"), &[], Some(&current))
    });
    let configs = &state.topic_by_name("t").expect("topic").configs;
    assert_eq!(
        configs.get("retention.ms").map(String::as_str),
        Some("1000")
    );
    assert_eq!(configs.get("segment.ms").map(String::as_str), Some("60000"));
}

#[test]
fn fencing_elects_from_the_isr_and_bumps_epochs() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[topic_record("t", 1, &[&[1, 3, 2], &[2, 1, 3]])],
    );
    commit(&mut state, |s| fence_broker(s, 1));
    assert!(!state.is_live(1));
    let led = partition(&state, topic_id(1), 0);
    assert_eq!(
        (led.leader, led.isr, led.leader_epoch, led.partition_epoch),
        (3, vec![3, 2], 1, 1)
    );
    // Broker 1 only followed partition 1: it leaves the ISR, the leader stays.
    let followed = partition(&state, topic_id(1), 1);
    assert_eq!(
        (
            followed.leader,
            followed.isr,
            followed.leader_epoch,
            followed.partition_epoch
        ),
        (2, vec![2, 3], 0, 1)
    );
    assert_eq!(
        fence_broker(&state, 1),
        Err(ControllerError::BrokerAlreadyFenced(1))
    );
    assert_eq!(
        fence_broker(&state, 9),
        Err(ControllerError::UnknownBroker(9))
    );
}

#[test]
fn no_live_isr_member_leaves_the_partition_offline() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            topic_record("t", 1, &[&[1, 2, 3]]),
            change(1, 0, 1, &[1], 0),
        ],
    );
    commit(&mut state, |s| fence_broker(s, 1));
    let p = partition(&state, topic_id(1), 0);
    assert_eq!(
        (p.leader, p.isr.clone(), p.leader_epoch),
        (NO_LEADER, vec![1], 1)
    );
    assert_eq!(state.offline_partitions().count(), 1);
    // The last ISR member stays in the ISR when it is fenced as a follower of nothing.
    commit(&mut state, |s| fence_broker(s, 2));
    assert_eq!(partition(&state, topic_id(1), 0).isr, vec![1]);
}

#[test]
fn unclean_election_happens_only_when_the_topic_allows_it() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            topic_record("clean", 1, &[&[1, 2]]),
            topic_record("unclean", 2, &[&[1, 2]]),
            set_config(2, UNCLEAN_LEADER_ELECTION_CONFIG, "true"),
            change(1, 0, 1, &[1], 0),
            change(2, 0, 1, &[1], 0),
        ],
    );
    commit(&mut state, |s| fence_broker(s, 1));
    assert_eq!(partition(&state, topic_id(1), 0).leader, NO_LEADER);
    let unclean = partition(&state, topic_id(2), 0);
    assert_eq!((unclean.leader, unclean.isr), (2, vec![2]));
}

#[test]
fn a_cluster_wide_unclean_election_config_applies_to_topics_without_their_own() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            topic_record("inherits", 1, &[&[1, 2]]),
            topic_record("refuses", 2, &[&[1, 2]]),
            set_config(2, UNCLEAN_LEADER_ELECTION_CONFIG, "false"),
            broker_config(None, UNCLEAN_LEADER_ELECTION_CONFIG, "true"),
            // A broker's own value is not the controller's to follow.
            broker_config(Some(2), UNCLEAN_LEADER_ELECTION_CONFIG, "false"),
            change(1, 0, 1, &[1], 0),
            change(2, 0, 1, &[1], 0),
        ],
    );
    commit(&mut state, |s| fence_broker(s, 1));
    let inherited = partition(&state, topic_id(1), 0);
    assert_eq!((inherited.leader, inherited.isr), (2, vec![2]));
    assert_eq!(partition(&state, topic_id(2), 0).leader, NO_LEADER);
}

#[test]
fn unfencing_brings_back_offline_partitions_it_is_in_sync_for() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            topic_record("a", 1, &[&[1, 2]]),
            topic_record("b", 2, &[&[2, 1]]),
            change(1, 0, 1, &[1], 0),
            change(2, 0, 2, &[2], 0),
        ],
    );
    commit(&mut state, |s| fence_broker(s, 1));
    commit(&mut state, |s| fence_broker(s, 2));
    assert_eq!(state.offline_partitions().count(), 2);
    let records = commit(&mut state, |s| unfence_broker(s, 1));
    assert_eq!(records.len(), 2, "unfence plus one election");
    let back = partition(&state, topic_id(1), 0);
    assert_eq!((back.leader, back.isr, back.leader_epoch), (1, vec![1], 2));
    // Broker 1 is a replica of b but not in its ISR: b stays offline.
    assert_eq!(partition(&state, topic_id(2), 0).leader, NO_LEADER);
    assert_eq!(
        unfence_broker(&state, 1),
        Err(ControllerError::BrokerNotFenced(1))
    );
}

#[test]
fn unfencing_a_replica_outside_the_isr_elects_it_only_when_unclean_is_allowed() {
    let mut state = cluster(2);
    apply_all(
        &mut state,
        &[
            topic_record("clean", 1, &[&[1, 2]]),
            topic_record("unclean", 2, &[&[1, 2]]),
            set_config(2, UNCLEAN_LEADER_ELECTION_CONFIG, "true"),
            change(1, 0, 1, &[1], 0),
            change(2, 0, 1, &[1], 0),
        ],
    );
    commit(&mut state, |s| fence_broker(s, 2));
    commit(&mut state, |s| fence_broker(s, 1));
    assert_eq!(state.offline_partitions().count(), 2);
    commit(&mut state, |s| unfence_broker(s, 2));
    assert_eq!(partition(&state, topic_id(1), 0).leader, NO_LEADER);
    let unclean = partition(&state, topic_id(2), 0);
    assert_eq!((unclean.leader, unclean.isr), (2, vec![2]));
}

#[test]
fn preferred_leaders_are_restored() {
    let mut state = cluster(3);
    apply_all(&mut state, &[topic_record("t", 1, &[&[1, 2], &[2, 3]])]);
    commit(&mut state, |s| fence_broker(s, 1));
    commit(&mut state, |s| unfence_broker(s, 1));
    assert!(
        preferred_leader_elections(&state).is_empty(),
        "1 is not back in the ISR yet"
    );
    let rejoin = AlterPartitionRequest {
        broker_id: 2,
        topic_id: topic_id(1),
        partition: 0,
        leader_epoch: 1,
        partition_epoch: 1,
        new_isr: vec![2, 1],
    };
    commit(&mut state, |s| alter_partition(s, &rejoin));
    let records = preferred_leader_elections(&state);
    assert_eq!(records.len(), 1);
    apply_all(&mut state, &records);
    let p = partition(&state, topic_id(1), 0);
    assert_eq!((p.leader, p.leader_epoch), (1, 2));
    assert!(preferred_leader_elections(&state).is_empty());
}

#[test]
fn registration_is_idempotent_and_a_restart_moves_leadership() {
    let mut state = cluster(2);
    apply_all(&mut state, &[topic_record("t", 1, &[&[1, 2]])]);
    let reg = |incarnation: u8| BrokerRegistration {
        broker_id: 1,
        incarnation: Uuid([incarnation; 16]),
        host: "broker-1.local".into(),
        port: 9092,
        rack: Some("rack-a".into()),
        endpoints: Vec::new(),
    };
    assert_eq!(register_broker(&state, &reg(1)), Ok(Vec::new()));
    let records = commit(&mut state, |s| register_broker(s, &reg(2)));
    assert_eq!(records.len(), 2);
    assert!(state.broker(1).is_some_and(|b| b.fenced));
    assert_eq!(partition(&state, topic_id(1), 0).leader, 2);
    let new = BrokerRegistration {
        broker_id: 7,
        ..reg(3)
    };
    assert_eq!(commit(&mut state, |s| register_broker(s, &new)).len(), 1);
    let bad = BrokerRegistration { port: 0, ..reg(4) };
    assert_eq!(
        register_broker(&state, &bad).map_err(|e| e.kind()),
        Err(ErrorKind::InvalidRequest)
    );
}

#[test]
fn registrations_carry_the_listeners_and_bad_ones_are_refused() {
    let state = cluster(1);
    let listener = |name: &str, port: u16| BrokerEndpoint {
        name: name.into(),
        host: "broker-1.local".into(),
        port,
    };
    let reg = BrokerRegistration {
        broker_id: 1,
        incarnation: Uuid([1; 16]),
        host: "broker-1.local".into(),
        port: 9092,
        rack: Some("rack-a".into()),
        endpoints: vec![listener("INTERNAL", 9092), listener("EXTERNAL", 19092)],
    };
    // The same incarnation with other listeners is a change to record.
    let records = register_broker(&state, &reg).expect("decided");
    let mut applied = state.clone();
    for r in &records {
        applied.apply(r).expect("applies");
    }
    let broker = applied.broker(1).expect("registered");
    assert_eq!(broker.endpoints, reg.endpoints);
    assert_eq!(register_broker(&applied, &reg), Ok(Vec::new()), "a retry");
    let twice = BrokerRegistration {
        endpoints: vec![listener("INTERNAL", 9092), listener("INTERNAL", 9093)],
        ..reg.clone()
    };
    let refused = register_broker(&state, &twice).expect_err("a name used twice");
    assert_eq!(refused.kind(), ErrorKind::InvalidRequest);
    assert!(refused.to_string().contains("INTERNAL"), "{refused}");
}

fn alter(
    state: &MetadataState,
    broker_id: BrokerId,
    epochs: (i32, i32),
    new_isr: &[BrokerId],
) -> Decision {
    let req = AlterPartitionRequest {
        broker_id,
        topic_id: topic_id(1),
        partition: 0,
        leader_epoch: epochs.0,
        partition_epoch: epochs.1,
        new_isr: new_isr.to_vec(),
    };
    alter_partition(state, &req)
}

#[test]
fn alter_partition_shrinks_and_expands_the_isr() {
    let mut state = cluster(3);
    apply_all(&mut state, &[topic_record("t", 1, &[&[1, 2, 3]])]);
    commit(&mut state, |s| alter(s, 1, (0, 0), &[1, 3]));
    assert_eq!(partition(&state, topic_id(1), 0).isr, vec![1, 3]);
    commit(&mut state, |s| alter(s, 1, (0, 1), &[1, 3, 2]));
    let p = partition(&state, topic_id(1), 0);
    assert_eq!(
        (p.isr, p.leader_epoch, p.partition_epoch),
        (vec![1, 3, 2], 0, 2)
    );
    assert_eq!(alter(&state, 1, (0, 2), &[1, 3, 2]), Ok(Vec::new()));
}

#[test]
fn alter_partition_rejects_stale_and_invalid_requests() {
    let mut state = cluster(4);
    apply_all(
        &mut state,
        &[
            topic_record("t", 1, &[&[1, 2, 3]]),
            change(1, 0, 1, &[1, 2], 0),
        ],
    );
    let stale = alter(&state, 1, (0, 0), &[1]).expect_err("stale");
    assert_eq!(
        stale,
        ControllerError::StalePartitionEpoch {
            requested: 0,
            current: 1
        }
    );
    assert_eq!(stale.kind(), ErrorKind::StalePartitionEpoch);
    assert_eq!(
        alter(&state, 1, (3, 1), &[1]).map_err(|e| e.kind()),
        Err(ErrorKind::FencedLeaderEpoch)
    );
    assert_eq!(
        alter(&state, 2, (0, 1), &[2]),
        Err(ControllerError::NotLeader {
            requester: 2,
            leader: 1
        })
    );
    for isr in [&[1, 4][..], &[2], &[1, 1], &[1, 2, 3, 4]] {
        let err = alter(&state, 1, (0, 1), isr).expect_err("invalid ISR");
        assert!(
            matches!(err, ControllerError::InvalidIsr { .. }),
            "{isr:?}: {err}"
        );
    }
    apply_all(&mut state, &[crate::testing::fence(3)]);
    assert_eq!(
        alter(&state, 1, (0, 1), &[1, 2, 3]),
        Err(ControllerError::IneligibleReplica(3))
    );
    assert_eq!(
        alter(&state, 3, (0, 1), &[1]),
        Err(ControllerError::BrokerFenced(3))
    );
    let unknown = AlterPartitionRequest {
        broker_id: 1,
        topic_id: topic_id(5),
        partition: 0,
        leader_epoch: 0,
        partition_epoch: 0,
        new_isr: vec![1],
    };
    assert_eq!(
        alter_partition(&state, &unknown).map_err(|e| e.kind()),
        Err(ErrorKind::UnknownTopicId)
    );
}

#[test]
fn producer_ids_come_in_blocks_of_a_thousand() {
    let mut state = cluster(2);
    let first = commit(&mut state, |s| allocate_producer_ids(s, 1));
    let second = commit(&mut state, |s| allocate_producer_ids(s, 2));
    let block = |records: &[MetadataRecord]| match records.first().and_then(|r| r.record.as_ref()) {
        Some(Record::AllocateProducerIds(a)) => (a.broker_id, a.first_id, a.count),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(block(&first), (1, 0, 1000));
    assert_eq!(block(&second), (2, 1000, 1000));
    assert_eq!(state.next_producer_id(), 2000);
    apply_all(&mut state, &[crate::testing::fence(2)]);
    assert_eq!(
        allocate_producer_ids(&state, 2),
        Err(ControllerError::BrokerFenced(2))
    );
    assert_eq!(
        allocate_producer_ids(&state, 9),
        Err(ControllerError::UnknownBroker(9))
    );
}

#[test]
fn decisions_on_an_outdated_state_are_rejected_by_the_state() {
    let mut state = cluster(3);
    apply_all(&mut state, &[topic_record("t", 1, &[&[1, 2, 3]])]);
    let outdated = state.clone();
    commit(&mut state, |s| alter(s, 1, (0, 0), &[1, 2]));
    let late = alter(&outdated, 1, (0, 0), &[1, 3]).expect("valid against the old state");
    let before = state.to_snapshot_bytes();
    assert!(state.apply(&late[0]).is_err());
    assert_eq!(state.to_snapshot_bytes(), before);
}

#[test]
fn reassignment_adds_the_target_first_and_drops_the_rest_once_it_is_in_sync() {
    let mut state = cluster(4);
    apply_all(&mut state, &[topic_record("moving", 7, &[&[1, 2, 3]])]);
    let id = topic_id(7);
    let step = |state: &MetadataState| reassign_partition(state, "moving", 0, &[4, 2, 3]);

    let (records, at) = step(&state).expect("step 1");
    assert_eq!(at, ReassignStep::CatchingUp);
    apply_all(&mut state, &records);
    let grown = partition(&state, id, 0);
    assert_eq!(
        grown.replicas,
        vec![4, 2, 3, 1],
        "target first, old replica kept"
    );
    assert_eq!((grown.leader, grown.isr.clone()), (1, vec![1, 2, 3]));
    let (records, at) = step(&state).expect("still catching up");
    assert!(records.is_empty());
    assert_eq!(at, ReassignStep::CatchingUp);

    // The leader takes the caught-up replica 4 into the ISR.
    apply_all(
        &mut state,
        &[change(7, 0, 1, &[1, 2, 3, 4], grown.partition_epoch)],
    );
    let (records, at) = step(&state).expect("step 2");
    assert_eq!(at, ReassignStep::Done);
    apply_all(&mut state, &records);
    let done = partition(&state, id, 0);
    assert_eq!(done.replicas, vec![4, 2, 3]);
    let mut isr = done.isr.clone();
    isr.sort_unstable();
    assert_eq!(isr, vec![2, 3, 4]);
    assert_eq!(
        done.leader, 4,
        "the removed leader hands over to the new preferred one"
    );
    assert_eq!(done.leader_epoch, grown.leader_epoch + 1);
    assert_eq!(
        step(&state).expect("idempotent"),
        (Vec::new(), ReassignStep::Done)
    );
}

#[test]
fn reassignment_refuses_bad_targets() {
    let mut state = cluster(3);
    apply_all(&mut state, &[topic_record("moving", 7, &[&[1, 2]])]);
    apply_all(&mut state, &[register(5)]);
    let code = |target: &[BrokerId]| {
        reassign_partition(&state, "moving", 0, target)
            .map(|(_, at)| at)
            .map_err(|e| e.kind())
    };
    let invalid = Err(ErrorKind::InvalidReplicaAssignment);
    assert_eq!(code(&[]), invalid, "empty");
    assert_eq!(code(&[1, 1]), invalid, "duplicate");
    assert_eq!(code(&[1, 9]), invalid, "unknown broker");
    assert_eq!(
        code(&[1, 5]),
        Ok(ReassignStep::CatchingUp),
        "a fenced broker is waited for"
    );
    assert!(reassign_partition(&state, "nope", 0, &[1]).is_err());
    assert!(reassign_partition(&state, "moving", 3, &[1]).is_err());
}

#[test]
fn the_balancer_moves_replicas_onto_a_new_broker_one_partition_at_a_time() {
    let mut state = cluster(3);
    let two_of_three: Vec<&[BrokerId]> = vec![&[1, 2], &[2, 1], &[1, 2], &[2, 1], &[1, 2], &[2, 1]];
    apply_all(&mut state, &[topic_record("old", 7, &two_of_three)]);
    let id = topic_id(7);
    let mut moves = 0;
    for _ in 0..100 {
        let records = balance_step(&state);
        if !records.is_empty() {
            apply_all(&mut state, &records);
            continue;
        }
        // Nothing to do until the move in progress catches up: its leader adds the new
        // replica to the ISR, as a real one would.
        let grown = (0..6)
            .map(|i| (i, partition(&state, id, i)))
            .find(|(_, p)| p.replicas.len() > 2);
        let Some((index, p)) = grown else { break };
        let mut isr = p.isr.clone();
        isr.extend(p.replicas.iter().filter(|r| !p.isr.contains(r)));
        apply_all(
            &mut state,
            &[change(7, index, p.leader, &isr, p.partition_epoch)],
        );
        moves += 1;
    }
    let held = load(&state);
    let replicas: Vec<usize> = (1..=3).map(|b| held.get(&b).map_or(0, |l| l.1)).collect();
    assert_eq!(replicas, vec![4, 4, 4], "12 replicas spread evenly");
    assert_eq!(
        moves, 4,
        "one partition at a time: 4 replicas moved to broker 3"
    );
    for i in 0..6 {
        let p = partition(&state, id, i);
        assert_eq!(p.replicas.len(), 2, "no partition left over-replicated");
        assert_eq!(p.isr.len(), 2);
    }
    assert!(balance_step(&state).is_empty(), "balanced: nothing more");
}

#[test]
fn the_balancer_leaves_partitions_of_a_dead_broker_alone() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[topic_record(
            "old",
            7,
            &[&[1, 2], &[2, 1], &[1, 2], &[2, 1]],
        )],
    );
    commit(&mut state, |s| fence_broker(s, 2));
    assert!(
        balance_step(&state).is_empty(),
        "under-replicated partitions do not move"
    );
}

#[test]
fn broker_configs_change_per_broker_and_cluster_wide() {
    let mut state = cluster(2);
    let set = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    let default = ConfigResource::Broker(None);
    let one = ConfigResource::Broker(Some(1));
    commit(&mut state, |s| {
        change_configs(s, &default, &set("log.retention.ms", "1000"), &[], None)
    });
    commit(&mut state, |s| {
        change_configs(s, &one, &set("log.retention.ms", "2000"), &[], None)
    });
    assert_eq!(state.broker_configs(None), &set("log.retention.ms", "1000"));
    assert_eq!(
        state.broker_configs(Some(1)),
        &set("log.retention.ms", "2000")
    );
    assert!(state.broker_configs(Some(2)).is_empty());
    // Setting what is already set proposes nothing.
    let same = change_configs(&state, &one, &set("log.retention.ms", "2000"), &[], None);
    assert_eq!(same, Ok(Vec::new()));
    // A stale copy is refused.
    let stale = change_configs(
        &state,
        &one,
        &BTreeMap::new(),
        &["x".into()],
        Some(&BTreeMap::new()),
    );
    assert_eq!(
        stale,
        Err(ControllerError::ConfigsChanged("broker 1".into()))
    );
    // Unknown brokers have no configs to change.
    let unknown = ConfigResource::Broker(Some(9));
    let refused = change_configs(&state, &unknown, &set("log.retention.ms", "1"), &[], None);
    assert_eq!(refused, Err(ControllerError::UnknownBroker(9)));
    // Deleting the last key drops the broker's entry.
    let deleted = ["log.retention.ms".to_owned()];
    commit(&mut state, |s| {
        change_configs(s, &one, &BTreeMap::new(), &deleted, None)
    });
    assert!(state.broker_configs(Some(1)).is_empty());
    assert!(
        !state
            .to_snapshot()
            .broker_configs
            .iter()
            .any(|c| c.broker_id == Some(1))
    );
}
