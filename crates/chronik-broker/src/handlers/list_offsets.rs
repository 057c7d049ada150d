//! ListOffsets: earliest (-2), latest (-1), the record with the largest timestamp (-3, from
//! v7) or the first offset at or after a timestamp.

use chronik_kafka::kafka_protocol::messages::list_offsets_request::ListOffsetsPartition;
use chronik_kafka::kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use chronik_kafka::kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use chronik_types::TopicPartition;

use super::NONE;
use crate::kafka_errors::partition_error_code;
use crate::partition::{Isolation, OffsetQuery};
use crate::services::Services;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
/// ListOffsets v7 added the MAX_TIMESTAMP query.
const MAX_TIMESTAMP_VERSION: i16 = 7;
/// ListOffsets v4 added the leader epoch to the response.
const EPOCH_VERSION: i16 = 4;

pub(crate) fn handle(
    services: &Services,
    req: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let mut response = ListOffsetsResponse::default();
    for topic in req.topics {
        let name = topic.name.0.as_str().to_owned();
        let mut out = ListOffsetsTopicResponse::default().with_name(topic.name);
        for part in &topic.partitions {
            let tp = TopicPartition::new(name.clone(), part.partition_index);
            let isolation = Isolation::from_wire(req.isolation_level);
            let mut answer = lookup(services, &tp, part, version, isolation);
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
    services: &Services,
    tp: &TopicPartition,
    part: &ListOffsetsPartition,
    version: i16,
    isolation: Isolation,
) -> ListOffsetsPartitionResponse {
    let answer = ListOffsetsPartitionResponse::default().with_partition_index(part.partition_index);
    let query = match part.timestamp {
        LATEST => OffsetQuery::Latest,
        EARLIEST => OffsetQuery::Earliest,
        MAX_TIMESTAMP if version >= MAX_TIMESTAMP_VERSION => OffsetQuery::MaxTimestamp,
        ts => OffsetQuery::Timestamp(ts),
    };
    match services
        .layer
        .offset_for(tp, part.current_leader_epoch, query, isolation)
    {
        Ok((found, epoch)) => {
            let (offset, timestamp) = found.unwrap_or((-1, -1));
            answer
                .with_error_code(NONE)
                .with_offset(offset)
                .with_timestamp(timestamp)
                .with_leader_epoch(epoch)
        }
        Err(e) => answer
            .with_error_code(partition_error_code(&e))
            .with_offset(-1)
            .with_timestamp(-1),
    }
}
