//! One task per partition without idempotence: gather a batch, send it (up to `max_in_flight`
//! at once), retry it, resolve its records. Also the pieces the idempotent sender shares.

use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use tokio::sync::Semaphore;

use super::accumulator::Partition;
use super::combine::{Combiner, Queued};
use super::encode::encode_batch;
use super::{ProducerConfig, Written};
use crate::cluster::Client;
use crate::{ClientError, Result};

pub(crate) struct Ctx {
    pub client: Client,
    pub cfg: ProducerConfig,
    /// The idempotent producer's id and epoch, fetched once (InitProducerId) by the first
    /// partition that sends.
    pub ids: tokio::sync::OnceCell<(i64, i16)>,
    /// Puts the batches bound for one broker into shared requests.
    pub combiner: Combiner,
}

pub(crate) async fn run(ctx: Arc<Ctx>, (topic, partition): (String, i32), queue: Arc<Partition>) {
    let in_flight = ctx.cfg.max_in_flight.max(1);
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        // A slot first: while every slot is busy the open batch keeps filling.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let Some(batch) = queue.next_batch(&ctx.cfg).await else {
            break;
        };
        let (ctx, topic) = (ctx.clone(), topic.clone());
        tokio::spawn(async move {
            let encoded = encode_batch(&batch.records, batch.created_ms, ctx.cfg.compression, None);
            let result = match encoded {
                Ok(bytes) => {
                    let deadline = batch.deadline(ctx.cfg.delivery_timeout);
                    deliver(&ctx, &topic, partition, bytes, deadline).await
                }
                Err(e) => Err(e),
            };
            batch.resolve(result, Instant::now());
            drop(permit);
        });
    }
    // Every spawned batch holds a slot until resolved: taking them all waits for the last one.
    let _ = slots.acquire_many(in_flight as u32).await;
}

/// Sends one encoded batch until it is acknowledged, fails for good, or its deadline passes.
/// Records that waited in the queue past their deadline fail without being sent, so a dead
/// broker fails a full queue within one delivery timeout instead of one per batch.
async fn deliver(
    ctx: &Arc<Ctx>,
    topic: &str,
    partition: i32,
    batch: bytes::Bytes,
    deadline: Instant,
) -> Result<Written> {
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
        let epoch = ctx.client.metadata_epoch();
        tokio::time::sleep(ctx.cfg.retry_backoff).await;
        if err.needs_metadata() {
            let _ = ctx.client.refresh_topic_after(topic, epoch).await;
        }
    }
}

/// One Produce request for one batch to the partition's current leader.
async fn produce_once(
    ctx: &Arc<Ctx>,
    topic: &str,
    partition: i32,
    batch: bytes::Bytes,
) -> Result<Written> {
    submit(ctx, topic, partition, batch).await?.await
}

/// Queues one batch for the partition's current leader and returns the wait for its answer;
/// batches submitted one after another reach the broker in that order (while the leader's
/// connection lasts), in requests shared with the producer's other partitions
/// ([`Combiner`]).
pub(super) async fn submit(
    ctx: &Arc<Ctx>,
    topic: &str,
    partition: i32,
    batch: bytes::Bytes,
) -> Result<BoxFuture<Result<Written>>> {
    let epoch = ctx.client.metadata_epoch();
    let leader = match ctx.client.leader(topic, partition) {
        Ok(leader) => leader,
        // A topic this client has not looked up yet (its first batch): fetch its metadata now
        // instead of failing the attempt and retrying after the backoff.
        Err(e) if ctx.client.knows_topic(topic) => return Err(e),
        Err(_) => {
            ctx.client.refresh_topic_after(topic, epoch).await?;
            ctx.client.leader(topic, partition)?
        }
    };
    let addr = ctx.client.broker_addr(leader)?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let queued = Queued {
        topic: topic.into(),
        partition,
        batch,
        reply,
    };
    ctx.combiner.submit(ctx, addr, queued);
    Ok(Box::pin(async move {
        answer
            .await
            .unwrap_or_else(|_| Err(ClientError::network(addr, "producer closed")))
    }))
}

pub(super) type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// A partition's answer (`None`: the response has none for it). A success must name a real
/// offset; a duplicate the broker could not place (DUPLICATE_SEQUENCE_NUMBER) is reported as
/// [`Written::Duplicate`].
pub(super) fn written(
    answer: Option<&PartitionProduceResponse>,
    topic: &str,
    partition: i32,
    addr: std::net::SocketAddr,
) -> Result<Written> {
    let p = answer.ok_or_else(|| ClientError::Protocol {
        addr,
        reason: format!("Produce response has no answer for {topic}-{partition}"),
    })?;
    if p.error_code == ResponseError::DuplicateSequenceNumber.code() {
        return Ok(Written::Duplicate);
    }
    ClientError::check(p.error_code, || format!("produce to {topic}-{partition}"))?;
    if p.base_offset < 0 {
        return Err(ClientError::Protocol {
            addr,
            reason: format!(
                "Produce to {topic}-{partition} acknowledged without an offset ({})",
                p.base_offset
            ),
        });
    }
    Ok(Written::At(p.base_offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: i16, base: i64) -> PartitionProduceResponse {
        PartitionProduceResponse::default()
            .with_index(0)
            .with_error_code(code)
            .with_base_offset(base)
    }

    #[test]
    fn answers_never_become_made_up_offsets() {
        let addr = "127.0.0.1:9".parse().unwrap();
        let written = |a: PartitionProduceResponse| written(Some(&a), "t", 0, addr);
        assert_eq!(written(answer(0, 7)).unwrap(), Written::At(7));
        let dup = ResponseError::DuplicateSequenceNumber.code();
        assert_eq!(written(answer(dup, -1)).unwrap(), Written::Duplicate);
        let e = written(answer(0, -1)).unwrap_err();
        assert_eq!(e.name(), "InvalidResponse");
        let e = written(answer(6, -1)).unwrap_err();
        assert_eq!(e.name(), "NotLeaderOrFollower");
        let missing = super::written(None, "t", 0, addr).unwrap_err();
        assert_eq!(missing.name(), "InvalidResponse");
    }
}
