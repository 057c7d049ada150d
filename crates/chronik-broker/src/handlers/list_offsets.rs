//! ListOffsets: earliest (-2), latest (-1) or the first offset at or after a timestamp.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::list_offsets_request::ListOffsetsPartition;
use chronik_kafka::kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use chronik_kafka::kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use chronik_types::TopicPartition;
use chronik_wal::PartitionLog;

use super::NONE;
use super::fetch::epoch_error;
use crate::broker::Shared;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
/// ListOffsets v4 added the leader epoch to the response.
const EPOCH_VERSION: i16 = 4;

pub(crate) fn handle(
    shared: &Shared,
    req: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let mut response = ListOffsetsResponse::default();
    for topic in req.topics {
        let name = topic.name.0.as_str().to_owned();
        let mut out = ListOffsetsTopicResponse::default().with_name(topic.name);
        for part in &topic.partitions {
            let tp = TopicPartition::new(name.clone(), part.partition_index);
            let mut answer = lookup(shared, &tp, part);
            if version < EPOCH_VERSION {
                answer.leader_epoch = -1;
            }
            out.partitions.push(answer);
        }
        response.topics.push(out);
    }
    response
}

fn lookup(
    shared: &Shared,
    tp: &TopicPartition,
    part: &ListOffsetsPartition,
) -> ListOffsetsPartitionResponse {
    let answer = ListOffsetsPartitionResponse::default().with_partition_index(part.partition_index);
    let failed = |code: i16| {
        answer
            .clone()
            .with_error_code(code)
            .with_offset(-1)
            .with_timestamp(-1)
    };
    let (hosted, epoch) = match shared.leader_partition(tp) {
        Ok(found) => found,
        Err(code) => return failed(code),
    };
    let log = &hosted.log;
    let end = log.end_offset();
    // Consumers see up to the high watermark: "latest" is that, not the log end.
    let hw = hosted.replica.update(|p| {
        p.advance(end);
        p.high_watermark()
    });
    if let Some(code) = epoch_error(part.current_leader_epoch, epoch) {
        return failed(code);
    }
    let found = match part.timestamp {
        LATEST => Some((hw, -1)),
        EARLIEST => Some((log.start_offset(), -1)),
        ts if ts < 0 => return failed(ResponseError::InvalidRequest.code()),
        ts => match log.offset_for_timestamp(ts) {
            Ok(hit) => hit.map(|h| refine_to_record(log, h.offset, h.timestamp, ts)),
            Err(e) => {
                tracing::error!(partition = %tp, error = %e, "timestamp lookup failed");
                return failed(ResponseError::KafkaStorageError.code());
            }
        },
    };
    let (offset, timestamp) = found.unwrap_or((-1, -1));
    answer
        .with_error_code(NONE)
        .with_offset(offset)
        .with_timestamp(timestamp)
        .with_leader_epoch(epoch)
}

/// The first record at or after `target` inside the batch the time index found (which starts
/// at `offset` and ends at `max_ts`); the batch itself when its records cannot be read here.
fn refine_to_record(log: &PartitionLog, offset: i64, max_ts: i64, target: i64) -> (i64, i64) {
    let read = log.read_bounded(offset, 1, log.end_offset());
    read.ok()
        .and_then(|r| chronik_records::first_record_at_or_after(&r.data, target))
        .unwrap_or((offset, max_ts))
}
