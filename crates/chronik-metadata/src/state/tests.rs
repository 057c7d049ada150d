use super::*;
use crate::error::StateError;
use crate::proto::metadata_record::Record;
use crate::proto::*;
use crate::testing::*;

#[test]
fn cluster_id_is_set_once() {
    let mut state = populated_state();
    assert_eq!(state.cluster_id(), Some("cluster-1"));
    let again = MetadataRecord::new(Record::SetClusterId(SetClusterId {
        cluster_id: "other".into(),
    }));
    let err = reject(&mut state, again);
    assert_eq!(err, StateError::ClusterIdAlreadySet("cluster-1".into()));
    let mut fresh = MetadataState::new();
    let empty = MetadataRecord::new(Record::SetClusterId(SetClusterId::default()));
    assert!(matches!(
        reject(&mut fresh, empty),
        StateError::InvalidClusterId(_)
    ));
}

#[test]
fn registered_brokers_start_fenced_and_toggle() {
    let mut state = MetadataState::new();
    apply_all(&mut state, &[register(4)]);
    let broker = state.broker(4).expect("registered");
    assert!(broker.fenced);
    assert_eq!(
        (broker.host.as_str(), broker.port),
        ("broker-4.local", 9092)
    );
    assert_eq!(broker.rack.as_deref(), Some("rack-a"));
    assert_eq!(state.live_brokers().count(), 0);
    assert_eq!(
        reject(&mut state, fence(4)),
        StateError::BrokerAlreadyFenced(4)
    );
    apply_all(&mut state, &[unfence(4)]);
    assert!(state.is_live(4));
    assert_eq!(
        reject(&mut state, unfence(4)),
        StateError::BrokerNotFenced(4)
    );
    assert_eq!(reject(&mut state, fence(9)), StateError::UnknownBroker(9));
    apply_all(&mut state, &[fence(4)]);
    assert!(!state.is_live(4));
    // A new incarnation replaces the registration and is fenced again.
    apply_all(&mut state, &[unfence(4), register_incarnation(4, 2)]);
    let broker = state.broker(4).expect("registered");
    assert_eq!((broker.incarnation, broker.fenced), (Uuid([2; 16]), true));
}

#[test]
fn invalid_registrations_are_rejected() {
    let mut state = MetadataState::new();
    let base = RegisterBroker {
        broker_id: 1,
        incarnation_id: vec![1; 16],
        host: "h".into(),
        port: 9092,
        rack: None,
        endpoints: Vec::new(),
    };
    let cases = [
        RegisterBroker {
            broker_id: -1,
            ..base.clone()
        },
        RegisterBroker {
            incarnation_id: vec![1; 3],
            ..base.clone()
        },
        RegisterBroker {
            incarnation_id: vec![0; 16],
            ..base.clone()
        },
        RegisterBroker {
            host: String::new(),
            ..base.clone()
        },
        RegisterBroker {
            port: 0,
            ..base.clone()
        },
        RegisterBroker {
            port: 70_000,
            ..base.clone()
        },
        RegisterBroker {
            rack: Some("x".repeat(300)),
            ..base.clone()
        },
    ];
    for case in cases {
        let err = reject(
            &mut state,
            MetadataRecord::new(Record::RegisterBroker(case)),
        );
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn create_topic_builds_partitions_at_epoch_zero() {
    let mut state = cluster(3);
    apply_all(
        &mut state,
        &[create_topic("orders", 1, &[&[1, 2], &[2, 3]])],
    );
    let topic = state.topic_by_name("orders").expect("created");
    assert_eq!(topic.id, tid(1));
    assert_eq!(
        state.topic(&tid(1)).map(|t| t.name.as_str()),
        Some("orders")
    );
    let p1 = topic.partition(1).expect("partition 1");
    assert_eq!(
        (p1.replicas.clone(), p1.leader, p1.isr.clone()),
        (vec![2, 3], 2, vec![2, 3])
    );
    assert_eq!((p1.leader_epoch, p1.partition_epoch), (0, 0));
    assert!(topic.partition(2).is_none() && topic.partition(-1).is_none());
    assert_eq!(state.total_partitions(), 2);
}

#[test]
fn invalid_topics_are_rejected() {
    let mut state = cluster(3);
    apply_all(&mut state, &[create_topic("orders", 1, &[&[1]])]);
    let dup_name = reject(&mut state, create_topic("orders", 2, &[&[1]]));
    assert_eq!(dup_name, StateError::DuplicateTopicName("orders".into()));
    let dup_id = reject(&mut state, create_topic("other", 1, &[&[1]]));
    assert_eq!(dup_id, StateError::DuplicateTopicId(tid(1)));
    assert!(matches!(
        reject(&mut state, create_topic("bad name", 2, &[&[1]])),
        StateError::InvalidTopicName(_)
    ));
    let unknown = reject(&mut state, create_topic("t", 2, &[&[1, 7]]));
    assert!(
        unknown
            .to_string()
            .contains("replica 7 is not a registered broker"),
        "{unknown}"
    );
    let twice = reject(&mut state, create_topic("t", 2, &[&[1, 1]]));
    assert!(twice.to_string().contains("appears twice"), "{twice}");
    assert!(matches!(
        reject(&mut state, create_topic("t", 2, &[])),
        StateError::InvalidPartition { .. }
    ));
}

#[test]
fn delete_topic_frees_name_and_id() {
    let mut state = cluster(1);
    apply_all(&mut state, &[create_topic("t", 1, &[&[1]])]);
    let delete = MetadataRecord::new(Record::DeleteTopic(DeleteTopic {
        topic_id: tid(1).to_vec(),
    }));
    apply_all(&mut state, std::slice::from_ref(&delete));
    assert!(state.topic_by_name("t").is_none() && state.topic(&tid(1)).is_none());
    assert_eq!(
        reject(&mut state, delete),
        StateError::UnknownTopicId(tid(1))
    );
    apply_all(&mut state, &[create_topic("t", 2, &[&[1]])]);
}

#[test]
fn config_changes_set_and_delete() {
    let mut state = cluster(1);
    apply_all(
        &mut state,
        &[
            create_topic("t", 1, &[&[1]]),
            set_config(1, "a", "1"),
            set_config(1, "b", "2"),
        ],
    );
    let change = ConfigChange {
        topic_id: tid(1).to_vec(),
        set: [("c".to_string(), "3".to_string())].into(),
        delete: vec!["a".into(), "missing".into()],
    };
    apply_all(
        &mut state,
        &[MetadataRecord::new(Record::ConfigChange(change))],
    );
    let configs = &state.topic(&tid(1)).expect("topic").configs;
    let keys: Vec<&str> = configs.keys().map(String::as_str).collect();
    assert_eq!(keys, ["b", "c"]);
    let both = ConfigChange {
        topic_id: tid(1).to_vec(),
        set: [("b".to_string(), "9".to_string())].into(),
        delete: vec!["b".into()],
    };
    let err = reject(&mut state, MetadataRecord::new(Record::ConfigChange(both)));
    assert!(err.to_string().contains("both set and deleted"), "{err}");
    let nothing = ConfigChange {
        topic_id: tid(1).to_vec(),
        ..Default::default()
    };
    assert!(matches!(
        reject(
            &mut state,
            MetadataRecord::new(Record::ConfigChange(nothing))
        ),
        StateError::InvalidConfig { .. }
    ));
    assert!(matches!(
        reject(&mut state, set_config(1, "", "x")),
        StateError::InvalidConfig { .. }
    ));
}

fn allocate(broker_id: i32, first_id: i64, count: i32) -> MetadataRecord {
    MetadataRecord::new(Record::AllocateProducerIds(AllocateProducerIds {
        broker_id,
        first_id,
        count,
    }))
}

#[test]
fn producer_id_blocks_are_contiguous() {
    let mut state = cluster(1);
    apply_all(&mut state, &[allocate(1, 0, 1000), allocate(1, 1000, 1000)]);
    assert_eq!(state.next_producer_id(), 2000);
    let err = reject(&mut state, allocate(1, 0, 1000));
    assert_eq!(
        err,
        StateError::ProducerIdMismatch {
            expected: 2000,
            actual: 0
        }
    );
    assert_eq!(
        reject(&mut state, allocate(1, 2000, 0)),
        StateError::InvalidProducerIdBlock(0)
    );
    assert_eq!(
        reject(&mut state, allocate(5, 2000, 10)),
        StateError::UnknownBroker(5)
    );
}

#[test]
fn producer_ids_never_overflow() {
    let mut snapshot = cluster(1).to_snapshot();
    snapshot.next_producer_id = i64::MAX - 5;
    let mut state = MetadataState::from_snapshot(&snapshot).expect("valid snapshot");
    let err = reject(&mut state, allocate(1, i64::MAX - 5, 10));
    assert_eq!(err, StateError::InvalidProducerIdBlock(10));
}

#[test]
fn unknown_version_and_empty_records_are_rejected() {
    let mut state = populated_state();
    let mut record = fence(1);
    record.version = 7;
    assert!(matches!(
        reject(&mut state, record),
        StateError::UnsupportedVersion { version: 7, .. }
    ));
    let empty = MetadataRecord {
        version: crate::RECORD_VERSION,
        record: None,
    };
    assert_eq!(reject(&mut state, empty), StateError::EmptyRecord);
}

#[test]
fn replay_is_deterministic() {
    let records = sample_records();
    let mut a = MetadataState::new();
    let mut b = MetadataState::new();
    apply_all(&mut a, &records);
    apply_all(&mut b, &records);
    assert_eq!(a.to_snapshot_bytes(), b.to_snapshot_bytes());
    // Maps are ordered, so the order brokers registered in does not leak into the bytes.
    let mut c = MetadataState::new();
    let mut d = MetadataState::new();
    apply_all(&mut c, &[register(3), register(1), register(2)]);
    apply_all(&mut d, &[register(1), register(2), register(3)]);
    assert_eq!(c.to_snapshot_bytes(), d.to_snapshot_bytes());
}

#[test]
fn every_sample_record_changes_the_state() {
    let mut state = MetadataState::new();
    for record in sample_records() {
        let before = state.to_snapshot_bytes();
        apply_all(&mut state, std::slice::from_ref(&record));
        assert_ne!(
            state.to_snapshot_bytes(),
            before,
            "{record:?} changed nothing"
        );
    }
}
