//! Fetch: the request as reads from the partition layer, which returns the stored batches
//! byte for byte (consumers up to the high watermark, followers to the log end, their fetch
//! offsets recorded as their progress). A fetch with less than `min_bytes` parks, woken by
//! changes of the partitions it reads (and by role changes), until `max_wait_ms` has passed.
//! A fetch in a session (KIP-227) reads the session's partitions and answers only those with
//! something new ([`crate::fetch_sessions`]).

use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::fetch_request::{FetchTopic, ForgottenTopic};
use chronik_kafka::kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use chronik_kafka::kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_types::TopicPartition;
use tokio::time::Instant;
use tokio_stream::StreamExt;

use super::NONE;
use super::fetch_remote::{PendingRemote, read_remote};
use crate::fetch_sessions::{
    Answer, FetchContext, PartitionParams, Plan, SessionError, SessionRequest, Shown,
};
use crate::kafka_errors::partition_error_code;
use crate::partition::{Isolation, Parked, PartitionError, PartitionLayer, ReadRequest, Reader};
use crate::quotas::Throttling;
use crate::services::Services;
use chronik_wal::AbortedTxn;

/// Longest long poll honoured, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// `throttling`: the consumer's quotas, if any applies (never a follower's).
pub(crate) async fn handle(
    services: &Services,
    req: FetchRequest,
    throttling: Option<Throttling>,
) -> FetchResponse {
    let reader = match req.replica_id.0 {
        id if id >= 0 => Reader::Follower(id),
        _ => Reader::Consumer,
    };
    let plan = match begin_session(services, &req, reader) {
        Ok(plan) => plan,
        Err(e) => {
            let code = match e {
                SessionError::IdNotFound => ResponseError::FetchSessionIdNotFound.code(),
                SessionError::InvalidEpoch => ResponseError::InvalidFetchSessionEpoch.code(),
            };
            return FetchResponse::default().with_error_code(code);
        }
    };
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
    let isolation = Isolation::from_wire(req.isolation_level);
    let partitions: Vec<(TopicPartition, ReadRequest)> = (plan.partitions.into_iter())
        .map(|(tp, params)| (tp, read_request(params, isolation)))
        .collect();
    // Every partition of a session counts as fetched, named in this request or not: an idle
    // follower stays in sync.
    if let Reader::Follower(id) = reader {
        for (tp, read) in &partitions {
            let progress = (read.fetch_offset, read.log_start_offset);
            layer.follower_fetched(id, tp, progress, read.current_leader_epoch);
        }
    }
    loop {
        // Subscribed before reading, so a change during the read is not missed.
        let mut changes = layer.changes(partitions.iter().map(|(tp, _)| tp));
        let pass = read_pass(services, &partitions, max_bytes, reader).await;
        // Cold data answers as soon as it is read, as Kafka's remote fetch does.
        if pass.cold || pass.bytes >= min_bytes || pass.errors || Instant::now() >= deadline {
            return answer(services, throttling.as_ref(), plan.context, pass);
        }
        let parked = Parked::new(reader);
        let woken = tokio::time::timeout_at(deadline, changes.next()).await;
        drop(parked);
        if !matches!(woken, Ok(Some(_))) {
            let pass = read_pass(services, &partitions, max_bytes, reader).await;
            return answer(services, throttling.as_ref(), plan.context, pass);
        }
    }
}

/// The response to a fetch that read `pass`. A consumer its bytes put
/// over its byte-rate quota gets no data (the bytes do not count against the quota, and the
/// session's partitions are answered again next time), only the time to wait, as in Kafka; a
/// session its full fetch just opened is closed again, since the client starts over.
fn answer(
    services: &Services,
    throttling: Option<&Throttling>,
    context: FetchContext,
    pass: Pass,
) -> FetchResponse {
    let throttle = throttling.map_or(Duration::ZERO, |t| t.fetched(pass.bytes));
    if throttle.is_zero() {
        return respond(services, context, pass.reads);
    }
    let session_id = match context {
        FetchContext::Incremental { session_id } => session_id,
        FetchContext::Full { session_id } => {
            services.fetch_sessions().close(session_id);
            0
        }
        FetchContext::Sessionless => 0,
    };
    FetchResponse::default()
        .with_throttle_time_ms(i32::try_from(throttle.as_millis()).unwrap_or(i32::MAX))
        .with_error_code(NONE)
        .with_session_id(session_id)
}

/// The request's session, resolved against the broker's sessions: what to read.
fn begin_session(
    services: &Services,
    req: &FetchRequest,
    reader: Reader,
) -> Result<Plan, SessionError> {
    let session = SessionRequest {
        session_id: req.session_id,
        epoch: req.session_epoch,
        follower: match reader {
            Reader::Follower(id) => Some(id),
            Reader::Consumer => None,
        },
        partitions: requested(&req.topics),
        forgotten: forgotten(&req.forgotten_topics_data),
    };
    let mut sessions = services.fetch_sessions();
    let plan = sessions.begin(session, std::time::Instant::now());
    if matches!(&plan, Ok(p) if matches!(p.context, FetchContext::Incremental { .. })) {
        metrics::counter!("chronik_broker_incremental_fetches_total").increment(1);
    }
    record_size(&sessions);
    plan
}

fn record_size(sessions: &crate::fetch_sessions::FetchSessions) {
    let (count, partitions) = sessions.size();
    metrics::gauge!("chronik_broker_fetch_sessions").set(count as f64);
    metrics::gauge!("chronik_broker_fetch_session_partitions").set(partitions as f64);
    metrics::counter!("chronik_broker_fetch_session_evictions_total")
        .absolute(sessions.evictions());
}

/// Every partition the request names, in request order.
fn requested(topics: &[FetchTopic]) -> Vec<(TopicPartition, PartitionParams)> {
    let mut out = Vec::new();
    for topic in topics {
        for part in &topic.partitions {
            let tp = TopicPartition::new(topic.topic.0.as_str(), part.partition);
            let params = PartitionParams {
                fetch_offset: part.fetch_offset,
                log_start_offset: part.log_start_offset,
                current_leader_epoch: part.current_leader_epoch,
                max_bytes: part.partition_max_bytes,
            };
            out.push((tp, params));
        }
    }
    out
}

fn forgotten(topics: &[ForgottenTopic]) -> Vec<TopicPartition> {
    (topics.iter())
        .flat_map(|t| (t.partitions.iter()).map(|p| TopicPartition::new(t.topic.0.as_str(), *p)))
        .collect()
}

fn read_request(params: PartitionParams, isolation: Isolation) -> ReadRequest {
    ReadRequest {
        fetch_offset: params.fetch_offset,
        log_start_offset: params.log_start_offset,
        current_leader_epoch: params.current_leader_epoch,
        max_bytes: usize::try_from(params.max_bytes).unwrap_or(0),
        first_whole: true,
        isolation,
    }
}

/// The response: the partitions the session says to answer (all of them outside an
/// incremental fetch), consecutive partitions of a topic under one topic entry.
fn respond(
    services: &Services,
    context: FetchContext,
    reads: Vec<(TopicPartition, PartitionData)>,
) -> FetchResponse {
    let answers: Vec<(TopicPartition, Answer)> = (reads.iter())
        .map(|(tp, data)| (tp.clone(), answer_of(data)))
        .collect();
    let carried = {
        let mut sessions = services.fetch_sessions();
        let carried = sessions.finish(context, &answers);
        record_size(&sessions);
        carried
    };
    let mut response = FetchResponse::default()
        .with_error_code(NONE)
        .with_session_id(context.session_id());
    for ((tp, data), carry) in reads.into_iter().zip(carried) {
        if !carry {
            continue;
        }
        match response.responses.last_mut() {
            Some(topic) if topic.topic.0.as_str() == tp.topic => topic.partitions.push(data),
            _ => response.responses.push(
                FetchableTopicResponse::default()
                    .with_topic(TopicName(StrBytes::from_string(tp.topic)))
                    .with_partitions(vec![data]),
            ),
        }
    }
    counted(response)
}

fn answer_of(data: &PartitionData) -> Answer {
    Answer {
        shown: Shown {
            high_watermark: data.high_watermark,
            last_stable_offset: data.last_stable_offset,
            log_start_offset: data.log_start_offset,
        },
        has_records: data.records.as_ref().is_some_and(|r| !r.is_empty()),
        failed: data.error_code != NONE,
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

/// One read of every partition.
struct Pass {
    reads: Vec<(TopicPartition, PartitionData)>,
    /// Record bytes in them.
    bytes: usize,
    /// Some partition failed (which answers at once, as Kafka does).
    errors: bool,
    /// Some partition was read from the remote tier.
    cold: bool,
}

/// The local reads, then the one the remote tier serves, if any.
async fn read_pass(
    services: &Services,
    partitions: &[(TopicPartition, ReadRequest)],
    max_bytes: usize,
    reader: Reader,
) -> Pass {
    let (mut reads, mut bytes, errors, remote) =
        read_all(&services.layer, partitions, max_bytes, reader);
    let cold = remote.is_some();
    if let Some(remote) = remote {
        bytes += read_remote(services, &mut reads, remote).await;
    }
    Pass {
        reads,
        bytes,
        errors,
        cold,
    }
}

/// The local reads: each partition's answer, the record bytes in them, whether any failed,
/// and the read the remote tier is to serve: only the first partition whose offset only it
/// holds, and only while the response holds no data yet (the rest are read again by the next
/// fetch).
fn read_all(
    layer: &PartitionLayer,
    partitions: &[(TopicPartition, ReadRequest)],
    max_bytes: usize,
    reader: Reader,
) -> (
    Vec<(TopicPartition, PartitionData)>,
    usize,
    bool,
    Option<PendingRemote>,
) {
    let mut out = Vec::with_capacity(partitions.len());
    let mut budget = ResponseBudget::new(max_bytes);
    let mut errors = false;
    let mut remote = None;
    for (tp, read) in partitions {
        let (max_bytes, first_whole) = budget.next_read(read.max_bytes);
        let read = ReadRequest {
            max_bytes,
            first_whole,
            ..*read
        };
        let data = match layer.read(tp, &read, reader) {
            Ok(r) => {
                if let Some(span) = r.remote.filter(|_| first_whole && max_bytes > 0) {
                    budget.reserve(max_bytes);
                    remote = Some(PendingRemote {
                        at: out.len(),
                        span,
                        max_bytes,
                    });
                }
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
        out.push((tp.clone(), data.with_partition_index(tp.partition)));
    }
    (out, budget.used, errors, remote)
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
    /// Held for a read the remote tier serves after the local ones.
    reserved: usize,
}

impl ResponseBudget {
    fn new(max_bytes: usize) -> Self {
        ResponseBudget {
            max_bytes,
            used: 0,
            reserved: 0,
        }
    }

    /// The byte limit for the next partition's read, and whether its first batch comes
    /// whole even when larger.
    fn next_read(&self, partition_max_bytes: usize) -> (usize, bool) {
        let taken = self.used + self.reserved;
        let remaining = self.max_bytes.saturating_sub(taken);
        (partition_max_bytes.min(remaining), taken == 0)
    }

    fn reserve(&mut self, bytes: usize) {
        self.reserved += bytes;
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
        PartitionError::OffsetMovedToTieredStorage { local_start, .. } => {
            data.with_log_start_offset(*local_start)
        }
        _ => data,
    }
}

#[cfg(test)]
mod tests {
    use super::ResponseBudget;

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
    fn a_remote_read_reserves_its_share_and_the_rest_get_what_is_left() {
        let mut budget = ResponseBudget::new(1_000_000);
        assert_eq!(budget.next_read(600_000), (600_000, true));
        budget.reserve(600_000);
        assert_eq!(budget.next_read(1_000_000), (400_000, false));
        assert_eq!(budget.used, 0, "nothing read yet");
    }

    #[test]
    fn the_partition_limit_binds_when_smaller_than_what_is_left() {
        let mut budget = ResponseBudget::new(1_000_000);
        budget.took(100);
        assert_eq!(budget.next_read(4_096), (4_096, false));
    }
}
