//! AlterConfigs (replace a topic's or broker's configs) and IncrementalAlterConfigs (SET,
//! DELETE, APPEND, SUBTRACT single keys). Topic configs and dynamic broker configs change
//! through metadata records; the logs follow through reconciliation. A broker resource is this
//! broker (its id) or, named "", the cluster-wide defaults of every broker.

use std::collections::BTreeMap;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use chronik_kafka::kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncrementalResult;
use chronik_kafka::kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
};
use chronik_metadata::{ConfigResource, ControllerError};

use super::describe_configs::{BROKER, TOPIC, check_broker_name};
use super::{NONE, str_bytes};
use crate::kafka_errors::{self, Refusal};
use crate::services::Services;
use crate::topic_config::{self, AlterOp, ConfigError, Scope, TopicSettings};

/// A resource's answer.
type Outcome = Result<(), Refusal>;

/// The new configs of a topic computed from its current ones (again, when another change got
/// there first).
type Change<'a> = Box<
    dyn Fn(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ControllerError>
        + Send
        + Sync
        + 'a,
>;

pub(crate) async fn handle(services: &Services, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut response = AlterConfigsResponse::default();
    for resource in &req.resources {
        let name = resource.resource_name.as_str();
        let entries: Vec<(&str, Option<&str>)> = (resource.configs.iter())
            .map(|c| (c.name.as_str(), c.value.as_deref()))
            .collect();
        let scope = scope(resource.resource_type);
        let change: Change =
            Box::new(move |_current| Ok(topic_config::replace_all(scope, entries.clone())?));
        let outcome = alter(
            services,
            resource.resource_type,
            name,
            req.validate_only,
            change,
        )
        .await;
        let (code, message) = split(outcome);
        response.responses.push(
            AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    finish(services, req.validate_only).await;
    response
}

pub(crate) async fn handle_incremental(
    services: &Services,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut response = IncrementalAlterConfigsResponse::default();
    let defaults = services.topic_defaults();
    for resource in &req.resources {
        let name = resource.resource_name.as_str();
        let ops: Result<Vec<(String, AlterOp)>, ConfigError> = (resource.configs.iter())
            .map(|c| {
                let key = c.name.as_str();
                let op = AlterOp::from_wire(key, c.config_operation, c.value.as_deref())?;
                Ok((key.to_owned(), op))
            })
            .collect();
        let outcome = match ops {
            Ok(ops) => {
                let (defaults, scope) = (&defaults, scope(resource.resource_type));
                let change: Change = Box::new(move |current| {
                    Ok(topic_config::apply_ops(scope, current, defaults, &ops)?)
                });
                alter(
                    services,
                    resource.resource_type,
                    name,
                    req.validate_only,
                    change,
                )
                .await
            }
            Err(e) => Err((kafka_errors::from_config_error(&e), e.to_string())),
        };
        let (code, message) = split(outcome);
        response.responses.push(
            IncrementalResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    finish(services, req.validate_only).await;
    response
}

/// Applies `change` to the resource, or says why it cannot be changed.
async fn alter(
    services: &Services,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    change: Change<'_>,
) -> Outcome {
    tracing::debug!(kind = resource_type, name, validate_only, "alter configs");
    match resource_type {
        TOPIC if crate::services::is_internal_topic(name) => Err((
            ResponseError::InvalidRequest,
            format!(
                "'{name}' is an internal topic; its configs (kept forever: retention.ms=-1, \
                 retention.bytes=-1) are managed by the broker"
            ),
        )),
        TOPIC => {
            let topic = ConfigResource::Topic(name.to_owned());
            let flags = TopicSettings::defaults(&services.config);
            let change: Change = Box::new(move |current| {
                let next = change(current)?;
                flags.check_on_this_broker(&next)?;
                Ok(next)
            });
            let altered = (services.cluster).alter_configs(&topic, validate_only, change);
            altered.await.map_err(|e| kafka_errors::node_refusal(&e))
        }
        BROKER => {
            check_broker_name(services, name)?;
            let broker = ConfigResource::Broker(name.parse().ok());
            let altered = (services.cluster).alter_configs(&broker, validate_only, change);
            altered.await.map_err(|e| kafka_errors::node_refusal(&e))
        }
        other => Err((
            ResponseError::InvalidRequest,
            format!("resource type {other} cannot be altered; topics (2) and brokers (4) can"),
        )),
    }
}

/// Whose config names a resource of `resource_type` uses (an unknown type is refused later).
fn scope(resource_type: i8) -> Scope {
    match resource_type {
        BROKER => Scope::Broker,
        _ => Scope::Topic,
    }
}

fn split(
    outcome: Outcome,
) -> (
    i16,
    Option<chronik_kafka::kafka_protocol::protocol::StrBytes>,
) {
    match outcome {
        Ok(()) => (NONE, None),
        Err((error, message)) => (error.code(), Some(str_bytes(&message))),
    }
}

/// Applies changed configs to the logs now, so the answer means they are in effect.
async fn finish(services: &Services, validate_only: bool) {
    if !validate_only {
        services.layer.reconcile().await;
    }
}
