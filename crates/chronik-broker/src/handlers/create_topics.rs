//! CreateTopics through the metadata node; the partition logs follow from the metadata.

use std::collections::BTreeMap;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::create_topics_request::CreatableTopic;
use chronik_kafka::kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use chronik_kafka::kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use chronik_metadata::BrokerId;
use chronik_metadata::controller;

use super::{NONE, str_bytes};
use crate::kafka_errors::{self, Refusal};
use crate::services::Services;
use crate::topic_config::{self, Scope, TopicSettings};

pub(crate) async fn handle(services: &Services, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut response = CreateTopicsResponse::default();
    for topic in req.topics {
        let result = create(services, &topic, req.validate_only).await;
        response.topics.push(result);
    }
    services.layer.reconcile().await;
    response
}

async fn create(
    services: &Services,
    topic: &CreatableTopic,
    validate_only: bool,
) -> CreatableTopicResult {
    let name = topic.name.0.as_str();
    let result = CreatableTopicResult::default().with_name(topic.name.clone());
    let failed = |error: ResponseError, message: String| {
        result
            .clone()
            .with_error_code(error.code())
            .with_error_message(Some(str_bytes(&message)))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
    };
    let (partitions, replication, assignment) = match shape(services, topic) {
        Ok(shape) => shape,
        Err((error, message)) => return failed(error, message),
    };
    if let Err(e) = chronik_types::validate_topic_name(name) {
        return failed(ResponseError::InvalidTopicException, e.to_string());
    }
    if services
        .cluster
        .metadata(|s| s.topic_by_name(name).is_some())
    {
        return failed(
            ResponseError::TopicAlreadyExists,
            format!("topic '{name}' already exists"),
        );
    }
    if crate::services::is_internal_topic(name) {
        return failed(
            ResponseError::InvalidRequest,
            format!("'{name}' is an internal topic; the broker creates it itself"),
        );
    }
    if partitions < 1 {
        return failed(
            ResponseError::InvalidPartitions,
            format!("{partitions} partitions"),
        );
    }
    let entries = (topic.configs.iter()).map(|c| (c.name.as_str(), c.value.as_deref()));
    let configs = match topic_config::replace_all(Scope::Topic, entries).and_then(|configs| {
        let flags = TopicSettings::defaults(&services.config);
        flags.check_on_this_broker(&configs).map(|()| configs)
    }) {
        Ok(configs) => configs,
        Err(e) => return failed(kafka_errors::from_config_error(&e), e.to_string()),
    };
    if !validate_only {
        let created = (services.cluster).create_topic(
            name,
            partitions,
            replication,
            configs.clone(),
            assignment,
        );
        if let Err(e) = created.await {
            return failed(kafka_errors::node_error(&e), e.to_string());
        }
    }
    let topic_id = services
        .cluster
        .metadata(|s| s.topic_by_name(name).map(|t| t.id.0));
    result
        .with_error_code(NONE)
        .with_topic_id(topic_id.map_or(uuid::Uuid::nil(), uuid::Uuid::from_bytes))
        .with_num_partitions(partitions)
        .with_replication_factor(replication)
        .with_configs(Some(effective_configs(services, name, &configs)))
}

/// The partition count, replication factor and manual assignment (replicas per partition;
/// empty when the controller places them) of a topic to create.
fn shape(services: &Services, topic: &CreatableTopic) -> Result<TopicShape, Refusal> {
    if topic.assignments.is_empty() {
        let partitions = match topic.num_partitions {
            -1 => services.config.num_partitions,
            n => n,
        };
        let replication = match topic.replication_factor {
            -1 => services.config.default_replication_factor,
            n => n,
        };
        let live = services.cluster.metadata(|s| s.live_brokers().count());
        if replication < 1 || usize::try_from(replication).is_ok_and(|r| r > live) {
            return Err((
                ResponseError::InvalidReplicationFactor,
                format!(
                    "replication factor {replication} needs that many live brokers; {live} are live"
                ),
            ));
        }
        return Ok((partitions, replication, Vec::new()));
    }
    if topic.num_partitions != -1 || topic.replication_factor != -1 {
        return Err((
            ResponseError::InvalidRequest,
            "a manual replica assignment sets the partitions and replication factor itself; \
             send -1 for both"
                .into(),
        ));
    }
    let mut by_index: Vec<(i32, Vec<BrokerId>)> = (topic.assignments.iter())
        .map(|a| {
            (
                a.partition_index,
                a.broker_ids.iter().map(|b| b.0).collect(),
            )
        })
        .collect();
    by_index.sort_by_key(|(index, _)| *index);
    if let Some((at, (index, _))) = (by_index.iter().enumerate())
        .find(|(at, (index, _))| i32::try_from(*at).ok() != Some(*index))
    {
        return Err((
            ResponseError::InvalidReplicaAssignment,
            format!(
                "the assignment gives partition {index} where partition {at} belongs; number the partitions 0 to N-1, each once"
            ),
        ));
    }
    let assignment: Vec<Vec<BrokerId>> = by_index.into_iter().map(|(_, r)| r).collect();
    // What the controller will check, checked here too so validate_only answers the same.
    (services
        .cluster
        .metadata(|s| controller::manual_assignment(s, &assignment, 0)))
    .map_err(|e| (kafka_errors::from_kind(e.kind()), e.to_string()))?;
    let partitions = i32::try_from(assignment.len()).unwrap_or(i32::MAX);
    let replication = i16::try_from(assignment.first().map_or(0, Vec::len)).unwrap_or(i16::MAX);
    Ok((partitions, replication, assignment))
}

/// (partitions, replication factor, manual assignment) of a topic to create.
type TopicShape = (i32, i16, Vec<Vec<BrokerId>>);

/// The topic's effective configs, as CreateTopics v5+ reports them.
fn effective_configs(
    services: &Services,
    name: &str,
    configs: &BTreeMap<String, String>,
) -> Vec<CreatableTopicConfigs> {
    let all = services
        .with_topic_defaults(|defaults, _| topic_config::effective(name, defaults, configs));
    (all.into_iter())
        .map(|e| {
            CreatableTopicConfigs::default()
                .with_name(str_bytes(e.key.name))
                .with_value(Some(str_bytes(&e.value)))
                .with_read_only(false)
                .with_config_source(e.source as i8)
                .with_is_sensitive(false)
        })
        .collect()
}
