//! The idempotent sender of one partition: up to 5 batches in flight, never a duplicate.
//!
//! Every batch is stamped once with the producer id, epoch and its first sequence number, and
//! keeps that stamp for every retry: a broker that already wrote it recognises the retry among
//! the producer's last 5 batches and answers with the original offsets. Batches are written to
//! the leader's connection in sequence order (the broker appends in request order), so in-flight
//! batches never overtake each other.
//!
//! When an answer is an error, the window stops taking new batches and collects every answer
//! still outstanding. Batches answered with success are done. The others are resent, in order,
//! after the retry backoff; a later batch refused as out of order only waited for an earlier
//! failed one, so it is retried too. A batch that fails for good (a non-retriable error, an
//! out-of-order answer when nothing before it is pending, or its delivery timeout) fails its
//! records — whether it was written is then unknown, as with any timeout — and the partition
//! takes a fresh producer id once the window is empty, so later batches do not inherit a gap in
//! the sequence.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use tokio::task::JoinHandle;

use super::Written;
use super::accumulator::{Batch, Partition};
use super::encode::{Stamp, encode_batch};
use super::worker::{self, Ctx};
use crate::{ClientError, Result};

/// Brokers remember a producer's last 5 batches per partition: with more in flight a retry could
/// fall out of that memory and be refused, or worse, not be recognised.
pub(crate) const MAX_IN_FLIGHT: usize = 5;

struct Ids {
    producer_id: i64,
    epoch: i16,
    next_sequence: i32,
}

/// A batch's answer and when it arrived.
type Reply = (Result<Written>, Instant);

struct Entry {
    batch: Batch,
    /// The stamped batch, resent byte for byte.
    encoded: Bytes,
    deadline: Instant,
    attempts: u32,
    first_sent: Instant,
    /// The answer to the latest send.
    reply: Option<JoinHandle<Reply>>,
}

struct Sender {
    ctx: Arc<Ctx>,
    topic: String,
    partition: i32,
    ids: Option<Ids>,
    /// The next id comes from a fresh InitProducerId rather than the producer's shared one.
    fresh_ids: bool,
    /// A batch failed for good: take no new batch until the window is empty, then a new id.
    poisoned: bool,
    /// Unresolved batches in sequence order, each with an answer outstanding.
    window: VecDeque<Entry>,
}

enum Event {
    Batch(Option<Batch>),
    Reply(Reply),
}

pub(crate) async fn run(ctx: Arc<Ctx>, (topic, partition): (String, i32), queue: Arc<Partition>) {
    let limit = ctx.cfg.max_in_flight.clamp(1, MAX_IN_FLIGHT);
    let cfg = ctx.clone();
    let mut s = Sender {
        ctx,
        topic,
        partition,
        ids: None,
        fresh_ids: false,
        poisoned: false,
        window: VecDeque::new(),
    };
    let mut open = true;
    while open || !s.window.is_empty() {
        if s.poisoned && s.window.is_empty() {
            s.poisoned = false;
            s.ids = None;
            s.fresh_ids = true;
        }
        let accept = open && !s.poisoned && s.window.len() < limit;
        match next_event(&queue, &cfg.cfg, s.window.front_mut(), accept).await {
            Event::Batch(None) => open = false,
            Event::Batch(Some(batch)) => s.start(batch).await,
            Event::Reply((Ok(written), at)) => {
                if let Some(done) = s.window.pop_front() {
                    done.batch.resolve(Ok(written), at);
                }
            }
            Event::Reply((Err(e), _)) => s.recover(e).await,
        }
    }
}

async fn join(handle: &mut JoinHandle<Reply>) -> Reply {
    handle.await.unwrap_or_else(|e| {
        let e = ClientError::InvalidInput(format!("produce task failed: {e}"));
        (Err(e), Instant::now())
    })
}

/// The head batch's answer, or (when `accept`) the next ready batch.
async fn next_event(
    queue: &Partition,
    cfg: &super::ProducerConfig,
    head: Option<&mut Entry>,
    accept: bool,
) -> Event {
    let reply = async {
        match head.and_then(|e| e.reply.as_mut()) {
            Some(h) => {
                let r = join(h).await;
                Event::Reply(r)
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        ev = reply => ev,
        b = queue.next_batch(cfg), if accept => Event::Batch(b),
    }
}

fn is_out_of_order(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Broker {
            code: ResponseError::OutOfOrderSequenceNumber,
            ..
        }
    )
}

impl Sender {
    fn timeout(&self, what: &str) -> ClientError {
        ClientError::Timeout {
            api: ApiKey::Produce,
            addr: format!("the leader of {}-{}{what}", self.topic, self.partition),
            after: self.ctx.cfg.delivery_timeout,
        }
    }

    /// Stamps a new batch with the next sequence numbers and sends it.
    async fn start(&mut self, batch: Batch) {
        let deadline = batch.deadline(self.ctx.cfg.delivery_timeout);
        if Instant::now() >= deadline {
            let err = self.timeout(" (expired in the queue)");
            return batch.resolve(Err(err), Instant::now());
        }
        let compression = self.ctx.cfg.compression;
        let transactional = self.ctx.cfg.transactional_id.is_some();
        let ids = match self.identity(deadline).await {
            Ok(ids) => ids,
            Err(e) => return batch.resolve(Err(e), Instant::now()),
        };
        let stamp = Stamp {
            producer_id: ids.producer_id,
            epoch: ids.epoch,
            base_sequence: ids.next_sequence,
            transactional,
        };
        let encoded = encode_batch(&batch.records, batch.created_ms, compression, Some(stamp));
        let encoded = match encoded {
            Ok(b) => b,
            Err(e) => return batch.resolve(Err(e), Instant::now()),
        };
        // Sequences wrap to 0 after i32::MAX, as Kafka's do.
        let n = batch.records.len() as i64;
        ids.next_sequence = ((i64::from(ids.next_sequence) + n) % (i64::from(i32::MAX) + 1)) as i32;
        let mut entry = Entry {
            batch,
            encoded,
            deadline,
            attempts: 0,
            first_sent: Instant::now(),
            reply: None,
        };
        self.send(&mut entry).await;
        self.window.push_back(entry);
    }

    /// The partition's producer id: the producer's shared one first, a fresh one after a batch
    /// failed for good. InitProducerId is retried until `deadline` on retriable errors.
    async fn identity(&mut self, deadline: Instant) -> Result<&mut Ids> {
        if self.ids.is_none() {
            let client = &self.ctx.client;
            if self.ctx.cfg.transactional_id.is_some()
                && (self.fresh_ids || !self.ctx.ids.initialized())
            {
                // Its id is the transactional id's: a batch that failed for good fails the
                // transaction, which the caller aborts.
                return Err(ClientError::InvalidInput(
                    "a transactional producer has no producer id: call init_transactions first, \
                     and abort the transaction after a failed batch"
                        .into(),
                ));
            }
            let (producer_id, epoch) = loop {
                let got = if self.fresh_ids {
                    super::init_producer_id(client).await
                } else {
                    let init = || super::init_producer_id(client);
                    self.ctx.ids.get_or_try_init(init).await.copied()
                };
                match got {
                    Ok(ids) => break ids,
                    Err(e)
                        if e.is_retriable()
                            && Instant::now() + self.ctx.cfg.retry_backoff < deadline =>
                    {
                        tracing::debug!(error = %e, "InitProducerId failed; retrying");
                        tokio::time::sleep(self.ctx.cfg.retry_backoff).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            self.fresh_ids = false;
            self.ids = Some(Ids {
                producer_id,
                epoch,
                next_sequence: 0,
            });
        }
        self.ids.as_mut().ok_or(ClientError::ProducerClosed)
    }

    /// Writes the entry's batch to the leader (in call order) and starts waiting for the answer,
    /// bounded by the entry's deadline.
    async fn send(&self, entry: &mut Entry) {
        entry.attempts += 1;
        let deadline = tokio::time::Instant::from_std(entry.deadline);
        let submitted = tokio::time::timeout_at(
            deadline,
            worker::submit(
                &self.ctx,
                &self.topic,
                self.partition,
                entry.encoded.clone(),
            ),
        )
        .await;
        let timeout = self.timeout("");
        entry.reply = Some(tokio::spawn(async move {
            let result = match submitted {
                Ok(Ok(answer)) => tokio::time::timeout_at(deadline, answer)
                    .await
                    .unwrap_or(Err(timeout)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(timeout),
            };
            (result, Instant::now())
        }));
    }

    /// The head batch failed with `head_err`: settle the whole window, fail what cannot be
    /// retried, and resend the rest in sequence order.
    async fn recover(&mut self, head_err: ClientError) {
        let mut results = vec![(Err(head_err), Instant::now())];
        for entry in self.window.iter_mut().skip(1) {
            results.push(match entry.reply.as_mut() {
                Some(h) => join(h).await,
                None => (Err(ClientError::ProducerClosed), Instant::now()),
            });
        }
        let backoff = self.ctx.cfg.retry_backoff;
        let mut retry = VecDeque::new();
        let (mut earlier_pending, mut refresh) = (false, false);
        for (mut entry, (result, at)) in self.window.drain(..).zip(results) {
            entry.reply = None;
            let err = match result {
                // Written; a success after a failure also proves the earlier batch written,
                // and its resend will be answered as a duplicate.
                Ok(w) => {
                    entry.batch.resolve(Ok(w), at);
                    continue;
                }
                Err(e) => e,
            };
            let waited = earlier_pending && is_out_of_order(&err);
            if (err.is_retriable() || waited) && Instant::now() + backoff < entry.deadline {
                refresh |= err.needs_metadata();
                retry.push_back(entry);
            } else {
                tracing::warn!(topic = %self.topic, partition = self.partition, error = %err,
                    "idempotent batch failed; the partition takes a new producer id");
                self.poisoned = true;
                let err = if entry.attempts > 1 {
                    ClientError::RetriesExhausted {
                        attempts: entry.attempts,
                        elapsed: entry.first_sent.elapsed(),
                        last: Box::new(err),
                    }
                } else {
                    err
                };
                entry.batch.resolve(Err(err), Instant::now());
            }
            earlier_pending = true;
        }
        if retry.is_empty() {
            return;
        }
        let epoch = self.ctx.client.metadata_epoch();
        tokio::time::sleep(backoff).await;
        if refresh {
            let _ = (self.ctx.client)
                .refresh_topic_after(&self.topic, epoch)
                .await;
        }
        for mut entry in retry {
            tracing::debug!(topic = %self.topic, partition = self.partition, attempts = entry.attempts, "resending");
            self.send(&mut entry).await;
            self.window.push_back(entry);
        }
    }
}
