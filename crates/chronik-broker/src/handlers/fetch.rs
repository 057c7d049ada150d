//! Fetch: the request as reads from the partition layer, which returns the stored batches
//! byte for byte (consumers up to the high watermark, followers to the log end, their fetch
//! offsets recorded as their progress). A fetch with less than `min_bytes` parks, woken by
//! changes of the partitions it reads (and by role changes), until `max_wait_ms` has passed.

use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::fetch_request::FetchTopic;
use chronik_kafka::kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use chronik_kafka::kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};
use chronik_types::TopicPartition;
use tokio::time::Instant;
use tokio_stream::StreamExt;

use super::NONE;
use crate::kafka_errors::partition_error_code;
use crate::partition::{Isolation, Parked, PartitionError, PartitionLayer, ReadRequest, Reader};
use crate::producers::AbortedTxn;
use crate::services::Services;

/// Longest long poll honoured, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(60);

pub(crate) async fn handle(services: &Services, req: FetchRequest) -> FetchResponse {
    if let Some(code) = session_error(req.session_id, req.session_epoch) {
        return FetchResponse::default().with_error_code(code);
    }
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    // Never more than the broker's cap, however much the client asks for: a response is
    // built in memory.
    let cap = services.config.fetch_max_bytes;
    let max_bytes = match usize::try_from(req.max_bytes) {
        Ok(0) | Err(_) => cap,
        Ok(n) => n.min(cap),
    };
    let layer = &services.layer;
    let reader = match req.replica_id.0 {
        id if id >= 0 => Reader::Follower(id),
        _ => Reader::Consumer,
    };
    let isolation = Isolation::from_wire(req.isolation_level);
    let partitions = partitions_of(&req.topics, isolation);
    if let Reader::Follower(id) = reader {
        for (tp, read) in &partitions {
            let progress = (read.fetch_offset, read.log_start_offset);
            layer.follower_fetched(id, tp, progress, read.current_leader_epoch);
        }
    }
    loop {
        // Subscribed before reading, so a change during the read is not missed.
        let mut changes = layer.changes(partitions.iter().map(|(tp, _)| tp));
        let (response, bytes, errors) =
            read_all(layer, &req.topics, &partitions, max_bytes, reader);
        if bytes >= min_bytes || errors || Instant::now() >= deadline {
            return counted(response);
        }
        let parked = Parked::new(reader);
        let woken = tokio::time::timeout_at(deadline, changes.next()).await;
        drop(parked);
        if !matches!(woken, Ok(Some(_))) {
            return counted(read_all(layer, &req.topics, &partitions, max_bytes, reader).0);
        }
    }
}

/// Every requested partition with what to read of it, in request order.
fn partitions_of(
    topics: &[FetchTopic],
    isolation: Isolation,
) -> Vec<(TopicPartition, ReadRequest)> {
    let mut out = Vec::new();
    for topic in topics {
        for part in &topic.partitions {
            let tp = TopicPartition::new(topic.topic.0.as_str(), part.partition);
            let read = ReadRequest {
                fetch_offset: part.fetch_offset,
                log_start_offset: part.log_start_offset,
                current_leader_epoch: part.current_leader_epoch,
                max_bytes: usize::try_from(part.partition_max_bytes).unwrap_or(0),
                first_whole: true,
                isolation,
            };
            out.push((tp, read));
        }
    }
    out
}

/// Counts the record bytes a response carries, per topic.
fn counted(response: FetchResponse) -> FetchResponse {
    for topic in &response.responses {
        let bytes: usize = (topic.partitions.iter())
            .filter_map(|p| p.records.as_ref().map(|r| r.len()))
            .sum();
        if bytes > 0 {
            metrics::counter!("chronik_broker_topic_bytes_out_total", "topic" => topic.topic.0.to_string())
                .increment(bytes as u64);
        }
    }
    response
}

/// One pass over the requested partitions: the response, the record bytes in it, and
/// whether any partition failed (which answers at once, as Kafka does).
fn read_all(
    layer: &PartitionLayer,
    topics: &[FetchTopic],
    partitions: &[(TopicPartition, ReadRequest)],
    max_bytes: usize,
    reader: Reader,
) -> (FetchResponse, usize, bool) {
    let mut response = FetchResponse::default();
    let mut budget = ResponseBudget::new(max_bytes);
    let mut errors = false;
    let mut wanted = partitions.iter();
    for topic in topics {
        let mut out = FetchableTopicResponse::default().with_topic(topic.topic.clone());
        for (tp, read) in wanted.by_ref().take(topic.partitions.len()) {
            let (max_bytes, first_whole) = budget.next_read(read.max_bytes);
            let read = ReadRequest {
                max_bytes,
                first_whole,
                ..*read
            };
            let data = match layer.read(tp, &read, reader) {
                Ok(r) => {
                    budget.took(r.records.len());
                    PartitionData::default()
                        .with_error_code(NONE)
                        .with_high_watermark(r.high_watermark)
                        .with_last_stable_offset(r.last_stable_offset)
                        .with_log_start_offset(r.log_start_offset)
                        .with_aborted_transactions(r.aborted.map(aborted_list))
                        .with_records(Some(r.records))
                }
                Err(e) => {
                    errors = true;
                    failed(&e)
                }
            };
            out.partitions.push(data.with_partition_index(tp.partition));
        }
        response.responses.push(out);
    }
    (response, budget.used, errors)
}

/// What a fetch response may still take (KIP-74): until it holds data, the first batch of a
/// partition comes whole even when larger than the limits, so a consumer always makes
/// progress; after that, each partition gets only batches that fit within both its own
/// limit and what is left of the response's, so the response exceeds `max_bytes` by at
/// most that one first batch.
#[derive(Debug, Clone, Copy)]
struct ResponseBudget {
    max_bytes: usize,
    used: usize,
}

impl ResponseBudget {
    fn new(max_bytes: usize) -> Self {
        ResponseBudget { max_bytes, used: 0 }
    }

    /// The byte limit for the next partition's read, and whether its first batch comes
    /// whole even when larger.
    fn next_read(&self, partition_max_bytes: usize) -> (usize, bool) {
        let remaining = self.max_bytes.saturating_sub(self.used);
        (partition_max_bytes.min(remaining), self.used == 0)
    }

    fn took(&mut self, bytes: usize) {
        self.used += bytes;
    }
}

fn aborted_list(aborted: Vec<AbortedTxn>) -> Vec<AbortedTransaction> {
    (aborted.into_iter())
        .map(|t| {
            AbortedTransaction::default()
                .with_producer_id(ProducerId(t.producer_id))
                .with_first_offset(t.first_offset)
        })
        .collect()
}

fn failed(e: &PartitionError) -> PartitionData {
    let data = PartitionData::default()
        .with_error_code(partition_error_code(e))
        .with_high_watermark(-1)
        .with_records(Some(Bytes::new()));
    match e {
        PartitionError::OffsetOutOfRange {
            log_start,
            visible_end,
            ..
        } => data
            .with_high_watermark(*visible_end)
            .with_log_start_offset(*log_start),
        _ => data,
    }
}

/// Fetch sessions (KIP-227) are not kept: a request to open one is answered as a full fetch
/// with session id 0, which tells the client none was created, so it keeps sending full
/// fetches. A session id or epoch this broker cannot have given out is an error.
fn session_error(session_id: i32, session_epoch: i32) -> Option<i16> {
    match (session_id, session_epoch) {
        // Epoch -1 closes any session and asks for a sessionless full fetch.
        (_, -1) | (0, 0) => None,
        (0, _) => Some(ResponseError::InvalidFetchSessionEpoch.code()),
        _ => Some(ResponseError::FetchSessionIdNotFound.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::{ResponseBudget, session_error};

    #[test]
    fn only_the_first_non_empty_partition_may_exceed_the_limits() {
        let mut budget = ResponseBudget::new(1_000_000);
        assert_eq!(budget.next_read(20_000_000), (1_000_000, true));
        budget.took(0);
        assert_eq!(
            budget.next_read(20_000_000),
            (1_000_000, true),
            "an empty partition leaves the next one its whole first batch"
        );
        budget.took(921_700);
        assert_eq!(
            budget.next_read(20_000_000),
            (78_300, false),
            "after data, only what fits in the rest"
        );
        budget.took(0);
        assert_eq!(budget.used, 921_700);
    }

    #[test]
    fn an_oversized_first_batch_leaves_nothing_for_the_rest() {
        let mut budget = ResponseBudget::new(1_000_000);
        assert_eq!(budget.next_read(500), (500, true));
        budget.took(1_843_824);
        assert_eq!(budget.next_read(20_000_000), (0, false));
        assert_eq!(budget.used, 1_843_824);
    }

    #[test]
    fn the_partition_limit_binds_when_smaller_than_what_is_left() {
        let mut budget = ResponseBudget::new(1_000_000);
        budget.took(100);
        assert_eq!(budget.next_read(4_096), (4_096, false));
    }

    #[test]
    fn only_sessionless_full_fetches_are_served() {
        assert_eq!(session_error(0, -1), None, "full fetch, no session wanted");
        assert_eq!(session_error(0, 0), None, "asks for a session: gets none");
        assert_eq!(session_error(0, 3), Some(71), "INVALID_FETCH_SESSION_EPOCH");
        assert_eq!(session_error(12, 1), Some(70), "FETCH_SESSION_ID_NOT_FOUND");
        assert_eq!(
            session_error(12, -1),
            None,
            "closes a session: a full fetch"
        );
    }
}
