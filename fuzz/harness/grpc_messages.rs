//! Body of the `grpc_messages` fuzz target, shared with the stable replay test
//! `crates/chronik-metadata/tests/fuzz_inputs.rs` (both include this file with `#[path]`).
//!
//! Byte 0 of the input picks a message type ([`KINDS`]), the rest is its protobuf encoding as
//! it arrives in a gRPC call: a request of the Controller service, a WatchEvent (which brokers
//! apply to their metadata image) or a RaftEnvelope between voters. A decoded request is then
//! handled the way the service and the meta node handle it, up to the controller's decision,
//! against a small cluster; the records decided must apply to that state.

use std::sync::OnceLock;

use chronik_metadata::controller::{self, NewTopic};
use chronik_metadata::grpc::pb::*;
use chronik_metadata::grpc::{
    MAX_RAFT_MESSAGE, apply_watch_event, broker_registration, quota_entity,
};
use chronik_metadata::proto::{
    CreateTopic, Endpoint, PartitionAssignment, RegisterBroker, SetClusterId, UnfenceBroker,
};
use chronik_metadata::{
    ConfigResource, ControllerError, MetadataRecord, MetadataState, Record, Uuid,
};
use prost::Message;
use protobuf::Message as _;

/// The message types byte 0 chooses from, in order.
pub const KINDS: [&str; 22] = [
    "RegisterBrokerRequest",
    "HeartbeatRequest",
    "ShutdownBrokerRequest",
    "AlterPartitionRequest",
    "ReassignPartitionRequest",
    "CreateTopicsRequest",
    "DeleteTopicsRequest",
    "CreatePartitionsRequest",
    "AllocateProducerIdsRequest",
    "AlterTopicConfigsRequest",
    "WatchRequest",
    "StatusRequest",
    "DescribeTopicsRequest",
    "AddVoterRequest",
    "RemoveVoterRequest",
    "ElectLeadersRequest",
    "AlterReassignmentsRequest",
    "DecommissionBrokerRequest",
    "AlterClientQuotasRequest",
    "WatchEvent",
    "RaftEnvelope",
    "AlterBrokerConfigsRequest",
];

/// The id every topic created by a fuzzed request gets (the node would pick a random one).
pub const NEW_TOPIC_ID: Uuid = Uuid([0xA5; 16]);

/// What one input did, so the replay test can tell that both outcomes were reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub decoded: bool,
    /// Records the controller decided on and the state accepted.
    pub records_applied: usize,
}

pub fn run(data: &[u8]) -> Outcome {
    let Some((&which, body)) = data.split_first() else {
        return Outcome::default();
    };
    let mut handled = Handled::new();
    let decoded = match usize::from(which) % KINDS.len() {
        0 => decode(body, |r: RegisterBrokerRequest| handled.register_broker(r)),
        1 => decode(body, |r: HeartbeatRequest| {
            handled.session(r.broker_id, &r.incarnation_id, false)
        }),
        2 => decode(body, |r: ShutdownBrokerRequest| {
            handled.session(r.broker_id, &r.incarnation_id, true)
        }),
        3 => decode(body, |r: AlterPartitionRequest| handled.alter_partition(r)),
        4 => decode(body, |r: ReassignPartitionRequest| {
            handled.decide(|s| {
                controller::reassign_partition(s, &r.topic, r.partition, &r.replicas)
                    .map(|(records, _)| records)
            })
        }),
        5 => decode(body, |r: CreateTopicsRequest| handled.create_topics(r)),
        6 => decode(body, |r: DeleteTopicsRequest| {
            for name in &r.names {
                handled.decide(|s| controller::delete_topic(s, name));
            }
        }),
        7 => decode(body, |r: CreatePartitionsRequest| {
            for topic in &r.topics {
                let assignment: Vec<Vec<i32>> = topic
                    .assignment
                    .iter()
                    .map(|a| a.replicas.clone())
                    .collect();
                handled.decide(|s| {
                    controller::create_partitions(s, &topic.name, topic.total, &assignment)
                });
            }
        }),
        8 => decode(body, |r: AllocateProducerIdsRequest| {
            handled.decide(|s| controller::allocate_producer_ids(s, r.broker_id));
        }),
        9 => decode(body, |r: AlterTopicConfigsRequest| {
            for t in &r.topics {
                handled.decide(|s| {
                    let expected = t.expected.as_ref().map(|e| &e.configs);
                    let topic = ConfigResource::Topic(t.name.clone());
                    controller::change_configs(s, &topic, &t.set, &t.delete, expected)
                });
            }
        }),
        10 => decode(body, |_: WatchRequest| {}),
        11 => decode(body, |_: StatusRequest| {}),
        12 => decode(body, |_: DescribeTopicsRequest| {}),
        13 => decode(body, |_: AddVoterRequest| {}),
        14 => decode(body, |_: RemoveVoterRequest| {}),
        15 => decode(body, |r: ElectLeadersRequest| {
            let Ok(kind) = ElectionType::try_from(r.election_type) else {
                return;
            };
            let partitions: Vec<(String, i32)> = (r.partitions.into_iter())
                .map(|p| (p.topic, p.partition))
                .collect();
            let asked = (!r.all_partitions).then_some(partitions.as_slice());
            handled.decide(|s| Ok(controller::elect_leaders(s, kind.into(), asked).0));
        }),
        16 => decode(body, |r: AlterReassignmentsRequest| {
            for p in &r.partitions {
                handled.decide(|s| match &p.target {
                    Some(t) => {
                        controller::start_reassignment(s, &p.topic, p.partition, &t.replicas)
                    }
                    None => controller::cancel_reassignment(s, &p.topic, p.partition),
                });
            }
        }),
        17 => decode(body, |r: DecommissionBrokerRequest| {
            handled.decide(|s| controller::decommission_broker(s, r.broker_id, r.cancel));
        }),
        18 => decode(body, |r: AlterClientQuotasRequest| {
            for c in &r.changes {
                let Ok(entity) = quota_entity(&c.entity) else {
                    continue;
                };
                handled.decide(|s| controller::alter_client_quota(s, &entity, &c.set, &c.remove));
            }
        }),
        19 => decode(body, |event: WatchEvent| {
            let mut image = MetadataState::new();
            if let Ok(next) = apply_watch_event(&mut image, &event) {
                assert_eq!(next, event.index.wrapping_add(1));
            }
        }),
        20 => decode(body, |envelope: RaftEnvelope| raft_message(&envelope)),
        _ => decode(body, |r: AlterBrokerConfigsRequest| {
            let Some(c) = r.change else { return };
            handled.decide(|s| {
                let expected = c.expected.as_ref().map(|e| &e.configs);
                let broker = ConfigResource::Broker(c.broker_id);
                controller::change_configs(s, &broker, &c.set, &c.delete, expected)
            });
        }),
    };
    Outcome {
        decoded,
        records_applied: handled.applied,
    }
}

/// Decodes `body` as `M` and hands it on; whether it decoded.
fn decode<M: Message + Default>(body: &[u8], handle: impl FnOnce(M)) -> bool {
    match M::decode(body) {
        Ok(message) => {
            handle(message);
            true
        }
        Err(_) => false,
    }
}

/// What the peer service checks before stepping a Raft message into the node.
fn raft_message(envelope: &RaftEnvelope) {
    if envelope.message.len() <= MAX_RAFT_MESSAGE {
        let _ = raft::eraftpb::Message::parse_from_bytes(&envelope.message);
    }
}

/// The cluster every request is handled against: three live brokers, a fenced fourth, and two
/// topics ("orders" with id 0x01.., "single" with id 0x02..).
pub fn base_state() -> &'static MetadataState {
    static BASE: OnceLock<MetadataState> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut state = MetadataState::new();
        for record in base_records() {
            state.apply(&record).expect("the base records apply");
        }
        state
    })
}

/// The records [`base_state`] is built from.
pub fn base_records() -> Vec<MetadataRecord> {
    let mut records = vec![MetadataRecord::new(Record::SetClusterId(SetClusterId {
        cluster_id: "fuzz".into(),
    }))];
    for id in 1..=4 {
        records.push(MetadataRecord::new(Record::RegisterBroker(
            RegisterBroker {
                broker_id: id,
                incarnation_id: vec![id as u8; 16],
                host: format!("broker-{id}"),
                port: 9092,
                rack: None,
                // Brokers 1-3 with two listeners, broker 4 from before listeners registered.
                endpoints: if id < 4 {
                    vec![
                        Endpoint {
                            name: "INTERNAL".into(),
                            host: format!("broker-{id}"),
                            port: 9092,
                        },
                        Endpoint {
                            name: "EXTERNAL".into(),
                            host: format!("kafka-{id}.example"),
                            port: 19092,
                        },
                    ]
                } else {
                    Vec::new()
                },
            },
        )));
    }
    for id in 1..=3 {
        records.push(MetadataRecord::new(Record::UnfenceBroker(UnfenceBroker {
            broker_id: id,
        })));
    }
    let partition = |index: i32, replicas: &[i32]| PartitionAssignment {
        partition_index: index,
        replicas: replicas.to_vec(),
        leader: replicas[0],
        isr: replicas.to_vec(),
    };
    for (name, id, partitions) in [
        (
            "orders",
            1u8,
            vec![partition(0, &[1, 2, 3]), partition(1, &[2, 3, 1])],
        ),
        ("single", 2, vec![partition(0, &[3])]),
    ] {
        records.push(MetadataRecord::new(Record::CreateTopic(CreateTopic {
            name: name.into(),
            topic_id: vec![id; 16],
            partitions,
            configs: Default::default(),
        })));
    }
    records
}

/// The state as the node projects it while deciding: each decision sees the ones before.
struct Handled {
    state: MetadataState,
    applied: usize,
}

impl Handled {
    fn new() -> Self {
        Handled {
            state: base_state().clone(),
            applied: 0,
        }
    }

    /// Applies what the controller decided. Its records are computed against this state, so
    /// the state machine must accept every one of them.
    fn decide(
        &mut self,
        decide: impl FnOnce(&MetadataState) -> Result<Vec<MetadataRecord>, ControllerError>,
    ) {
        let Ok(records) = decide(&self.state) else {
            return;
        };
        for record in &records {
            if let Err(e) = self.state.apply(record) {
                panic!("the controller decided a record the state rejects ({e}): {record:?}");
            }
            self.applied += 1;
        }
        // The controller loop restores preferred leaders after every change.
        for record in controller::preferred_leader_elections(&self.state) {
            if let Err(e) = self.state.apply(&record) {
                panic!("a preferred leader election the state rejects ({e}): {record:?}");
            }
            self.applied += 1;
        }
    }

    fn register_broker(&mut self, r: RegisterBrokerRequest) {
        // As the service converts it.
        let Ok(reg) = broker_registration(r) else {
            return;
        };
        self.decide(|s| controller::register_broker(s, &reg));
    }

    /// Heartbeat (unfences a fenced broker) and controlled shutdown (fences a live one), for
    /// the current incarnation only.
    fn session(&mut self, broker_id: i32, incarnation: &[u8], shutdown: bool) {
        let Ok(incarnation) = Uuid::from_field("incarnation_id", incarnation) else {
            return;
        };
        let Some(broker) = self.state.broker(broker_id) else {
            return;
        };
        if broker.incarnation != incarnation {
            return;
        }
        if shutdown {
            self.decide(|s| controller::fence_broker(s, broker_id));
        } else if broker.fenced {
            self.decide(|s| controller::unfence_broker(s, broker_id));
        }
    }

    fn alter_partition(&mut self, r: AlterPartitionRequest) {
        let Ok(topic_id) = Uuid::from_field("topic_id", &r.topic_id) else {
            return;
        };
        let req = controller::AlterPartitionRequest {
            broker_id: r.broker_id,
            topic_id,
            partition: r.partition,
            leader_epoch: r.leader_epoch,
            partition_epoch: r.partition_epoch,
            new_isr: r.new_isr,
        };
        self.decide(|s| controller::alter_partition(s, &req));
    }

    fn create_topics(&mut self, r: CreateTopicsRequest) {
        for topic in r.topics {
            let Ok(replication_factor) = i16::try_from(topic.replication_factor) else {
                continue;
            };
            let req = NewTopic {
                name: topic.name,
                topic_id: NEW_TOPIC_ID,
                partitions: topic.partitions,
                replication_factor,
                configs: topic.configs,
                assignment: topic.assignment.into_iter().map(|a| a.replicas).collect(),
            };
            self.decide(|s| controller::create_topic(s, &req));
        }
    }
}
