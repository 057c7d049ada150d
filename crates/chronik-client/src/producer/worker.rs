//! One task per partition: gather a batch, send it, retry it, resolve its records.

use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{Semaphore, mpsc};

use super::encode::{Stamp, encode_batch};
use super::{Acks, ProducerConfig, Queued};
use crate::cluster::Client;
use crate::{ClientError, Result};

pub(crate) struct Ctx {
    pub client: Client,
    pub cfg: ProducerConfig,
}

/// Idempotence state of one partition.
struct Ids {
    producer_id: i64,
    epoch: i16,
    next_sequence: i32,
}

pub(crate) async fn run(
    ctx: Arc<Ctx>,
    (topic, partition): (String, i32),
    mut rx: mpsc::Receiver<Queued>,
    ids: Option<(i64, i16)>,
) {
    let mut ids = ids.map(|(producer_id, epoch)| Ids {
        producer_id,
        epoch,
        next_sequence: 0,
    });
    let in_flight = if ids.is_some() {
        1
    } else {
        ctx.cfg.max_in_flight.max(1)
    };
    let slots = Arc::new(Semaphore::new(in_flight));
    while let Some(batch) = gather(&ctx.cfg, &mut rx).await {
        if let Some(state) = ids.as_mut() {
            send_idempotent(&ctx, &topic, partition, batch, state).await;
            continue;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let (ctx, topic) = (ctx.clone(), topic.clone());
        tokio::spawn(async move {
            let result = encode_batch(&batch, ctx.cfg.compression, None);
            let result = match result {
                Ok(bytes) => deliver(&ctx, &topic, partition, bytes, deadline(&batch)).await,
                Err(e) => Err(e),
            };
            resolve(batch, result);
            drop(permit);
        });
    }
    // Every spawned batch holds a slot until resolved: taking them all waits for the last one.
    let _ = slots.acquire_many(in_flight as u32).await;
}

/// Waits for a first record, then takes more until the batch is full or the linger expires.
async fn gather(cfg: &ProducerConfig, rx: &mut mpsc::Receiver<Queued>) -> Option<Vec<Queued>> {
    let first = rx.recv().await?;
    let mut bytes = record_size(&first);
    let mut batch = vec![first];
    if cfg.batch_size == 0 {
        return Some(batch);
    }
    let deadline = tokio::time::Instant::now() + cfg.linger;
    while bytes < cfg.batch_size {
        let next = match rx.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) if cfg.linger.is_zero() => None,
            Err(mpsc::error::TryRecvError::Empty) => tokio::select! {
                r = rx.recv() => r,
                _ = tokio::time::sleep_until(deadline) => None,
            },
        };
        let Some(r) = next else { break };
        bytes += record_size(&r);
        batch.push(r);
    }
    Some(batch)
}

fn record_size(r: &Queued) -> usize {
    // Key, value and roughly the per-record framing (varints, attributes).
    r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len()) + 8
}

fn resolve(batch: Vec<Queued>, result: Result<i64>) {
    for (i, r) in batch.into_iter().enumerate() {
        let outcome = match &result {
            Ok(base) if *base >= 0 => Ok(base + i as i64),
            Ok(_) => Ok(-1),
            Err(e) => Err(e.clone()),
        };
        let _ = r.done.send(outcome);
    }
}

async fn send_idempotent(
    ctx: &Ctx,
    topic: &str,
    partition: i32,
    batch: Vec<Queued>,
    ids: &mut Ids,
) {
    let stamp = Stamp {
        producer_id: ids.producer_id,
        epoch: ids.epoch,
        base_sequence: ids.next_sequence,
    };
    let result = match encode_batch(&batch, ctx.cfg.compression, Some(stamp)) {
        Ok(bytes) => deliver(ctx, topic, partition, bytes, deadline(&batch)).await,
        Err(e) => Err(e),
    };
    match &result {
        Ok(_) => {
            // Sequences wrap to 0 after i32::MAX, as Kafka's do.
            let n = batch.len() as i64;
            ids.next_sequence =
                ((i64::from(ids.next_sequence) + n) % (i64::from(i32::MAX) + 1)) as i32;
        }
        Err(e) => {
            // Whether the broker wrote the batch is unknown: continuing the sequence could make a
            // later batch look like a duplicate. A new producer id starts a clean sequence.
            tracing::warn!(%topic, partition, error = %e, "batch failed; re-initialising the producer id");
            match super::init_producer_id(&ctx.client).await {
                Ok((producer_id, epoch)) => {
                    *ids = Ids {
                        producer_id,
                        epoch,
                        next_sequence: 0,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "InitProducerId failed; will retry with the next batch")
                }
            }
        }
    }
    resolve(batch, result);
}

/// The earliest deadline of a batch's records (the first one queued).
fn deadline(batch: &[Queued]) -> Instant {
    batch
        .iter()
        .map(|r| r.deadline)
        .min()
        .unwrap_or_else(Instant::now)
}

/// Sends one encoded batch until it is acknowledged, fails for good, or its deadline passes.
/// Records that waited in the queue past their deadline fail without being sent, so a dead
/// broker fails a full queue within one delivery timeout instead of one per batch.
async fn deliver(
    ctx: &Ctx,
    topic: &str,
    partition: i32,
    batch: bytes::Bytes,
    deadline: Instant,
) -> Result<i64> {
    let start = Instant::now();
    let timeout = ctx.cfg.delivery_timeout;
    let mut attempts = 0u32;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() && attempts == 0 {
            return Err(ClientError::Timeout {
                api: kafka_protocol::messages::ApiKey::Produce,
                addr: format!("the leader of {topic}-{partition} (expired in the queue)"),
                after: timeout,
            });
        }
        attempts += 1;
        let attempt =
            tokio::time::timeout(left, produce_once(ctx, topic, partition, batch.clone()));
        let err = match attempt.await {
            Ok(Ok(offset)) => return Ok(offset),
            Ok(Err(e)) => e,
            Err(_) => ClientError::Timeout {
                api: kafka_protocol::messages::ApiKey::Produce,
                addr: format!("the leader of {topic}-{partition}"),
                after: timeout,
            },
        };
        let give_up = !err.is_retriable() || Instant::now() + ctx.cfg.retry_backoff >= deadline;
        if give_up {
            return Err(if attempts > 1 {
                ClientError::RetriesExhausted {
                    attempts,
                    elapsed: start.elapsed(),
                    last: Box::new(err),
                }
            } else {
                err
            });
        }
        tracing::debug!(%topic, partition, attempts, error = %err, "retrying produce");
        tokio::time::sleep(ctx.cfg.retry_backoff).await;
        if err.needs_metadata() {
            let _ = ctx.client.refresh_metadata(&[topic.to_owned()]).await;
        }
    }
}

/// One Produce request for one batch to the partition's current leader.
async fn produce_once(ctx: &Ctx, topic: &str, partition: i32, batch: bytes::Bytes) -> Result<i64> {
    let leader = ctx.client.leader(topic, partition)?;
    let conn = ctx.client.conn(ctx.client.broker_addr(leader)?).await?;
    let server_timeout = ctx.client.config().request_timeout * 3 / 4;
    let req = ProduceRequest::default()
        .with_acks(ctx.cfg.acks.wire())
        .with_timeout_ms(i32::try_from(server_timeout.as_millis()).unwrap_or(i32::MAX))
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(batch)),
                ]),
        ]);
    if ctx.cfg.acks == Acks::None {
        conn.send_only(&req, ctx.client.client_id()).await?;
        return Ok(-1);
    }
    let resp: ProduceResponse = conn.call(&req, ctx.client.client_id()).await?;
    let p = resp
        .responses
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == partition)
        .ok_or_else(|| ClientError::Protocol {
            addr: conn.addr(),
            reason: format!("Produce response has no answer for {topic}-{partition}"),
        })?;
    // A duplicate of a batch already written counts as written (idempotent retry).
    if p.error_code != ResponseError::DuplicateSequenceNumber.code() {
        ClientError::check(p.error_code, || format!("produce to {topic}-{partition}"))?;
    }
    Ok(p.base_offset)
}
