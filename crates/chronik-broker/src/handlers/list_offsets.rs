//! ListOffsets: earliest (-2, over both tiers of a tiered topic), latest (-1), the record with
//! the largest timestamp (-3, from v7), the local log's start (-4, from v8: KIP-405), the last
//! offset in the remote tier (-5, from v9: KIP-1005) or the
//! first offset at or after a timestamp (read from the remote tier when only it holds it).

use chronik_kafka::kafka_protocol::messages::list_offsets_request::ListOffsetsPartition;
use chronik_kafka::kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use chronik_kafka::kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use chronik_types::TopicPartition;

use super::NONE;
use crate::kafka_errors::partition_error_code;
use crate::partition::{Isolation, OffsetQuery, PartitionError};
use crate::services::Services;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
/// ListOffsets v8 added the EARLIEST_LOCAL query.
const EARLIEST_LOCAL_VERSION: i16 = 8;
const LATEST_TIERED: i64 = -5;
/// ListOffsets v9 added the LATEST_TIERED query.
const LATEST_TIERED_VERSION: i16 = 9;
/// ListOffsets v7 added the MAX_TIMESTAMP query.
const MAX_TIMESTAMP_VERSION: i16 = 7;
/// ListOffsets v4 added the leader epoch to the response.
const EPOCH_VERSION: i16 = 4;

pub(crate) async fn handle(
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
            let mut answer = lookup(services, &tp, part, version, isolation).await;
            if version < EPOCH_VERSION {
                answer.leader_epoch = -1;
            }
            out.partitions.push(answer);
        }
        response.topics.push(out);
    }
    response
}

async fn lookup(
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
        EARLIEST_LOCAL if version >= EARLIEST_LOCAL_VERSION => OffsetQuery::EarliestLocal,
        LATEST_TIERED if version >= LATEST_TIERED_VERSION => OffsetQuery::LatestTiered,
        ts => OffsetQuery::Timestamp(ts),
    };
    let found = match query {
        OffsetQuery::Timestamp(ts) => match remote_lookup(services, tp, part, ts).await {
            Ok(Some(found)) => Ok(found),
            Ok(None) => {
                (services.layer).offset_for(tp, part.current_leader_epoch, query, isolation)
            }
            Err(e) => Err(e),
        },
        _ => (services.layer).offset_for(tp, part.current_leader_epoch, query, isolation),
    };
    match found {
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

/// The first record at or after `ts` when only the remote tier holds it; `None` when the
/// local log answers.
async fn remote_lookup(
    services: &Services,
    tp: &TopicPartition,
    part: &ListOffsetsPartition,
    ts: i64,
) -> Result<Option<(Option<(i64, i64)>, i32)>, PartitionError> {
    let Some((id, epoch, log_start)) =
        (services.layer).remote_copy_for_timestamp(tp, part.current_leader_epoch, ts)?
    else {
        return Ok(None);
    };
    let Some(reader) = &services.remote_reader else {
        tracing::warn!(partition = %tp, "a timestamp lookup needs the remote tier, which this broker lacks (--remote-storage)");
        return Err(PartitionError::Storage(tp.clone()));
    };
    match reader.batch_at_timestamp(&id, ts).await {
        Ok(Some(hit)) => {
            let (offset, timestamp) = chronik_records::first_record_at_or_after(&hit.batch, ts)
                .unwrap_or((hit.meta.base_offset, hit.meta.max_timestamp));
            // DeleteRecords may have moved the log start inside this batch.
            Ok(Some((Some((offset.max(log_start), timestamp)), epoch)))
        }
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::warn!(partition = %tp, error = %e, "timestamp lookup in the remote tier failed");
            metrics::counter!("chronik_broker_remote_read_failures_total").increment(1);
            Err(PartitionError::Storage(tp.clone()))
        }
    }
}
