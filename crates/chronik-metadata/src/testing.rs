//! Builders of records and states shared by the unit tests.

use std::collections::BTreeMap;

use crate::ids::{BrokerId, Uuid};
use crate::proto::metadata_record::Record;
use crate::proto::*;
use crate::state::MetadataState;

pub fn topic_id(n: u8) -> Uuid {
    Uuid([n; 16])
}

pub fn register(id: BrokerId) -> MetadataRecord {
    register_incarnation(id, 1)
}

pub fn register_incarnation(id: BrokerId, incarnation: u8) -> MetadataRecord {
    MetadataRecord::new(Record::RegisterBroker(RegisterBroker {
        broker_id: id,
        incarnation_id: vec![incarnation; 16],
        host: format!("broker-{id}.local"),
        port: 9092,
        rack: Some("rack-a".into()),
        endpoints: Vec::new(),
    }))
}

/// A registration of broker `id` with `listeners` (name, host, port); the first is its address.
pub fn register_listeners(
    id: BrokerId,
    incarnation: u8,
    listeners: &[(&str, &str, u32)],
) -> MetadataRecord {
    let (host, port) = listeners.first().map_or(("", 0), |l| (l.1, l.2));
    MetadataRecord::new(Record::RegisterBroker(RegisterBroker {
        broker_id: id,
        incarnation_id: vec![incarnation; 16],
        host: host.into(),
        port,
        rack: None,
        endpoints: (listeners.iter())
            .map(|(name, host, port)| Endpoint {
                name: (*name).into(),
                host: (*host).into(),
                port: *port,
            })
            .collect(),
    }))
}

pub fn fence(id: BrokerId) -> MetadataRecord {
    MetadataRecord::new(Record::FenceBroker(FenceBroker { broker_id: id }))
}

pub fn unfence(id: BrokerId) -> MetadataRecord {
    MetadataRecord::new(Record::UnfenceBroker(UnfenceBroker { broker_id: id }))
}

/// One partition: replicas, leader, ISR.
pub fn assignment(index: i32, replicas: &[BrokerId], leader: BrokerId) -> PartitionAssignment {
    PartitionAssignment {
        partition_index: index,
        replicas: replicas.to_vec(),
        leader,
        isr: replicas.to_vec(),
    }
}

/// A topic whose partition `i` has `replicas[i]`, led by its first replica, ISR = replicas.
pub fn create_topic(name: &str, id: u8, replicas: &[&[BrokerId]]) -> MetadataRecord {
    let partitions = replicas
        .iter()
        .zip(0..)
        .map(|(r, i)| assignment(i, r, r[0]))
        .collect();
    MetadataRecord::new(Record::CreateTopic(CreateTopic {
        name: name.into(),
        topic_id: topic_id(id).to_vec(),
        partitions,
        configs: BTreeMap::new(),
    }))
}

pub fn change(
    id: u8,
    partition: i32,
    leader: BrokerId,
    isr: &[BrokerId],
    epoch: i32,
) -> MetadataRecord {
    MetadataRecord::new(Record::PartitionChange(PartitionChange {
        topic_id: topic_id(id).to_vec(),
        partition_index: partition,
        leader,
        isr: isr.to_vec(),
        replicas: None,
        expected_partition_epoch: epoch,
        reassignment: None,
    }))
}

pub fn set_config(id: u8, key: &str, value: &str) -> MetadataRecord {
    MetadataRecord::new(Record::ConfigChange(ConfigChange {
        topic_id: topic_id(id).to_vec(),
        set: BTreeMap::from([(key.to_string(), value.to_string())]),
        delete: Vec::new(),
    }))
}

/// One part of a quota entity; `None` names the type's default.
/// Sets broker config `key` of `broker` (`None`: the cluster-wide defaults).
pub fn broker_config(broker: Option<BrokerId>, key: &str, value: &str) -> MetadataRecord {
    MetadataRecord::new(Record::BrokerConfigChange(BrokerConfigChange {
        broker_id: broker,
        set: BTreeMap::from([(key.to_owned(), value.to_owned())]),
        delete: Vec::new(),
    }))
}

pub fn quota_part(entity_type: &str, name: Option<&str>) -> QuotaEntityPart {
    QuotaEntityPart {
        entity_type: entity_type.into(),
        name: name.map(str::to_string),
    }
}

/// A client quota change of the entity `parts`.
pub fn quota_change(
    parts: &[(&str, Option<&str>)],
    set: &[(&str, f64)],
    remove: &[&str],
) -> MetadataRecord {
    MetadataRecord::new(Record::ClientQuotaChange(ClientQuotaChange {
        entity: parts.iter().map(|(t, n)| quota_part(t, *n)).collect(),
        set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        remove: remove.iter().map(|k| k.to_string()).collect(),
    }))
}

/// A valid SCRAM credential of `user` (not derived from any password: a fixed salted
/// password keeps the tests fast).
pub fn scram_upsert(
    user: &str,
    mechanism: chronik_auth::ScramMechanism,
    iterations: u32,
) -> ScramCredentialUpsert {
    let credential = chronik_auth::ScramCredential::from_salted_password(
        mechanism, &[7; 32], b"salt", iterations,
    )
    .expect("a valid credential");
    crate::scram::upsert_of(user, &credential)
}

/// A record setting [`scram_upsert`]'s credential.
pub fn scram_upsert_record(
    user: &str,
    mechanism: chronik_auth::ScramMechanism,
    iterations: u32,
) -> MetadataRecord {
    MetadataRecord::new(Record::ScramCredentialUpsert(scram_upsert(
        user, mechanism, iterations,
    )))
}

/// A record deleting the credential of `user` for the mechanism Kafka numbers `mechanism`.
pub fn scram_delete(user: &str, mechanism: i32) -> MetadataRecord {
    MetadataRecord::new(Record::ScramCredentialDeletion(ScramCredentialDeletion {
        user: user.into(),
        mechanism,
    }))
}

/// Applies records that must all be valid.
pub fn apply_all(state: &mut MetadataState, records: &[MetadataRecord]) {
    for record in records {
        if let Err(e) = state.apply(record) {
            panic!("{record:?} was rejected: {e}");
        }
    }
}

/// `n` registered, unfenced brokers with ids 1..=n.
pub fn cluster(n: BrokerId) -> MetadataState {
    let mut state = MetadataState::new();
    for id in 1..=n {
        apply_all(&mut state, &[register(id), unfence(id)]);
    }
    state
}

/// One valid record of every type, in an order that applies cleanly to an empty state.
pub fn sample_records() -> Vec<MetadataRecord> {
    vec![
        MetadataRecord::new(Record::SetClusterId(SetClusterId {
            cluster_id: "cluster-1".into(),
        })),
        register_listeners(
            1,
            1,
            &[
                ("INTERNAL", "broker-1.local", 9092),
                ("EXTERNAL", "kafka-1.example", 19092),
            ],
        ),
        register(2),
        register(3),
        unfence(1),
        unfence(2),
        unfence(3),
        create_topic("orders", 1, &[&[1, 2, 3], &[2, 3, 1]]),
        create_topic("doomed", 2, &[&[3]]),
        remote_change(
            2,
            0,
            (0, 1),
            RemoteSegmentState::RemoteSegmentCopyStarted,
            0,
        ),
        remote_change(
            1,
            1,
            (0, 7),
            RemoteSegmentState::RemoteSegmentCopyStarted,
            0,
        ),
        remote_change(1, 1, (0, 7), RemoteSegmentState::RemoteSegmentCopied, 0),
        MetadataRecord::new(Record::CreatePartitions(CreatePartitions {
            topic_id: topic_id(1).to_vec(),
            partitions: vec![assignment(2, &[3, 1, 2], 3)],
        })),
        change(1, 0, 2, &[2, 3], 0),
        set_config(1, "retention.ms", "1000"),
        MetadataRecord::new(Record::AllocateProducerIds(AllocateProducerIds {
            broker_id: 1,
            first_id: 0,
            count: 1000,
        })),
        // Partition 2 of "orders" moving from [3, 1, 2] to [1, 2].
        MetadataRecord::new(Record::PartitionChange(PartitionChange {
            topic_id: topic_id(1).to_vec(),
            partition_index: 2,
            leader: 3,
            isr: vec![3, 1, 2],
            replicas: Some(ReplicaList {
                replicas: vec![1, 2, 3],
            }),
            expected_partition_epoch: 0,
            reassignment: Some(Reassignment {
                original: vec![3, 1, 2],
                target: vec![1, 2],
            }),
        })),
        MetadataRecord::new(Record::DecommissionBroker(DecommissionBroker {
            broker_id: 2,
            cancel: false,
        })),
        fence(3),
        MetadataRecord::new(Record::DeleteTopic(DeleteTopic {
            topic_id: topic_id(2).to_vec(),
        })),
        quota_change(
            &[("user", Some("alice")), ("client-id", None)],
            &[
                ("producer_byte_rate", 1048576.0),
                ("request_percentage", 50.0),
            ],
            &["consumer_byte_rate"],
        ),
        broker_config(None, "log.retention.ms", "3600000"),
        broker_config(Some(1), "log.segment.bytes", "1048576"),
        scram_upsert_record("alice", chronik_auth::ScramMechanism::Sha512, 8192),
        create_acl(&topic_acl("orders", "User:alice")),
        create_acl(&topic_acl("payments", "User:bob")),
        create_acl(&topic_acl("audit", "User:carol")),
        delete_acl(&topic_acl("audit", "User:carol")),
    ]
}

/// An ACL allowing `principal` to read the topic `name` from any host.
pub fn topic_acl(name: &str, principal: &str) -> chronik_auth::acl::AclBinding {
    use chronik_auth::acl::*;
    AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name.into(),
        pattern: PatternType::Literal,
        principal: principal.into(),
        host: WILDCARD.into(),
        operation: Operation::Read,
        permission: Permission::Allow,
    }
}

/// A record creating `acl`.
pub fn create_acl(acl: &chronik_auth::acl::AclBinding) -> MetadataRecord {
    MetadataRecord::new(Record::CreateAcl(CreateAcl {
        acl: Some(crate::acls::acl_record(acl)),
    }))
}

/// A record deleting `acl`.
pub fn delete_acl(acl: &chronik_auth::acl::AclBinding) -> MetadataRecord {
    MetadataRecord::new(Record::DeleteAcl(DeleteAcl {
        acl: Some(crate::acls::acl_record(acl)),
    }))
}

/// The state after [`sample_records`].
pub fn populated_state() -> MetadataState {
    let mut state = MetadataState::new();
    apply_all(&mut state, &sample_records());
    state
}

pub fn delete_topic(id: u8) -> MetadataRecord {
    MetadataRecord::new(Record::DeleteTopic(DeleteTopic {
        topic_id: topic_id(id).to_vec(),
    }))
}

/// Moves upload `copy.1` of the segment at `copy.0` of partition `partition` of topic `id` to
/// `state`, at leader epoch `epoch`; the copy holds 100 offsets in 4,096 bytes.
pub fn remote_change(
    id: u8,
    partition: i32,
    copy: (i64, u64),
    state: RemoteSegmentState,
    epoch: i32,
) -> MetadataRecord {
    MetadataRecord::new(Record::RemoteSegmentChange(RemoteSegmentChange {
        topic_id: topic_id(id).to_vec(),
        partition,
        base_offset: copy.0,
        upload_id: copy.1,
        state: state as i32,
        leader_epoch: epoch,
        next_offset: copy.0 + 100,
        max_timestamp: 1_700_000_000_000,
        size_bytes: 4096,
        topic: format!("topic-{id}"),
    }))
}

/// Shorthand for [`topic_id`].
pub fn tid(n: u8) -> Uuid {
    topic_id(n)
}

/// Applies a record that must be rejected, and checks the state did not change at all.
pub fn reject(state: &mut MetadataState, record: MetadataRecord) -> crate::StateError {
    let before = state.to_snapshot_bytes();
    let copy = state.clone();
    let err = state.apply(&record).expect_err("record should be rejected");
    assert_eq!(state.to_snapshot_bytes(), before, "state changed on {err}");
    assert_eq!(*state, copy);
    err
}
