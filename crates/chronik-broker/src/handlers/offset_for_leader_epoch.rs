//! OffsetForLeaderEpoch: where a leader epoch ended in the leader's log, from the log's
//! leader-epoch checkpoint. Consumers use it to detect truncation; followers (replica_id >= 0)
//! will use it to truncate before fetching.

use chronik_kafka::kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition;
use chronik_kafka::kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use chronik_kafka::kafka_protocol::messages::{
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
};
use chronik_types::TopicPartition;

use super::NONE;
use crate::kafka_errors::partition_error_code;
use crate::services::Services;

/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
const UNDEFINED: (i32, i64) = (-1, -1);

pub(crate) fn handle(
    services: &Services,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    tracing::debug!(
        replica = req.replica_id.0,
        topics = req.topics.len(),
        "offset for leader epoch"
    );
    let mut response = OffsetForLeaderEpochResponse::default();
    for topic in &req.topics {
        let name = topic.topic.0.as_str();
        let partitions = (topic.partitions.iter())
            .map(|p| answer(services, &TopicPartition::new(name, p.partition), p))
            .collect();
        response.topics.push(
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions),
        );
    }
    response
}

fn answer(
    services: &Services,
    tp: &TopicPartition,
    part: &OffsetForLeaderPartition,
) -> EpochEndOffset {
    let out = EpochEndOffset::default().with_partition(part.partition);
    let (code, (epoch, end)) = match services.layer.leader_at(tp, part.current_leader_epoch) {
        Ok(leading) => (
            NONE,
            leading.epoch_end(part.leader_epoch).unwrap_or(UNDEFINED),
        ),
        Err(e) => (partition_error_code(&e), UNDEFINED),
    };
    out.with_error_code(code)
        .with_leader_epoch(epoch)
        .with_end_offset(end)
}
