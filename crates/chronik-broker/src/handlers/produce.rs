//! Produce: validate every batch, append it with the partition's leader epoch in request
//! order, then answer per `acks` once the appends are durable (group commit).

use std::sync::Arc;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::produce_response::{
    PartitionProduceResponse, TopicProduceResponse,
};
use chronik_kafka::kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use chronik_types::TopicPartition;
use chronik_wal::{Durable, PartitionLog};

use super::{Header, NONE, Pending, Reply};
use crate::broker::Shared;

/// A partition's append waiting to become durable: (topic index, partition index, handle).
type Waiting = (usize, usize, Durable);

/// Appends everything now; the returned task answers when the appends are durable.
pub(crate) async fn admit(shared: Arc<Shared>, header: Header, req: ProduceRequest) -> Pending {
    let acks = req.acks;
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
            let (result, durable) = if acks_valid(acks) {
                append_partition(&shared, &tp, part.records)
            } else {
                (failed(ResponseError::InvalidRequiredAcks.code()), None)
            };
            out.partition_responses.push(result.with_index(part.index));
            if let Some(d) = durable {
                waiting.push((t, p, d));
            }
        }
        response.responses.push(out);
    }
    if acks == 0 {
        return Pending::Now(Reply::Nothing);
    }
    Pending::Later(tokio::spawn(async move {
        for (t, p, durable) in waiting {
            if let Err(e) = durable.wait_async().await {
                tracing::error!(error = %e, "append not made durable");
                let part =
                    (response.responses.get_mut(t)).and_then(|r| r.partition_responses.get_mut(p));
                if let Some(part) = part {
                    part.error_code = ResponseError::KafkaStorageError.code();
                    part.base_offset = -1;
                }
            }
        }
        header.reply(Some(ResponseKind::Produce(response)))
    }))
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
    records: Option<Bytes>,
) -> (PartitionProduceResponse, Option<Durable>) {
    let (log, epoch) = match shared.leader_log(tp) {
        Ok(found) => found,
        Err(code) => return (failed(code), None),
    };
    let Some(records) = records else {
        return (failed(ResponseError::InvalidRecord.code()), None);
    };
    let batches =
        match chronik_kafka::validate_produce_records(&records, shared.config.max_message_bytes) {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(partition = %tp, error = %e, "produce rejected");
                return (failed(e.error_code().code()), None);
            }
        };
    let mut base_offset = None;
    let mut durable = None;
    for batch in batches {
        match append_one(&log, &records[batch.range], epoch) {
            Ok((base, d)) => {
                base_offset.get_or_insert(base);
                durable = Some(d);
            }
            Err(code) => return (failed(code), durable),
        }
    }
    shared.partitions.appended();
    let result = PartitionProduceResponse::default()
        .with_error_code(NONE)
        .with_base_offset(base_offset.unwrap_or(-1))
        .with_log_append_time_ms(-1)
        .with_log_start_offset(log.start_offset());
    (result, durable)
}

fn append_one(log: &PartitionLog, batch: &[u8], epoch: i32) -> Result<(i64, Durable), i16> {
    let mut owned = batch.to_vec();
    match log.append(&mut owned, epoch) {
        Ok(info) => Ok((info.base_offset, info.durable)),
        Err(e) => {
            tracing::error!(log = log.name(), error = %e, "append failed");
            Err(ResponseError::KafkaStorageError.code())
        }
    }
}
