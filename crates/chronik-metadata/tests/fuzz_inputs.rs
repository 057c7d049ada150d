//! The `metadata_record` and `grpc_messages` fuzz targets' entry points on stable: the committed
//! corpus, saved regressions and a fixed-seed pseudo-random pass (see docs/fuzzing.md).

#[path = "../../../fuzz/harness/grpc_messages.rs"]
mod grpc_messages;
#[path = "../../../fuzz/harness/metadata_record.rs"]
mod metadata_record;
#[path = "../../../fuzz/harness/replay.rs"]
mod replay;

use std::collections::BTreeMap;

use chronik_metadata::grpc::pb;
use chronik_metadata::proto::{
    AllocateProducerIds, BrokerConfigChange, ClientQuotaChange, ConfigChange, CreatePartitions,
    PartitionAssignment, PartitionChange, QuotaEntityPart,
};
use chronik_metadata::{MetadataRecord, Record};
use grpc_messages::{KINDS, base_records, base_state};
use prost::Message;
use protobuf::Message as _;
use replay::{PSEUDO_RANDOM_INPUTS, check_seed_files, pseudo_random_inputs, replay_saved, run_one};

/// Length-prefixed chunks, as the `metadata_record` target splits its input.
fn chunked(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks {
        let len = u16::try_from(chunk.len()).expect("seed chunks are small");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Records that apply in order to the base state, touching every kind of change.
fn follow_up_records() -> Vec<MetadataRecord> {
    let orders = vec![1u8; 16];
    vec![
        MetadataRecord::new(Record::CreatePartitions(CreatePartitions {
            topic_id: orders.clone(),
            partitions: vec![PartitionAssignment {
                partition_index: 2,
                replicas: vec![3, 1, 2],
                leader: 3,
                isr: vec![3, 1, 2],
            }],
        })),
        MetadataRecord::new(Record::PartitionChange(PartitionChange {
            topic_id: orders.clone(),
            partition_index: 0,
            leader: 2,
            isr: vec![2, 3],
            replicas: None,
            expected_partition_epoch: 0,
            reassignment: None,
        })),
        MetadataRecord::new(Record::ConfigChange(ConfigChange {
            topic_id: orders,
            set: BTreeMap::from([("retention.ms".to_string(), "60000".to_string())]),
            delete: Vec::new(),
        })),
        MetadataRecord::new(Record::AllocateProducerIds(AllocateProducerIds {
            broker_id: 1,
            first_id: 0,
            count: 1000,
        })),
        MetadataRecord::new(Record::ClientQuotaChange(ClientQuotaChange {
            entity: vec![
                QuotaEntityPart {
                    entity_type: "user".into(),
                    name: Some("alice".into()),
                },
                QuotaEntityPart {
                    entity_type: "client-id".into(),
                    name: None,
                },
            ],
            set: BTreeMap::from([
                ("producer_byte_rate".to_string(), 1048576.0),
                ("request_percentage".to_string(), 50.0),
            ]),
            remove: vec!["consumer_byte_rate".into()],
        })),
        MetadataRecord::new(Record::BrokerConfigChange(BrokerConfigChange {
            broker_id: None,
            set: BTreeMap::from([("log.retention.ms".to_string(), "60000".to_string())]),
            delete: Vec::new(),
        })),
    ]
}

/// The committed `metadata_record` seeds.
fn record_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let snapshot = base_state().to_snapshot_bytes();
    let mut from_empty = vec![Vec::new()];
    from_empty.extend(base_records().iter().map(MetadataRecord::to_bytes));
    let mut from_snapshot = vec![snapshot.clone()];
    from_snapshot.extend(follow_up_records().iter().map(MetadataRecord::to_bytes));
    vec![
        ("snapshot", snapshot),
        ("records-from-empty", chunked(&from_empty)),
        ("records-from-snapshot", chunked(&from_snapshot)),
    ]
}

fn message(kind: &str, message: impl Message) -> Vec<u8> {
    let which = KINDS.iter().position(|k| *k == kind).expect("a known kind");
    let mut input = vec![which as u8];
    input.extend(message.encode_to_vec());
    input
}

/// A Raft heartbeat as a voter sends it, wrapped for the peer stream.
fn raft_envelope() -> pb::RaftEnvelope {
    let mut heartbeat = raft::eraftpb::Message::default();
    heartbeat.set_msg_type(raft::eraftpb::MessageType::MsgHeartbeat);
    (heartbeat.from, heartbeat.to, heartbeat.term) = (1, 2, 5);
    pb::RaftEnvelope {
        cluster_id: "fuzz".into(),
        from: 1,
        to: 2,
        message: heartbeat.write_to_bytes().expect("encode a raft message"),
    }
}

/// The committed `grpc_messages` seeds: requests that change the base cluster, a watch event
/// and a Raft envelope.
fn grpc_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let records: Vec<Vec<u8>> = follow_up_records()
        .iter()
        .map(MetadataRecord::to_bytes)
        .collect();
    vec![
        (
            "register-broker",
            message(
                "RegisterBrokerRequest",
                pb::RegisterBrokerRequest {
                    broker_id: 5,
                    incarnation_id: vec![5; 16],
                    host: "broker-5".into(),
                    port: 9092,
                    rack: Some("rack-b".into()),
                    endpoints: vec![
                        pb::Endpoint {
                            name: "INTERNAL".into(),
                            host: "broker-5".into(),
                            port: 9092,
                        },
                        pb::Endpoint {
                            name: "SASL_SSL".into(),
                            host: "kafka-5.example".into(),
                            port: 19093,
                        },
                    ],
                },
            ),
        ),
        (
            "alter-partition",
            message(
                "AlterPartitionRequest",
                pb::AlterPartitionRequest {
                    broker_id: 1,
                    topic_id: vec![1; 16],
                    partition: 0,
                    leader_epoch: 0,
                    partition_epoch: 0,
                    new_isr: vec![1, 2],
                },
            ),
        ),
        (
            "create-topics",
            message(
                "CreateTopicsRequest",
                pb::CreateTopicsRequest {
                    topics: vec![pb::TopicSpec {
                        name: "payments".into(),
                        partitions: 3,
                        replication_factor: 2,
                        configs: BTreeMap::from([("cleanup.policy".into(), "delete".into())]),
                        assignment: Vec::new(),
                    }],
                },
            ),
        ),
        (
            "reassign-partition",
            message(
                "ReassignPartitionRequest",
                pb::ReassignPartitionRequest {
                    topic: "single".into(),
                    partition: 0,
                    replicas: vec![1, 2],
                },
            ),
        ),
        (
            "watch-event",
            message(
                "WatchEvent",
                pb::WatchEvent {
                    index: 7,
                    records,
                    snapshot: Some(base_state().to_snapshot_bytes()),
                },
            ),
        ),
        (
            "elect-leaders",
            message(
                "ElectLeadersRequest",
                pb::ElectLeadersRequest {
                    election_type: pb::ElectionType::Unclean.into(),
                    all_partitions: false,
                    partitions: vec![pb::TopicPartitionRef {
                        topic: "orders".into(),
                        partition: 0,
                    }],
                },
            ),
        ),
        (
            "alter-reassignments",
            message(
                "AlterReassignmentsRequest",
                pb::AlterReassignmentsRequest {
                    partitions: vec![pb::PartitionReassignment {
                        topic: "single".into(),
                        partition: 0,
                        target: Some(pb::ReplicaAssignment {
                            replicas: vec![2, 3],
                        }),
                    }],
                },
            ),
        ),
        (
            "decommission-broker",
            message(
                "DecommissionBrokerRequest",
                pb::DecommissionBrokerRequest {
                    broker_id: 2,
                    cancel: false,
                },
            ),
        ),
        (
            "alter-client-quotas",
            message(
                "AlterClientQuotasRequest",
                pb::AlterClientQuotasRequest {
                    changes: vec![pb::ClientQuotaChange {
                        entity: vec![pb::QuotaEntityPart {
                            entity_type: "client-id".into(),
                            name: Some("app".into()),
                        }],
                        set: BTreeMap::from([("consumer_byte_rate".into(), 2097152.0)]),
                        remove: vec!["request_percentage".into()],
                    }],
                },
            ),
        ),
        ("raft-envelope", message("RaftEnvelope", raft_envelope())),
        (
            "alter-broker-configs",
            message(
                "AlterBrokerConfigsRequest",
                pb::AlterBrokerConfigsRequest {
                    change: Some(pb::BrokerConfigChange {
                        broker_id: Some(1),
                        set: BTreeMap::from([("log.retention.ms".into(), "60000".into())]),
                        delete: Vec::new(),
                        expected: Some(pb::ExpectedConfigs::default()),
                    }),
                },
            ),
        ),
    ]
}

/// More valid inputs to mutate: at least one of every kind.
fn grpc_bases() -> Vec<Vec<u8>> {
    let mut bases: Vec<Vec<u8>> = grpc_seeds().into_iter().map(|(_, b)| b).collect();
    bases.extend([
        message(
            "HeartbeatRequest",
            pb::HeartbeatRequest {
                broker_id: 4,
                incarnation_id: vec![4; 16],
            },
        ),
        message(
            "ShutdownBrokerRequest",
            pb::ShutdownBrokerRequest {
                broker_id: 2,
                incarnation_id: vec![2; 16],
            },
        ),
        message(
            "DeleteTopicsRequest",
            pb::DeleteTopicsRequest {
                names: vec!["single".into(), "missing".into()],
            },
        ),
        message(
            "CreatePartitionsRequest",
            pb::CreatePartitionsRequest {
                topics: vec![pb::PartitionCount {
                    name: "orders".into(),
                    total: 5,
                    assignment: Vec::new(),
                }],
            },
        ),
        message(
            "AllocateProducerIdsRequest",
            pb::AllocateProducerIdsRequest { broker_id: 3 },
        ),
        message(
            "AlterTopicConfigsRequest",
            pb::AlterTopicConfigsRequest {
                topics: vec![pb::TopicConfigChange {
                    name: "orders".into(),
                    set: BTreeMap::from([("retention.ms".into(), "1000".into())]),
                    delete: vec!["cleanup.policy".into()],
                    expected: Some(pb::ExpectedConfigs {
                        configs: BTreeMap::from([("cleanup.policy".into(), "delete".into())]),
                    }),
                }],
            },
        ),
        message("WatchRequest", pb::WatchRequest { from_index: 3 }),
        message("StatusRequest", pb::StatusRequest {}),
        message(
            "DescribeTopicsRequest",
            pb::DescribeTopicsRequest {
                names: vec!["orders".into()],
            },
        ),
        message(
            "AddVoterRequest",
            pb::AddVoterRequest {
                id: 4,
                address: "127.0.0.1:9400".into(),
            },
        ),
        message("RemoveVoterRequest", pb::RemoveVoterRequest { id: 4 }),
    ]);
    bases
}

#[test]
fn seed_corpus_matches_the_helpers() {
    let records = record_seeds();
    check_seed_files("metadata_record", &records);
    for (name, input) in &records {
        let outcome = metadata_record::run(input);
        assert_eq!(outcome.records_rejected, 0, "{name}: {outcome:?}");
    }
    let grpc = grpc_seeds();
    check_seed_files("grpc_messages", &grpc);
    for (name, input) in &grpc {
        assert!(grpc_messages::run(input).decoded, "{name}");
    }
    // The requests meant to change the cluster do.
    for name in [
        "register-broker",
        "alter-partition",
        "create-topics",
        "alter-client-quotas",
        "alter-broker-configs",
    ] {
        let (_, input) = grpc.iter().find(|(n, _)| *n == name).expect("seed");
        assert!(grpc_messages::run(input).records_applied > 0, "{name}");
    }
}

#[test]
fn metadata_record_corpus_and_regressions_replay() {
    replay_saved("metadata_record", metadata_record::run);
}

#[test]
fn grpc_messages_corpus_and_regressions_replay() {
    replay_saved("grpc_messages", grpc_messages::run);
}

#[test]
fn metadata_records_survive_pseudo_random_input() {
    let bases: Vec<Vec<u8>> = record_seeds().into_iter().map(|(_, b)| b).collect();
    let mut total = metadata_record::Outcome::default();
    for input in pseudo_random_inputs(&bases, PSEUDO_RANDOM_INPUTS, 4) {
        let outcome = run_one("metadata_record", &input, metadata_record::run);
        total.snapshot_restored |= outcome.snapshot_restored;
        total.records_applied += outcome.records_applied;
        total.records_rejected += outcome.records_rejected;
    }
    assert!(total.snapshot_restored, "{total:?}");
    assert!(
        total.records_applied > 1000 && total.records_rejected > 1000,
        "{total:?}"
    );
}

#[test]
fn grpc_messages_survive_pseudo_random_input() {
    let (mut decoded, mut refused, mut applied) = (0, 0, 0);
    for input in pseudo_random_inputs(&grpc_bases(), PSEUDO_RANDOM_INPUTS, 5) {
        let outcome = run_one("grpc_messages", &input, grpc_messages::run);
        if outcome.decoded {
            decoded += 1;
        } else {
            refused += 1;
        }
        applied += outcome.records_applied;
    }
    assert!(
        decoded > 100 && refused > 100 && applied > 20,
        "{decoded} / {refused} / {applied}"
    );
}
