//! AlterPartitionReassignments and ListPartitionReassignments: replica moves through the
//! controller, which finishes each once its target replicas are in sync. A listing comes from
//! this broker's metadata, where a running reassignment's added and dropped replicas are kept.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use chronik_kafka::kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use chronik_kafka::kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use chronik_metadata::PartitionState;

use super::{NONE, str_bytes};
use crate::cluster::ReassignmentChange;
use crate::kafka_errors::node_error;
use crate::services::Services;

pub(crate) async fn alter(
    services: &Services,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let changes: Vec<ReassignmentChange> = (req.topics.iter())
        .flat_map(|t| {
            (t.partitions.iter()).map(|p| ReassignmentChange {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                target: (p.replicas.as_ref()).map(|r| r.iter().map(|b| b.0).collect()),
            })
        })
        .collect();
    tracing::debug!(partitions = changes.len(), "alter partition reassignments");
    let outcomes = match services.cluster.alter_reassignments(&changes).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            tracing::warn!(error = %e, "partition reassignments failed");
            return AlterPartitionReassignmentsResponse::default()
                .with_error_code(node_error(&e).code())
                .with_error_message(Some(str_bytes(&e.to_string())));
        }
    };
    services.layer.reconcile().await;
    let mut outcomes = outcomes.into_iter();
    let responses = (req.topics.into_iter())
        .map(|t| {
            let partitions = (t.partitions.iter())
                .map(|p| {
                    let (code, message) = match outcomes.next() {
                        Some(Ok(())) => (NONE, None),
                        Some(Err(e)) => (node_error(&e).code(), Some(str_bytes(&e.to_string()))),
                        None => (ResponseError::UnknownServerError.code(), None),
                    };
                    ReassignablePartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                        .with_error_message(message)
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default()
        .with_error_code(NONE)
        .with_responses(responses)
}

pub(crate) fn list(
    services: &Services,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    services.cluster.metadata(|s| match &req.topics {
        None => {
            let every = s.topics().map(|t| {
                let all = (0..).zip(&t.partitions).map(|(i, p)| (i, Some(p)));
                (t.name.clone(), all.collect())
            });
            listing(every.collect())
        }
        Some(topics) => {
            let mut asked = Vec::new();
            for topic in topics {
                let name = topic.name.0.as_str();
                let Some(t) = s.topic_by_name(name) else {
                    return unknown(name);
                };
                let parts = (topic.partition_indexes.iter())
                    .map(|i| (*i, t.partition(*i)))
                    .collect();
                asked.push((name.to_owned(), parts));
            }
            listing(asked)
        }
    })
}

/// Partitions of one topic, by index (`None`: no such partition).
type Asked<'a> = (String, Vec<(i32, Option<&'a PartitionState>)>);

/// The running reassignments among `asked`; an unknown partition fails the request, as
/// Kafka's controller answers it.
fn listing(asked: Vec<Asked<'_>>) -> ListPartitionReassignmentsResponse {
    let mut topics = Vec::new();
    for (name, parts) in asked {
        let mut ongoing = Vec::new();
        for (index, p) in parts {
            let Some(p) = p else {
                return unknown(&name);
            };
            if p.is_reassigning() {
                ongoing.push(
                    OngoingPartitionReassignment::default()
                        .with_partition_index(index)
                        .with_replicas(ids(&p.replicas))
                        .with_adding_replicas(ids(&p.adding_replicas()))
                        .with_removing_replicas(ids(&p.removing_replicas())),
                );
            }
        }
        if !ongoing.is_empty() {
            topics.push(
                OngoingTopicReassignment::default()
                    .with_name(TopicName(str_bytes(&name)))
                    .with_partitions(ongoing),
            );
        }
    }
    ListPartitionReassignmentsResponse::default()
        .with_error_code(NONE)
        .with_topics(topics)
}

fn unknown(topic: &str) -> ListPartitionReassignmentsResponse {
    ListPartitionReassignmentsResponse::default()
        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
        .with_error_message(Some(str_bytes(&format!(
            "topic '{topic}' or one of the partitions asked for does not exist"
        ))))
}

fn ids(brokers: &[chronik_metadata::BrokerId]) -> Vec<BrokerId> {
    brokers.iter().map(|b| BrokerId(*b)).collect()
}
