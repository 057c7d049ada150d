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

/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
const UNDEFINED: (i32, i64) = (-1, -1);

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

/// Kafka's answer for `requested`: the largest epoch at or below it with the offset where it
/// ended. The current epoch ends at the log end even before anything was written in it; an
/// epoch older than the checkpoint ends where the log's first epoch starts; a future one is
/// undefined.
fn epoch_end(log: &PartitionLog, requested: i32, current: i32) -> (i32, i64) {
    let first_start = log.epochs().first().map(|e| e.start_offset);
    resolve(
        requested,
        current,
        log.end_offset(),
        log.end_offset_for_epoch(requested),
        first_start,
    )
}

fn resolve(
    requested: i32,
    current: i32,
    log_end: i64,
    lookup: Option<(i32, i64)>,
    first_start: Option<i64>,
) -> (i32, i64) {
    if requested < 0 || requested > current {
        return UNDEFINED;
    }
    if requested == current {
        return (current, log_end);
    }
    match (lookup, first_start) {
        (Some(found), _) => found,
        (None, Some(start)) => (requested, start),
        (None, None) => UNDEFINED,
    }
}

#[cfg(test)]
mod tests {
    use super::{UNDEFINED, resolve};

    #[test]
    fn epoch_end_offsets_follow_kafka() {
        assert_eq!(
            resolve(5, 5, 100, Some((3, 100)), Some(0)),
            (5, 100),
            "current epoch"
        );
        assert_eq!(
            resolve(6, 5, 100, Some((3, 100)), Some(0)),
            UNDEFINED,
            "future epoch"
        );
        assert_eq!(resolve(-1, 5, 100, None, Some(0)), UNDEFINED);
        assert_eq!(
            resolve(2, 5, 100, Some((1, 40)), Some(0)),
            (1, 40),
            "from the checkpoint"
        );
        assert_eq!(
            resolve(0, 5, 100, None, Some(30)),
            (0, 30),
            "older than the checkpoint"
        );
        assert_eq!(resolve(0, 5, 0, None, None), UNDEFINED, "empty log");
    }
}
