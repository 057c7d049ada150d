//! CreatePartitions: grows topics through the metadata node, placed by the controller or as
//! the request's assignments say; the new partitions' logs open through the usual
//! reconciliation.

use std::collections::BTreeSet;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use chronik_kafka::kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use chronik_kafka::kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::{NONE, str_bytes};
use crate::kafka_errors::{self, Refusal};
use crate::services::Services;

pub(crate) async fn handle(
    services: &Services,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    tracing::debug!(
        topics = req.topics.len(),
        validate_only = req.validate_only,
        "create partitions"
    );
    let names: Vec<&str> = req.topics.iter().map(|t| t.name.0.as_str()).collect();
    let duplicates = duplicated(&names);
    let mut response = CreatePartitionsResponse::default();
    for topic in &req.topics {
        let outcome = if duplicates.contains(topic.name.0.as_str()) {
            Err((
                ResponseError::InvalidRequest,
                "the topic appears more than once in the request".to_owned(),
            ))
        } else {
            grow(services, topic, req.validate_only).await
        };
        let (code, message) =
            outcome.map_or_else(|(e, m)| (e.code(), Some(str_bytes(&m))), |()| (NONE, None));
        response.results.push(
            CreatePartitionsTopicResult::default()
                .with_name(topic.name.clone())
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    if !req.validate_only {
        services.layer.reconcile().await;
    }
    response
}

async fn grow(
    services: &Services,
    topic: &CreatePartitionsTopic,
    validate_only: bool,
) -> Result<(), Refusal> {
    // An empty list assigns nothing, the same as null.
    let assignment: Vec<Vec<i32>> = (topic.assignments.iter().flatten())
        .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
        .collect();
    let name = topic.name.0.as_str();
    if crate::services::is_internal_topic(name) {
        // More partitions would move groups to other partitions, away from their offsets.
        return Err((
            ResponseError::InvalidRequest,
            format!("'{name}' is an internal topic; its partition count cannot change"),
        ));
    }
    let grown = services
        .cluster
        .create_partitions(name, topic.count, &assignment, validate_only)
        .await;
    grown.map_err(|e| kafka_errors::node_refusal(&e))
}

/// The names that appear more than once.
fn duplicated<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    names.iter().copied().filter(|n| !seen.insert(*n)).collect()
}

#[cfg(test)]
mod tests {
    use super::duplicated;

    #[test]
    fn duplicates_are_found_once() {
        let found = duplicated(&["a", "b", "a", "c", "a"]);
        assert_eq!(found.into_iter().collect::<Vec<_>>(), vec!["a"]);
    }
}
