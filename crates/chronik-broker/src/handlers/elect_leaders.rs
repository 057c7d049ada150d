//! ElectLeaders: preferred or unclean leader elections through the controller, answered once
//! this broker's metadata shows the new leaders.

use std::collections::BTreeSet;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::elect_leaders_response::{
    PartitionResult, ReplicaElectionResult,
};
use chronik_kafka::kafka_protocol::messages::{
    ElectLeadersRequest, ElectLeadersResponse, TopicName,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_metadata::controller::{ElectionOutcome, ElectionResult, ElectionType};

use super::{NONE, str_bytes};
use crate::kafka_errors::node_error;
use crate::services::Services;

/// ElectLeaders v1 added the election type; v0 always meant preferred.
const ELECTION_TYPE_VERSION: i16 = 1;

pub(crate) async fn handle(
    services: &Services,
    req: ElectLeadersRequest,
    version: i16,
) -> ElectLeadersResponse {
    let requested = requested(&req);
    let kind = match (version >= ELECTION_TYPE_VERSION, req.election_type) {
        (false, _) | (true, 0) => ElectionType::Preferred,
        (true, 1) => ElectionType::Unclean,
        (true, other) => {
            let message = format!("election type {other} is neither 0 (preferred) nor 1 (unclean)");
            return refused(requested, ResponseError::InvalidRequest, &message, version);
        }
    };
    tracing::debug!(?kind, partitions = ?requested.as_ref().map(Vec::len), "elect leaders");
    match services
        .cluster
        .elect_leaders(kind, requested.clone())
        .await
    {
        Ok(results) => answer(results),
        Err(e) => {
            tracing::warn!(error = %e, "leader election failed");
            refused(requested, node_error(&e), &e.to_string(), version)
        }
    }
}

/// The partitions asked for, each once; `None` for every partition.
fn requested(req: &ElectLeadersRequest) -> Option<Vec<(String, i32)>> {
    let topics = req.topic_partitions.as_ref()?;
    let unique: BTreeSet<(String, i32)> = (topics.iter())
        .flat_map(|t| {
            let name = t.topic.0.as_str();
            t.partitions.iter().map(move |p| (name.to_owned(), *p))
        })
        .collect();
    Some(unique.into_iter().collect())
}

fn outcome_code(outcome: ElectionOutcome) -> (i16, Option<&'static str>) {
    let (error, message) = match outcome {
        ElectionOutcome::Elected => return (NONE, None),
        ElectionOutcome::NotNeeded => (
            ResponseError::ElectionNotNeeded,
            "the partition already has the leader this election would give it",
        ),
        ElectionOutcome::PreferredNotAvailable => (
            ResponseError::PreferredLeaderNotAvailable,
            "the preferred replica is not live or not in sync; wait for it to catch up",
        ),
        ElectionOutcome::EligibleNotAvailable => (
            ResponseError::EligibleLeadersNotAvailable,
            "no replica of the partition is live; restart one of its brokers",
        ),
        ElectionOutcome::UnknownPartition => (
            ResponseError::UnknownTopicOrPartition,
            "no such topic or partition",
        ),
    };
    (error.code(), Some(message))
}

fn answer(results: Vec<ElectionResult>) -> ElectLeadersResponse {
    let partitions = results.into_iter().map(|r| {
        let (code, message) = outcome_code(r.outcome);
        (r.topic, r.partition, code, message.map(str_bytes))
    });
    ElectLeadersResponse::default()
        .with_error_code(NONE)
        .with_replica_election_results(by_topic(partitions))
}

/// The whole request refused: every partition asked for carries `error`, and so does the
/// response from v1 (v0 has no top-level error).
fn refused(
    requested: Option<Vec<(String, i32)>>,
    error: ResponseError,
    message: &str,
    version: i16,
) -> ElectLeadersResponse {
    let partitions = (requested.into_iter().flatten())
        .map(|(topic, partition)| (topic, partition, error.code(), Some(str_bytes(message))));
    let top = if version >= ELECTION_TYPE_VERSION {
        error.code()
    } else {
        NONE
    };
    ElectLeadersResponse::default()
        .with_error_code(top)
        .with_replica_election_results(by_topic(partitions))
}

/// Partition results grouped under their topics, in the order given.
fn by_topic(
    partitions: impl Iterator<Item = (String, i32, i16, Option<StrBytes>)>,
) -> Vec<ReplicaElectionResult> {
    let mut topics: Vec<ReplicaElectionResult> = Vec::new();
    for (topic, partition, code, message) in partitions {
        let result = PartitionResult::default()
            .with_partition_id(partition)
            .with_error_code(code)
            .with_error_message(message);
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == topic => t.partition_result.push(result),
            _ => topics.push(
                ReplicaElectionResult::default()
                    .with_topic(TopicName(str_bytes(&topic)))
                    .with_partition_result(vec![result]),
            ),
        }
    }
    topics
}
