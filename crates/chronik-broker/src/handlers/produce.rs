//! Produce: the request as calls to the partition layer. Every partition's batches are
//! appended now, in request order; the answer waits until each append settles per `acks`
//! (durable, or committed by the ISR for acks=all).

use std::sync::Arc;
use std::time::Duration;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use chronik_kafka::kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_types::TopicPartition;

use super::{Header, NONE, Pending};
use crate::kafka_errors::partition_error_code;
use crate::partition::{AckWait, Acks, PartitionError};
use crate::producers::TxnGuard;
use crate::services::Services;
use crate::transactions::Verified;

/// (topic index, partition index, what its answer waits for).
type Waiting = (usize, usize, AckWait);

/// A partition whose records passed the checks that may wait, to be appended.
struct Admitted {
    /// Topic and partition index in the request (and the response).
    at: (usize, usize),
    tp: TopicPartition,
    records: Option<bytes::Bytes>,
    verified: Option<TxnGuard>,
}

/// Appends everything now; the returned task answers when the appends settle.
pub(crate) async fn admit(services: Arc<Services>, header: Header, req: ProduceRequest) -> Pending {
    let acks = Acks::from_wire(req.acks);
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    let mut response = ProduceResponse::default();
    let mut admitted: Vec<Admitted> = Vec::new();
    let txn_id = req.transactional_id.as_ref().map(|id| id.0.as_str());
    for (t, topic) in req.topic_data.into_iter().enumerate() {
        let name = topic.name.0.as_str().to_owned();
        if acks.is_some() {
            services.ensure_topic(&name).await;
        }
        let mut out = TopicProduceResponse::default().with_name(topic.name);
        for (p, part) in topic.partition_data.into_iter().enumerate() {
            let tp = TopicPartition::new(name.clone(), part.index);
            if acks.is_none() {
                let code = ResponseError::InvalidRequiredAcks.code();
                out.partition_responses.push(failed(code, part.index));
                continue;
            }
            let verified = match services.layer.txn_to_verify(&tp, part.records.as_ref()) {
                None => None,
                Some((producer_id, epoch, guard)) => {
                    let producer = (producer_id, epoch);
                    match verify(&services, txn_id, producer, &tp, header.version).await {
                        Ok(()) => Some(guard),
                        Err(e) => {
                            out.partition_responses
                                .push(refused(&e, part.index, header.version));
                            continue;
                        }
                    }
                }
            };
            // Answered once appended.
            out.partition_responses.push(failed(NONE, part.index));
            admitted.push(Admitted {
                at: (t, p),
                tp,
                records: part.records,
                verified,
            });
        }
        response.responses.push(out);
    }
    let Some(acks) = acks else {
        return Pending::Now(header.reply(Some(ResponseKind::Produce(response))));
    };
    let waiting = append_all(&services, acks, admitted, &mut response, header.version);
    if acks == Acks::None {
        // No response is sent, so its errors are counted here.
        for code in crate::response_errors::error_codes(&ResponseKind::Produce(response)) {
            crate::metrics::response_error(header.api_key, code);
        }
        return Pending::Now(header.reply(None));
    }
    Pending::Later(tokio::spawn(async move {
        // Waiting for acknowledgements is not handling time: only the append above counts
        // against the request quota.
        for (t, p, wait) in waiting {
            let Err(e) = wait.settle(acks, timeout).await else {
                continue;
            };
            if let Some(part) = answer_at(&mut response, t, p) {
                part.error_code = partition_error_code(&e);
                part.base_offset = -1;
            }
        }
        header.reply(Some(ResponseKind::Produce(response)))
    }))
}

/// Appends every admitted partition in one pass, with nothing awaited in between, so that
/// the logs they make due are synced together; fills in their answers and returns what each
/// acknowledgement waits for.
fn append_all(
    services: &Services,
    acks: Acks,
    admitted: Vec<Admitted>,
    response: &mut ProduceResponse,
    version: i16,
) -> Vec<Waiting> {
    chronik_wal::appends_together(|| {
        let mut waiting = Vec::with_capacity(admitted.len());
        for a in admitted {
            let (t, p) = a.at;
            let appended = (services.layer).append(&a.tp, acks, a.records.as_ref(), a.verified);
            let Some(answer) = answer_at(response, t, p) else {
                continue;
            };
            match appended {
                Ok(appended) => {
                    answer.base_offset = appended.base_offset;
                    answer.log_append_time_ms = appended.log_append_time.unwrap_or(-1);
                    answer.log_start_offset = appended.log_start_offset;
                    waiting.push((t, p, appended.wait));
                }
                Err(e) => *answer = refused(&e, a.tp.partition, version),
            }
        }
        waiting
    })
}

fn answer_at(
    response: &mut ProduceResponse,
    topic: usize,
    partition: usize,
) -> Option<&mut PartitionProduceResponse> {
    (response.responses.get_mut(topic)).and_then(|r| r.partition_responses.get_mut(partition))
}

/// Produce v12 (KIP-890 part 2): the producer sent no AddPartitionsToTxn; its first batch to a
/// partition adds the partition to its transaction.
const JOINS_TRANSACTION_VERSION: i16 = 12;

/// Asks `txn_id`'s coordinator whether `tp` is in the producer's ongoing transaction (KIP-890
/// part 1): a batch that would open a transaction the coordinator does not know of (a
/// delayed write of an ended transaction) is refused, so it cannot hang the partition's last
/// stable offset or land in the next transaction. From Produce v12 the coordinator adds the
/// partition instead, at the producer's current epoch: a delayed write of an ended
/// transaction carries an older epoch (every ending bumped it) and is fenced.
async fn verify(
    services: &Services,
    txn_id: Option<&str>,
    producer: (i64, i16),
    tp: &TopicPartition,
    version: i16,
) -> Result<(), PartitionError> {
    let Some(txn_id) = txn_id.filter(|id| !id.is_empty()) else {
        return Err(PartitionError::NotInTransaction(tp.clone()));
    };
    let verified = match version >= JOINS_TRANSACTION_VERSION {
        true => services.txns.join(txn_id, producer, tp).await,
        false => services.txns.verify(txn_id, producer, tp).await,
    };
    match verified {
        Verified::InTransaction => Ok(()),
        Verified::NotInTransaction => Err(PartitionError::NotInTransaction(tp.clone())),
        // A fenced producer hears so (INVALID_PRODUCER_EPOCH, fatal to it), as from the log.
        Verified::Fenced => Err(PartitionError::FencedProducer(tp.clone())),
        Verified::Unavailable(why) => Err(PartitionError::TxnUnverified(why)),
    }
}

/// Produce v8 added per-record errors: a batch refused for some of its records names them, so
/// the client fails those with the error and the rest as refused with them.
const RECORD_ERRORS_VERSION: i16 = 8;

/// The answer for a partition whose append was refused.
fn refused(e: &PartitionError, index: i32, version: i16) -> PartitionProduceResponse {
    let answer = failed(partition_error_code(e), index);
    match e {
        PartitionError::UnkeyedRecords { positions, .. } if version >= RECORD_ERRORS_VERSION => {
            let message = e.to_string();
            let records = (positions.iter())
                .map(|p| {
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index(*p)
                        .with_batch_index_error_message(Some(StrBytes::from_string(
                            message.clone(),
                        )))
                })
                .collect();
            answer
                .with_record_errors(records)
                .with_error_message(Some(StrBytes::from_string(message)))
        }
        PartitionError::TimestampOutOfBounds { .. } => {
            answer.with_error_message(Some(StrBytes::from_string(e.to_string())))
        }
        _ => answer,
    }
}

fn failed(code: i16, index: i32) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code)
        .with_base_offset(-1)
}
