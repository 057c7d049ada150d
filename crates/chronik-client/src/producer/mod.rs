//! The producer: records are queued per partition; one worker task per partition gathers them
//! into batches (by size and linger), sends them to the partition's leader with the configured
//! acks, and retries retriable failures after refreshing metadata until the delivery timeout.
//!
//! Idempotence (`idempotent: true`): the producer gets an id from InitProducerId and stamps every
//! batch with per-partition sequence numbers, so a retried batch the broker already wrote is
//! answered with its original offset instead of being written twice. With idempotence each
//! partition keeps one batch in flight, so a retry can never overtake a later batch.

mod encode;
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
    /// Batches in flight per partition without idempotence (with it: always 1).
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
    pub done: oneshot::Sender<Result<i64>>,
}

/// Resolves to the record's offset once acknowledged (-1 with acks=0).
pub struct Delivery(oneshot::Receiver<Result<i64>>);

impl Delivery {
    pub async fn wait(self) -> Result<i64> {
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
        let ctx = Arc::new(worker::Ctx { client, cfg });
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

    async fn queue(&self, topic: &str, partition: i32) -> Result<mpsc::Sender<Queued>> {
        let mut queues = self.queues.lock().await;
        let key = (topic.to_owned(), partition);
        if let Some(tx) = queues.get(&key) {
            return Ok(tx.clone());
        }
        let ids = if self.ctx.cfg.idempotent {
            Some(init_producer_id(&self.ctx.client).await?)
        } else {
            None
        };
        let (tx, rx) = mpsc::channel(self.ctx.cfg.queue_records.max(1));
        let handle = tokio::spawn(worker::run(self.ctx.clone(), key.clone(), rx, ids));
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
