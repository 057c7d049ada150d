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
use chronik_wal::PartitionLog;

use super::NONE;
use super::fetch::epoch_error;
use crate::broker::Shared;
use crate::replica::divergence::{UNDEFINED, epoch_end as epoch_end_answer};

pub(crate) fn handle(
    shared: &Shared,
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
            .map(|p| answer(shared, &TopicPartition::new(name, p.partition), p))
            .collect();
        response.topics.push(
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions),
        );
    }
    response
}

fn answer(shared: &Shared, tp: &TopicPartition, part: &OffsetForLeaderPartition) -> EpochEndOffset {
    let out = EpochEndOffset::default().with_partition(part.partition);
    let failed = |code: i16| {
        out.clone()
            .with_error_code(code)
            .with_leader_epoch(UNDEFINED.0)
            .with_end_offset(UNDEFINED.1)
    };
    let (log, current) = match shared.leader_log(tp) {
        Ok(found) => found,
        Err(code) => return failed(code),
    };
    if let Some(code) = epoch_error(part.current_leader_epoch, current) {
        return failed(code);
    }
    let (epoch, end) = epoch_end(&log, part.leader_epoch, current);
    out.with_error_code(NONE)
        .with_leader_epoch(epoch)
        .with_end_offset(end)
}

/// Kafka's answer for `requested`, from this log's leader-epoch checkpoint.
fn epoch_end(log: &PartitionLog, requested: i32, current: i32) -> (i32, i64) {
    let first_start = log.epochs().first().map(|e| e.start_offset);
    epoch_end_answer(
        requested,
        current,
        log.end_offset(),
        log.end_offset_for_epoch(requested),
        first_start,
    )
}
