//! The producer: records are queued per partition; one worker task per partition gathers them
//! into batches (by size and linger), sends them to the partition's leader with the configured
//! acks, and retries retriable failures after refreshing metadata until the delivery timeout.
//!
//! Idempotence (`idempotent: true`): the producer gets one id from InitProducerId (on its first
//! batch, shared by every partition) and stamps every batch with per-partition sequence numbers,
//! so a retried batch the broker already wrote is answered with its original offset instead of
//! being written twice. Up to `max_in_flight` (at most 5, the broker's memory of recent batches)
//! batches per partition are in flight; a failure stops the window and its batches are resent in
//! sequence order with their original sequence numbers (see `idempotent`).
//!
//! What a record's [`Delivery`] resolves to is a [`Written`]: its offset, or why there is none
//! (acks=0, or a duplicate the broker recognised without remembering its offset). No offset is
//! ever made up.

mod encode;
mod idempotent;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

pub use kafka_protocol::records::Compression;

use crate::cluster::Client;
use crate::{ClientError, Result};

/// Which replicas must have a batch before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// No answer at all: a record counts as sent once written to the socket.
    None,
    Leader,
    All,
}

impl Acks {
    pub fn wire(self) -> i16 {
        match self {
            Self::None => 0,
            Self::Leader => 1,
            Self::All => -1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// A batch is sent once it holds this many bytes of records; 0 sends every record alone.
    pub batch_size: usize,
    /// How long a partition waits for more records before sending a batch that is not full.
    pub linger: Duration,
    pub compression: Compression,
    pub idempotent: bool,
    /// How long a record may take from `send` to acknowledgement, queueing and retries included
    /// (Kafka's `delivery.timeout.ms`).
    pub delivery_timeout: Duration,
    pub retry_backoff: Duration,
    /// Batches in flight per partition (with idempotence: capped at 5, as brokers remember the
    /// last 5 batches of a producer to recognise retries).
    pub max_in_flight: usize,
    /// Records queued per partition before `send` waits (backpressure).
    pub queue_records: usize,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            acks: Acks::All,
            batch_size: 16 * 1024,
            linger: Duration::from_millis(5),
            compression: Compression::None,
            idempotent: false,
            delivery_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(100),
            max_in_flight: 5,
            queue_records: 10_000,
        }
    }
}

/// A record waiting for its batch.
pub(crate) struct Queued {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp: i64,
    /// `send` time + the delivery timeout: the record fails after this, queued or not.
    pub deadline: std::time::Instant,
    pub done: oneshot::Sender<Result<Written>>,
}

/// Where a record went once the producer is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The broker acknowledged the record at this offset.
    At(i64),
    /// Sent with acks=0: the broker does not answer, so neither the write nor its offset is known.
    Unacknowledged,
    /// An idempotent retry the broker recognised as already written but whose offset it no
    /// longer remembers (DUPLICATE_SEQUENCE_NUMBER): written exactly once, offset unknown.
    Duplicate,
}

impl Written {
    /// The offset, when the broker named one.
    pub fn offset(self) -> Option<i64> {
        match self {
            Self::At(o) => Some(o),
            Self::Unacknowledged | Self::Duplicate => None,
        }
    }
}

/// Resolves once the record is acknowledged (or sent, with acks=0) or has failed for good.
pub struct Delivery(oneshot::Receiver<Result<Written>>);

impl Delivery {
    pub async fn wait(self) -> Result<Written> {
        self.0.await.unwrap_or(Err(ClientError::ProducerClosed))
    }
}

type PartitionKey = (String, i32);

pub struct Producer {
    ctx: Arc<worker::Ctx>,
    queues: Mutex<HashMap<PartitionKey, mpsc::Sender<Queued>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Producer {
    pub async fn new(client: Client, cfg: ProducerConfig) -> Result<Producer> {
        if cfg.idempotent && cfg.acks != Acks::All {
            return Err(ClientError::InvalidInput(
                "idempotence needs acks=all (a lost unacknowledged batch would leave a sequence gap)"
                    .into(),
            ));
        }
        let ctx = Arc::new(worker::Ctx {
            client,
            cfg,
            ids: tokio::sync::OnceCell::new(),
        });
        Ok(Producer {
            ctx,
            queues: Mutex::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
        })
    }

    pub fn client(&self) -> &Client {
        &self.ctx.client
    }

    /// Queues one record for `topic`-`partition`; waits only while the partition's queue is full.
    pub async fn send(
        &self,
        topic: &str,
        partition: i32,
        key: Option<Bytes>,
        value: Option<Bytes>,
        timestamp: i64,
    ) -> Result<Delivery> {
        let tx = self.queue(topic, partition).await?;
        let (done, rx) = oneshot::channel();
        let record = Queued {
            key,
            value,
            timestamp,
            deadline: std::time::Instant::now() + self.ctx.cfg.delivery_timeout,
            done,
        };
        tx.send(record)
            .await
            .map_err(|_| ClientError::ProducerClosed)?;
        Ok(Delivery(rx))
    }

    /// The partition's queue, starting its worker on first use (no network call here: the
    /// idempotent producer id is fetched by the first worker that needs it).
    async fn queue(&self, topic: &str, partition: i32) -> Result<mpsc::Sender<Queued>> {
        let mut queues = self.queues.lock().await;
        let key = (topic.to_owned(), partition);
        if let Some(tx) = queues.get(&key) {
            return Ok(tx.clone());
        }
        let (tx, rx) = mpsc::channel(self.ctx.cfg.queue_records.max(1));
        let ctx = self.ctx.clone();
        let handle = if self.ctx.cfg.idempotent {
            tokio::spawn(idempotent::run(ctx, key.clone(), rx))
        } else {
            tokio::spawn(worker::run(ctx, key.clone(), rx))
        };
        self.workers.lock().await.push(handle);
        queues.insert(key, tx.clone());
        Ok(tx)
    }

    /// Sends everything queued and waits until every record is acknowledged or failed.
    pub async fn close(self) {
        self.queues.lock().await.clear();
        for handle in self.workers.lock().await.drain(..) {
            let _ = handle.await;
        }
    }
}

/// A fresh producer id and epoch.
pub(crate) async fn init_producer_id(client: &Client) -> Result<(i64, i16)> {
    let req = InitProducerIdRequest::default()
        .with_transaction_timeout_ms(60_000)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1);
    let resp: InitProducerIdResponse = client.call_any(&req).await?;
    ClientError::check(resp.error_code, || "InitProducerId".into())?;
    Ok((resp.producer_id.0, resp.producer_epoch))
}
