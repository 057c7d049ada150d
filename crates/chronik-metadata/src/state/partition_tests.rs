use crate::error::StateError;
use crate::ids::MAX_PARTITIONS_PER_TOPIC;
use crate::proto::metadata_record::Record;
use crate::proto::*;
use crate::testing::*;

fn create_with(partitions: Vec<PartitionAssignment>) -> MetadataRecord {
    MetadataRecord::new(Record::CreateTopic(CreateTopic {
        name: "t".into(),
        topic_id: tid(9).to_vec(),
        partitions,
        configs: Default::default(),
    }))
}

#[test]
fn partition_assignments_are_checked() {
    let mut state = cluster(3);
    let leader_outside = PartitionAssignment {
        isr: vec![2],
        ..assignment(0, &[1, 2], 1)
    };
    assert_eq!(
        reject(&mut state, create_with(vec![leader_outside])),
        StateError::LeaderNotInIsr {
            topic: "t".into(),
            partition: 0,
            leader: 1,
            isr: vec![2]
        }
    );
    let isr_outside = PartitionAssignment {
        isr: vec![1, 3],
        ..assignment(0, &[1, 2], 1)
    };
    let err = reject(&mut state, create_with(vec![isr_outside]));
    assert!(
        err.to_string().contains("ISR member 3 is not a replica"),
        "{err}"
    );
    let empty_isr = PartitionAssignment {
        isr: vec![],
        leader: -1,
        ..assignment(0, &[1], 1)
    };
    assert!(
        reject(&mut state, create_with(vec![empty_isr]))
            .to_string()
            .contains("ISR may not be empty")
    );
    let misnumbered = vec![assignment(0, &[1], 1), assignment(5, &[1], 1)];
    let err = reject(&mut state, create_with(misnumbered));
    assert!(err.to_string().contains("expected partition 1"), "{err}");
    let too_many_replicas: Vec<i32> = (0..300).collect();
    let err = reject(
        &mut state,
        create_with(vec![assignment(0, &too_many_replicas, 0)]),
    );
    assert!(err.to_string().contains("limit of 256"), "{err}");
}

#[test]
fn more_than_a_million_partitions_are_rejected_before_building_them() {
    let mut state = cluster(1);
    let huge = vec![PartitionAssignment::default(); MAX_PARTITIONS_PER_TOPIC + 1];
    let err = reject(&mut state, create_with(huge));
    assert!(
        matches!(
            err,
            StateError::TooMany {
                count: 1_000_001,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn create_partitions_appends_and_rejects_duplicates() {
    let mut state = cluster(2);
    apply_all(&mut state, &[create_topic("t", 1, &[&[1]])]);
    let add = MetadataRecord::new(Record::CreatePartitions(CreatePartitions {
        topic_id: tid(1).to_vec(),
        partitions: vec![assignment(1, &[2, 1], 2), assignment(2, &[1, 2], 1)],
    }));
    apply_all(&mut state, std::slice::from_ref(&add));
    let topic = state.topic(&tid(1)).expect("topic");
    assert_eq!(topic.partitions.len(), 3);
    assert_eq!(topic.partition(1).map(|p| p.leader), Some(2));
    // The same proposal applied twice must not add partitions twice.
    let err = reject(&mut state, add);
    assert!(err.to_string().contains("expected partition 3"), "{err}");
}

#[test]
fn leader_change_bumps_both_epochs() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            create_topic("t", 1, &[&[1, 2, 3]]),
            change(1, 0, 2, &[2, 3], 0),
        ],
    );
    let p = state
        .topic(&tid(1))
        .and_then(|t| t.partition(0))
        .expect("partition")
        .clone();
    assert_eq!(
        (p.leader, p.isr, p.leader_epoch, p.partition_epoch),
        (2, vec![2, 3], 1, 1)
    );
}

#[test]
fn isr_change_bumps_only_the_partition_epoch() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            create_topic("t", 1, &[&[1, 2, 3]]),
            change(1, 0, 1, &[1, 2], 0),
        ],
    );
    let p = state
        .topic(&tid(1))
        .and_then(|t| t.partition(0))
        .expect("partition")
        .clone();
    assert_eq!(
        (p.leader, p.isr, p.leader_epoch, p.partition_epoch),
        (1, vec![1, 2], 0, 1)
    );
}

#[test]
fn stale_partition_epoch_is_rejected() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            create_topic("t", 1, &[&[1, 2, 3]]),
            change(1, 0, 1, &[1, 2], 0),
        ],
    );
    let err = reject(&mut state, change(1, 0, 1, &[1], 0));
    assert_eq!(
        err,
        StateError::StalePartitionEpoch {
            topic: "t".into(),
            partition: 0,
            expected: 0,
            actual: 1
        }
    );
    assert!(err.to_string().contains("stale partition epoch"), "{err}");
}

#[test]
fn invalid_partition_changes_are_rejected() {
    let mut state = cluster(3);
    apply_all(&mut state, &[create_topic("t", 1, &[&[1, 2, 3]])]);
    assert!(matches!(
        reject(&mut state, change(1, 0, 3, &[1, 2], 0)),
        StateError::LeaderNotInIsr { .. }
    ));
    assert!(matches!(
        reject(&mut state, change(1, 0, 1, &[1, 2, 3], 0)),
        StateError::NoChange { .. }
    ));
    assert!(matches!(
        reject(&mut state, change(1, 0, 1, &[], 0)),
        StateError::InvalidPartition { .. }
    ));
    assert!(matches!(
        reject(&mut state, change(1, 5, 1, &[1], 0)),
        StateError::UnknownPartition { .. }
    ));
    assert!(matches!(
        reject(&mut state, change(1, -1, 1, &[1], 0)),
        StateError::UnknownPartition { .. }
    ));
    assert_eq!(
        reject(&mut state, change(8, 0, 1, &[1], 0)),
        StateError::UnknownTopicId(tid(8))
    );
}

#[test]
fn partition_change_can_reassign_replicas() {
    let mut state = cluster(4);
    apply_all(&mut state, &[create_topic("t", 1, &[&[1, 2]])]);
    let mut record = change(1, 0, 4, &[4], 0);
    if let Some(Record::PartitionChange(c)) = record.record.as_mut() {
        c.replicas = Some(ReplicaList {
            replicas: vec![4, 3],
        });
    }
    apply_all(&mut state, &[record]);
    let p = state
        .topic(&tid(1))
        .and_then(|t| t.partition(0))
        .expect("partition");
    assert_eq!(
        (p.replicas.clone(), p.leader, p.leader_epoch),
        (vec![4, 3], 4, 1)
    );
    // An ISR member outside the new replicas is refused.
    let mut bad = change(1, 0, 4, &[4, 1], 1);
    if let Some(Record::PartitionChange(c)) = bad.record.as_mut() {
        c.replicas = Some(ReplicaList {
            replicas: vec![4, 3],
        });
    }
    assert!(matches!(
        reject(&mut state, bad),
        StateError::InvalidPartition { .. }
    ));
}

#[test]
fn queries_find_leaders_and_unhealthy_partitions() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[
            create_topic("a", 1, &[&[1, 2], &[2, 3], &[1, 3]]),
            change(1, 1, 2, &[2], 0),
            change(1, 2, -1, &[1], 0),
            fence(3),
        ],
    );
    let led: Vec<_> = state
        .partitions_led_by(1)
        .map(|p| p.topic_partition())
        .collect();
    assert_eq!(led, [chronik_types::TopicPartition::new("a", 0)]);
    let under: Vec<i32> = state
        .under_replicated_partitions()
        .map(|p| p.index)
        .collect();
    assert_eq!(under, [1, 2]);
    let offline: Vec<i32> = state.offline_partitions().map(|p| p.index).collect();
    assert_eq!(offline, [2]);
    let live: Vec<i32> = state.live_brokers().map(|b| b.id).collect();
    assert_eq!(live, [1, 2]);
    assert_eq!(state.brokers().count(), 3);
}
