//! Fetch: the stored batches, byte for byte. Consumers read up to the high watermark;
//! followers (a fetch with a replica id) read up to the log end, and their fetch offsets are
//! what moves the high watermark. A fetch with less than `min_bytes` waits, woken by appends
//! and high-watermark moves of the partitions it reads (and by role changes), until
//! `max_wait_ms` has passed.

use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use chronik_kafka::kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, PartitionData,
};
use chronik_kafka::kafka_protocol::messages::{FetchRequest, FetchResponse};
use chronik_types::TopicPartition;
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::WatchStream;

use super::NONE;
use crate::broker::Shared;
use crate::replica::Role;

/// Longest long poll honoured, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(60);

pub(crate) async fn handle(shared: &Shared, req: FetchRequest) -> FetchResponse {
    if let Some(code) = session_error(req.session_id, req.session_epoch) {
        return FetchResponse::default().with_error_code(code);
    }
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    // Never more than the broker's cap, however much the client asks for: a response is
    // built in memory.
    let cap = shared.config.fetch_max_bytes;
    let max_bytes = match usize::try_from(req.max_bytes) {
        Ok(0) | Err(_) => cap,
        Ok(n) => n.min(cap),
    };
    let replica = (req.replica_id.0 >= 0).then_some(req.replica_id.0);
    if let Some(id) = replica {
        record_follower(shared, id, &req.topics);
    }
    loop {
        // Subscribed before reading, so a change during the read is not missed.
        let mut changes = subscribe_changes(shared, &req.topics);
        let (response, bytes, errors) = read_all(shared, &req.topics, max_bytes, replica);
        let done = bytes >= min_bytes || errors || Instant::now() >= deadline;
        if done {
            return counted(response);
        }
        let parked = Parked::new(replica.is_some());
        let woken = tokio::time::timeout_at(deadline, changes.next()).await;
        drop(parked);
        if !matches!(woken, Ok(Some(_))) {
            return counted(read_all(shared, &req.topics, max_bytes, replica).0);
        }
    }
}

/// A fetch waiting for data, counted in `chronik_broker_fetches_parked{kind}` for as long as
/// it waits (Kafka's fetch purgatory size).
struct Parked(&'static str);

impl Parked {
    fn new(follower: bool) -> Self {
        let kind = if follower { "follower" } else { "consumer" };
        metrics::gauge!("chronik_broker_fetches_parked", "kind" => kind).increment(1.0);
        Parked(kind)
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        metrics::gauge!("chronik_broker_fetches_parked", "kind" => self.0).decrement(1.0);
    }
}

/// One stream that yields when any of the requested partitions changes (an append, a high
/// watermark or leadership move) or any partition's role changes on this broker.
fn subscribe_changes(shared: &Shared, topics: &[FetchTopic]) -> StreamMap<usize, WatchStream<u64>> {
    let mut changes = StreamMap::new();
    changes.insert(
        0,
        WatchStream::from_changes(shared.partitions.subscribe_roles()),
    );
    for topic in topics {
        for part in &topic.partitions {
            let tp = TopicPartition::new(topic.topic.0.as_str(), part.partition);
            if let Some(hosted) = shared.partitions.get_hosted(&tp) {
                let key = changes.len();
                changes.insert(
                    key,
                    WatchStream::from_changes(hosted.replica.subscribe_changes()),
                );
            }
        }
    }
    changes
}

/// A follower's fetch offsets are its log end: they may move the high watermark (waking
/// consumers and acks=all produces) and bring it back into the ISR.
fn record_follower(shared: &Shared, id: i32, topics: &[FetchTopic]) {
    let now = std::time::Instant::now();
    for topic in topics {
        for part in &topic.partitions {
            let tp = TopicPartition::new(topic.topic.0.as_str(), part.partition);
            let Ok((hosted, epoch)) = shared.leader_partition(&tp) else {
                continue;
            };
            if epoch_error(part.current_leader_epoch, epoch).is_some() {
                continue;
            }
            let end = hosted.log.end_offset();
            // A high watermark this moves wakes its partition's waiters by itself.
            let outside_isr = hosted.replica.update(|p| {
                p.follower_fetched(id, part.fetch_offset, end, now);
                matches!(p.role(), Role::Leader { isr, .. } if !isr.contains(&id))
            });
            if outside_isr {
                shared.isr_check.notify_one();
            }
        }
    }
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
    shared: &Shared,
    topics: &[FetchTopic],
    max_bytes: usize,
    replica: Option<i32>,
) -> (FetchResponse, usize, bool) {
    let mut response = FetchResponse::default();
    let mut remaining = max_bytes;
    let mut errors = false;
    for topic in topics {
        let name = topic.topic.0.as_str();
        let mut out = FetchableTopicResponse::default().with_topic(topic.topic.clone());
        for part in &topic.partitions {
            let tp = TopicPartition::new(name, part.partition);
            let data = read_partition(shared, &tp, part, &mut remaining, replica);
            errors |= data.error_code != NONE;
            out.partitions.push(data);
        }
        response.responses.push(out);
    }
    (response, max_bytes - remaining, errors)
}

fn read_partition(
    shared: &Shared,
    tp: &TopicPartition,
    part: &FetchPartition,
    remaining: &mut usize,
    replica: Option<i32>,
) -> PartitionData {
    let failed = |code: i16| {
        PartitionData::default()
            .with_partition_index(part.partition)
            .with_error_code(code)
            .with_high_watermark(-1)
            .with_records(Some(Bytes::new()))
    };
    let (hosted, epoch) = match shared.leader_partition(tp) {
        Ok(found) => found,
        Err(code) => return failed(code),
    };
    if let Some(code) = epoch_error(part.current_leader_epoch, epoch) {
        return failed(code);
    }
    let log = &hosted.log;
    let (start, end) = (log.start_offset(), log.end_offset());
    let hw = hosted.replica.update(|p| {
        p.advance(end);
        p.high_watermark()
    });
    // A follower copies everything; a consumer sees only what every ISR member holds.
    let visible = if replica.is_some() { end } else { hw };
    if part.fetch_offset < start || part.fetch_offset > end {
        return failed(ResponseError::OffsetOutOfRange.code())
            .with_high_watermark(visible)
            .with_log_start_offset(start);
    }
    let limit = usize::try_from(part.partition_max_bytes)
        .unwrap_or(0)
        .min(*remaining);
    let records = if limit == 0 || part.fetch_offset >= visible {
        Bytes::new()
    } else {
        match log.read_bounded(part.fetch_offset, limit, visible) {
            Ok(read) => read.data,
            Err(e) => {
                tracing::error!(partition = %tp, error = %e, "read failed");
                return failed(ResponseError::KafkaStorageError.code());
            }
        }
    };
    *remaining = remaining.saturating_sub(records.len());
    PartitionData::default()
        .with_partition_index(part.partition)
        .with_error_code(NONE)
        .with_high_watermark(hw)
        .with_last_stable_offset(hw)
        .with_log_start_offset(start)
        .with_aborted_transactions(Some(Vec::new()))
        .with_records(Some(records))
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

/// FENCED_LEADER_EPOCH for a client behind the leader's epoch, UNKNOWN_LEADER_EPOCH for one
/// ahead of it; -1 means the client does not check.
pub(crate) fn epoch_error(requested: i32, current: i32) -> Option<i16> {
    match requested {
        r if r < 0 || r == current => None,
        r if r < current => Some(ResponseError::FencedLeaderEpoch.code()),
        _ => Some(ResponseError::UnknownLeaderEpoch.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::{epoch_error, session_error};

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

    #[test]
    fn leader_epoch_checks_follow_kafka() {
        assert_eq!(epoch_error(-1, 7), None, "unchecked");
        assert_eq!(epoch_error(7, 7), None);
        assert_eq!(epoch_error(6, 7), Some(74), "FENCED_LEADER_EPOCH");
        assert_eq!(epoch_error(8, 7), Some(75), "UNKNOWN_LEADER_EPOCH");
    }
}
