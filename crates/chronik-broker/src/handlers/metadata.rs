//! Metadata: brokers, topics and partitions from the metadata state, each broker named by its
//! address on the client's listener (endpoints.rs); unknown topics are created when both the
//! client and the broker allow it.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    BrokerId, MetadataRequest, MetadataResponse, TopicName,
};
use chronik_metadata::{MetadataState, Topic, Uuid};
use chronik_types::TopicPartition;

use super::{NONE, endpoints, str_bytes};
use crate::services::Services;

pub(crate) async fn handle(
    services: &Services,
    req: MetadataRequest,
    version: i16,
    listener: &str,
) -> MetadataResponse {
    // Decoded as true below v4, whose clients always allowed it; the authorizer may turn it off.
    let client_allows = req.allow_auto_topic_creation;
    // v0 has no null list: an empty one asks for every topic.
    let topics = req.topics.filter(|t| version > 0 || !t.is_empty());
    let wanted: Option<Vec<Wanted>> = topics.map(|topics| {
        (topics.into_iter())
            .map(|t| match t.name {
                Some(n) => Wanted::Name(n.0.as_str().to_owned()),
                None => Wanted::Id(Uuid(*t.topic_id.as_bytes())),
            })
            .collect()
    });
    if let Some(wanted) = &wanted
        && client_allows
    {
        for w in wanted {
            if let Wanted::Name(name) = w {
                services.ensure_topic(name).await;
            }
        }
    }
    let me = services.cluster.me;
    let failed = services.layer.failed_logs();
    services.cluster.metadata(|state| {
        // Replicas on fenced brokers, and this broker's own replicas whose log failed (only
        // this broker knows of those: `chronik-broker status` asks every broker).
        let offline = |topic: &Topic, index: i32, id: i32| {
            !state.is_live(id)
                || (id == me && failed.contains(&TopicPartition::new(topic.name.as_str(), index)))
        };
        let leader = |id| endpoints::partition_leader(state, id, listener, version);
        let describe = |topic: &Topic| describe(topic, &offline, &leader);
        let mut response = MetadataResponse::default()
            .with_brokers(brokers(state, listener))
            .with_cluster_id(state.cluster_id().map(str_bytes))
            .with_controller_id(BrokerId(me));
        response.topics = match &wanted {
            None => state.topics().map(describe).collect(),
            Some(wanted) => (wanted.iter())
                .map(|w| match w {
                    Wanted::Name(n) => describe_named(state, n, &describe),
                    Wanted::Id(id) => describe_by_id(state, id, &describe),
                })
                .collect(),
        };
        response
    })
}

fn brokers(state: &MetadataState, listener: &str) -> Vec<MetadataResponseBroker> {
    (endpoints::live_brokers(state, listener))
        .map(|(b, at)| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.id))
                .with_host(str_bytes(&at.host))
                .with_port(i32::from(at.port))
                .with_rack(b.rack.as_deref().map(str_bytes))
        })
        .collect()
}

fn describe_named(
    state: &MetadataState,
    name: &str,
    describe: &impl Fn(&Topic) -> MetadataResponseTopic,
) -> MetadataResponseTopic {
    match state.topic_by_name(name) {
        Some(topic) => describe(topic),
        None => {
            let code = if chronik_types::validate_topic_name(name).is_ok() {
                ResponseError::UnknownTopicOrPartition.code()
            } else {
                ResponseError::InvalidTopicException.code()
            };
            MetadataResponseTopic::default()
                .with_error_code(code)
                .with_name(Some(TopicName(str_bytes(name))))
        }
    }
}

/// A topic a request names: by name, or (v10+, e.g. a consumer resolving the topic ids of a
/// KIP-848 assignment) by id with a null name.
enum Wanted {
    Name(String),
    Id(Uuid),
}

fn describe_by_id(
    state: &MetadataState,
    id: &Uuid,
    describe: &impl Fn(&Topic) -> MetadataResponseTopic,
) -> MetadataResponseTopic {
    match state.topic(id) {
        Some(topic) => describe(topic),
        None => MetadataResponseTopic::default()
            .with_error_code(ResponseError::UnknownTopicId.code())
            .with_name(None)
            .with_topic_id(uuid::Uuid::from_bytes(id.0)),
    }
}

/// `leader` gives the leader a client is told of and the partition's error code.
fn describe(
    topic: &Topic,
    offline: &impl Fn(&Topic, i32, i32) -> bool,
    leader: &impl Fn(i32) -> (i32, i16),
) -> MetadataResponseTopic {
    let partitions = (topic.partitions.iter().enumerate())
        .map(|(index, p)| {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            let offline_replicas = (p.replicas.iter().copied())
                .filter(|id| offline(topic, index, *id))
                .map(BrokerId)
                .collect();
            let (leader, code) = leader(p.leader);
            MetadataResponsePartition::default()
                .with_error_code(code)
                .with_partition_index(index)
                .with_leader_id(BrokerId(leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
                .with_offline_replicas(offline_replicas)
        })
        .collect();
    MetadataResponseTopic::default()
        .with_error_code(NONE)
        .with_name(Some(TopicName(str_bytes(&topic.name))))
        .with_topic_id(uuid::Uuid::from_bytes(topic.id.0))
        .with_is_internal(topic.name.starts_with("__"))
        .with_partitions(partitions)
}
