//! CreateTopics through the metadata node; the partition logs follow from the metadata.

use std::collections::BTreeMap;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::create_topics_request::CreatableTopic;
use chronik_kafka::kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use chronik_kafka::kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::{NONE, str_bytes};
use crate::kafka_errors;
use crate::services::Services;
use crate::topic_config::{self, TopicSettings};

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
    let partitions = match topic.num_partitions {
        -1 => services.config.num_partitions,
        n => n,
    };
    let replication = match topic.replication_factor {
        -1 => services.config.default_replication_factor,
        n => n,
    };
    let result = CreatableTopicResult::default().with_name(topic.name.clone());
    let failed = |error: ResponseError, message: String| {
        result
            .clone()
            .with_error_code(error.code())
            .with_error_message(Some(str_bytes(&message)))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
    };
    if !topic.assignments.is_empty() {
        return failed(
            ResponseError::InvalidRequest,
            "manual replica assignment is not supported".into(),
        );
    }
    let live = services.cluster.metadata(|s| s.live_brokers().count());
    if replication < 1 || usize::try_from(replication).is_ok_and(|r| r > live) {
        return failed(
            ResponseError::InvalidReplicationFactor,
            format!(
                "replication factor {replication} needs that many live brokers; {live} are live"
            ),
        );
    }
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
    let configs = match topic_config::replace_all(entries) {
        Ok(configs) => configs,
        Err(e) => return failed(kafka_errors::from_config_error(&e), e.to_string()),
    };
    if !validate_only {
        let created =
            (services.cluster).create_topic(name, partitions, replication, configs.clone());
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

/// The topic's effective configs, as CreateTopics v5+ reports them.
fn effective_configs(
    services: &Services,
    name: &str,
    configs: &BTreeMap<String, String>,
) -> Vec<CreatableTopicConfigs> {
    let defaults = TopicSettings::defaults(&services.config);
    (topic_config::effective(name, &defaults, configs).into_iter())
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
