//! Produce: validate every batch, append it with the partition's leader epoch in request
//! order, then answer per `acks` once the appends are durable (group commit) and, for
//! acks=all, once the high watermark passed them (every ISR member holds them).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::produce_response::{
    PartitionProduceResponse, TopicProduceResponse,
};
use chronik_kafka::kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use chronik_records::{BatchHeader, ProducerFields};
use chronik_types::TopicPartition;
use chronik_wal::Durable;

use super::{Header, NONE, Pending, Reply};
use crate::broker::Shared;
use crate::partitions::Hosted;
use crate::producers::SeqCheck;
use crate::topic_config;

/// A partition's appends, to wait for before answering.
struct Appended {
    /// Resolves when the last append is durable (`None`: nothing new was written).
    durable: Option<Durable>,
    hosted: Arc<Hosted>,
    /// Base offset of the last batch: committed once the high watermark passes it.
    last_base: i64,
    /// The leader epoch the batches were written in.
    epoch: i32,
}

/// (topic index, partition index, what to wait for).
type Waiting = (usize, usize, Appended);

/// Appends everything now; the returned task answers when the appends are durable.
pub(crate) async fn admit(shared: Arc<Shared>, header: Header, req: ProduceRequest) -> Pending {
    let acks = req.acks;
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    let mut response = ProduceResponse::default();
    let mut waiting: Vec<Waiting> = Vec::new();
    for (t, topic) in req.topic_data.into_iter().enumerate() {
        let name = topic.name.0.as_str().to_owned();
        if acks_valid(acks) {
            shared.ensure_topic(&name).await;
        }
        let mut out = TopicProduceResponse::default().with_name(topic.name);
        for (p, part) in topic.partition_data.into_iter().enumerate() {
            let tp = TopicPartition::new(name.clone(), part.index);
            let (result, appended) = if acks_valid(acks) {
                append_partition(&shared, &tp, acks, part.records)
            } else {
                (failed(ResponseError::InvalidRequiredAcks.code()), None)
            };
            out.partition_responses.push(result.with_index(part.index));
            if let Some(a) = appended {
                waiting.push((t, p, a));
            }
        }
        response.responses.push(out);
    }
    if acks == 0 {
        // No response is sent, so its errors are counted here.
        for code in crate::response_errors::error_codes(&ResponseKind::Produce(response)) {
            crate::metrics::response_error(header.api_key, code);
        }
        return Pending::Now(Reply::Nothing);
    }
    Pending::Later(tokio::spawn(async move {
        for (t, p, appended) in waiting {
            let Err(code) = settle(appended, acks, timeout).await else {
                continue;
            };
            let part =
                (response.responses.get_mut(t)).and_then(|r| r.partition_responses.get_mut(p));
            if let Some(part) = part {
                part.error_code = code;
                part.base_offset = -1;
            }
        }
        header.reply(Some(ResponseKind::Produce(response)))
    }))
}

/// Waits until a partition's appends are durable and, for acks=all, committed: the high
/// watermark passed them. A leader that loses its leadership meanwhile answers
/// NOT_LEADER_OR_FOLLOWER (the client retries at the new leader); `timeout` (the request's
/// `timeout_ms`) gives REQUEST_TIMED_OUT.
async fn settle(a: Appended, acks: i16, timeout: Duration) -> Result<(), i16> {
    let mut marks = a.hosted.replica.subscribe();
    if let Some(durable) = a.durable
        && let Err(e) = durable.wait_async().await
    {
        tracing::debug!(error = %e, "append not made durable");
        a.hosted.check_failed();
        return Err(ResponseError::KafkaStorageError.code());
    }
    if acks != -1 {
        return Ok(());
    }
    let committed =
        marks.wait_for(|m| m.leader_epoch != Some(a.epoch) || m.high_watermark > a.last_base);
    match tokio::time::timeout(timeout, committed).await {
        Ok(Ok(m)) if m.leader_epoch == Some(a.epoch) => Ok(()),
        Ok(_) => Err(ResponseError::NotLeaderOrFollower.code()),
        Err(_) => Err(ResponseError::RequestTimedOut.code()),
    }
}

fn acks_valid(acks: i16) -> bool {
    matches!(acks, -1..=1)
}

fn failed(code: i16) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_error_code(code)
        .with_base_offset(-1)
}

/// Validates and appends one partition's batches; the last append's durable handle covers
/// the earlier ones (the log is fsynced in order).
fn append_partition(
    shared: &Shared,
    tp: &TopicPartition,
    acks: i16,
    records: Option<Bytes>,
) -> (PartitionProduceResponse, Option<Appended>) {
    if tp.topic == crate::groups::OFFSETS_TOPIC {
        // Only the group coordinator writes there; a client's records would corrupt offsets.
        return (failed(ResponseError::InvalidTopicException.code()), None);
    }
    let (hosted, epoch) = match shared.leader_partition(tp) {
        Ok(found) => found,
        Err(code) => return (failed(code), None),
    };
    let Some((topic, isr)) = topic_config::produce_limits(shared, tp) else {
        return (failed(ResponseError::UnknownTopicOrPartition.code()), None);
    };
    if let Some(code) = topic_config::acks_error(acks, topic.min_insync_replicas, isr) {
        tracing::debug!(partition = %tp, isr, min = topic.min_insync_replicas, "acks=all refused");
        return (failed(code), None);
    }
    let Some(records) = records else {
        return (failed(ResponseError::InvalidRecord.code()), None);
    };
    let batches = match chronik_kafka::validate_produce_records(&records, topic.max_message_bytes) {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(partition = %tp, error = %e, "produce rejected");
            return (failed(e.error_code().code()), None);
        }
    };
    let mut base_offset = None;
    let mut done = Appended {
        durable: None,
        hosted: hosted.clone(),
        last_base: -1,
        epoch,
    };
    for batch in batches {
        let bytes = &records[batch.range];
        let appended = match batch.header.producer() {
            None => append_one(&hosted, bytes, &batch.header, epoch)
                .map(|(base, _, durable)| (base, durable)),
            Some(p) => append_idempotent(&hosted, &p, bytes, &batch.header, epoch),
        };
        match appended {
            Ok((base, d)) => {
                base_offset.get_or_insert(base);
                done.durable = d.or(done.durable);
                done.last_base = base;
            }
            Err(code) => return (failed(code), None),
        }
    }
    let end = hosted.log.end_offset();
    hosted.replica.update(|p| p.advance(end));
    hosted.replica.changed();
    metrics::counter!("chronik_broker_topic_bytes_in_total", "topic" => tp.topic.clone())
        .increment(records.len() as u64);
    let result = PartitionProduceResponse::default()
        .with_error_code(NONE)
        .with_base_offset(base_offset.unwrap_or(-1))
        .with_log_append_time_ms(-1)
        .with_log_start_offset(hosted.log.start_offset());
    (result, Some(done))
}

/// Appends a batch of an idempotent producer unless it is a retry of one already written
/// (answered with the original base offset) or out of sequence.
fn append_idempotent(
    hosted: &Hosted,
    p: &ProducerFields,
    batch: &[u8],
    header: &BatchHeader,
    epoch: i32,
) -> Result<(i64, Option<Durable>), i16> {
    let mut producers = hosted.producers();
    match producers.check(p) {
        SeqCheck::Append => {
            let (base, last, durable) = append_one(hosted, batch, header, epoch)?;
            producers.record(p, base, last);
            Ok((base, durable))
        }
        SeqCheck::Duplicate(written) => {
            tracing::debug!(
                log = hosted.log.name(),
                producer = p.producer_id,
                seq = p.first_seq,
                "duplicate batch answered with its offsets"
            );
            drop(producers);
            // The original append may still wait for its fsync; the retry's ack must not come
            // first. The flusher's next fsync covers both, without blocking this thread.
            Ok((written.base_offset, Some(hosted.log.durable_end())))
        }
        SeqCheck::Reject(code) => {
            tracing::debug!(
                log = hosted.log.name(),
                producer = p.producer_id,
                seq = p.first_seq,
                code,
                "idempotent batch refused"
            );
            Err(code)
        }
    }
}

/// Appends one batch: its base and last offsets and durable handle. A log that failed for
/// good is reported once (see [`Hosted::check_failed`]), not on every refused append.
fn append_one(
    hosted: &Hosted,
    batch: &[u8],
    header: &BatchHeader,
    epoch: i32,
) -> Result<(i64, i64, Option<Durable>), i16> {
    let log = &hosted.log;
    let mut owned = batch.to_vec();
    match log.append_validated(&mut owned, header, epoch) {
        Ok(info) => Ok((info.base_offset, info.last_offset, Some(info.durable))),
        Err(e) => {
            if log.failure().is_some() {
                tracing::debug!(log = log.name(), error = %e, "append refused");
                hosted.check_failed();
            } else {
                tracing::error!(log = log.name(), error = %e, "append failed");
            }
            Err(ResponseError::KafkaStorageError.code())
        }
    }
}
