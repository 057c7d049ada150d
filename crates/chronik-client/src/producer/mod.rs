//! The producer: `send` appends records to their partition's open batch (see `accumulator`); one
//! worker task per partition takes ready batches (by size and linger), sends them to the
//! partition's leader with the configured acks, and retries retriable failures after refreshing
//! metadata until the delivery timeout. Nothing is spawned, allocated or timed per record: a
//! batch's records share one completion, stamped with the time its answer arrived.
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

mod accumulator;
mod combine;
mod delivery;
mod encode;
mod idempotent;
mod txn;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};
use tokio::task::JoinHandle;

pub use delivery::{Delivery, Outcome};
pub use kafka_protocol::records::Compression;

use accumulator::{Append, Partition, Rec};

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
    /// Records queued per partition (accepted, not yet taken for sending) before `send` waits
    /// (backpressure). A full queue also ends the linger of the batch being filled.
    pub queue_records: usize,
    /// Makes the producer transactional (needs `idempotent`): its batches belong to the
    /// transaction begun with [`Producer::begin_transaction`] (Kafka's `transactional.id`).
    pub transactional_id: Option<String>,
    /// The transaction timeout the coordinator holds a transactional producer to.
    pub transaction_timeout: Duration,
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
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
        }
    }
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

/// Partitions per topic this producer addresses (they are kept in a vector by number).
const MAX_PARTITIONS: i32 = 1 << 20;

/// Each topic's partitions by number, each with its queue once used.
type Topics = HashMap<String, Vec<Option<Arc<Partition>>>>;

/// What `send` found without waiting.
enum Fast {
    Done(Result<Delivery>),
    /// The queue is full: wait for room.
    Wait(Arc<Partition>, Rec),
    /// The partition has no queue yet.
    Missing(Rec),
}

pub struct Producer {
    ctx: Arc<worker::Ctx>,
    topics: RwLock<Topics>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// The transaction coordinator, for a transactional producer.
    txn: Option<txn::Coordinator>,
}

impl Producer {
    pub async fn new(client: Client, cfg: ProducerConfig) -> Result<Producer> {
        if cfg.transactional_id.is_some() && !cfg.idempotent {
            return Err(ClientError::InvalidInput(
                "a transactional producer must be idempotent".into(),
            ));
        }
        if cfg.idempotent && cfg.acks != Acks::All {
            return Err(ClientError::InvalidInput(
                "idempotence needs acks=all (a lost unacknowledged batch would leave a sequence gap)"
                    .into(),
            ));
        }
        let txn = (cfg.transactional_id.clone())
            .map(|id| txn::Coordinator::new(client.clone(), id, cfg.transaction_timeout));
        let ctx = Arc::new(worker::Ctx {
            client,
            cfg,
            ids: tokio::sync::OnceCell::new(),
            combiner: Default::default(),
        });
        Ok(Producer {
            ctx,
            topics: RwLock::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
            txn,
        })
    }

    /// Registers the transactional id with its coordinator (InitProducerId): fences an older
    /// producer with the same id and aborts a transaction it left open. Call once, before any
    /// send of a transactional producer.
    pub async fn init_transactions(&self) -> Result<()> {
        let txn = self.coordinator()?;
        let ids = txn.init().await?;
        (self.ctx.ids.set(ids))
            .map_err(|_| ClientError::InvalidInput("init_transactions was already called".into()))
    }

    /// Adds `partitions` of `topic` to the open transaction (AddPartitionsToTxn), before any
    /// record is sent to them in this transaction. A transaction begins with its first add.
    pub async fn add_to_transaction(&self, topic: &str, partitions: &[i32]) -> Result<()> {
        let txn = self.coordinator()?;
        txn.add_partitions(self.transactional_ids()?, topic, partitions)
            .await
    }

    /// Commits (or aborts) the open transaction (EndTxn). Wait for every delivery of the
    /// transaction first: a batch still unanswered would miss the commit.
    pub async fn end_transaction(&self, commit: bool) -> Result<()> {
        let txn = self.coordinator()?;
        txn.end(self.transactional_ids()?, commit).await
    }

    fn coordinator(&self) -> Result<&txn::Coordinator> {
        (self.txn.as_ref())
            .ok_or_else(|| ClientError::InvalidInput("the producer has no transactional id".into()))
    }

    fn transactional_ids(&self) -> Result<(i64, i16)> {
        (self.ctx.ids.get().copied())
            .ok_or_else(|| ClientError::InvalidInput("call init_transactions first".into()))
    }

    pub fn client(&self) -> &Client {
        &self.ctx.client
    }

    /// Queues one record for `topic`-`partition`; waits only while the partition's queue is full.
    /// `timestamp` is the record's CreateTime in ms since the epoch; `None` stamps the time its
    /// batch was started, as Kafka's producers stamp the send time. Time-based retention
    /// (`retention.ms`) judges records by it: a record stamped long ago is deleted at the
    /// broker's next retention pass, however recently it was written.
    pub async fn send(
        &self,
        topic: &str,
        partition: i32,
        key: Option<Bytes>,
        value: Option<Bytes>,
        timestamp: Option<i64>,
    ) -> Result<Delivery> {
        if !(0..MAX_PARTITIONS).contains(&partition) {
            return Err(ClientError::InvalidInput(format!(
                "partition {partition} of {topic} is out of range (0..{MAX_PARTITIONS})"
            )));
        }
        let rec = Rec {
            key,
            value,
            timestamp,
        };
        let cfg = &self.ctx.cfg;
        match self.try_send(topic, partition, rec) {
            Fast::Done(d) => d,
            Fast::Wait(queue, rec) => queue.append(rec, cfg).await,
            Fast::Missing(rec) => self.start(topic, partition).append(rec, cfg).await,
        }
    }

    /// Queues the record if its partition has a queue with room: a read lock and a map lookup by
    /// `&str`, no allocation.
    fn try_send(&self, topic: &str, partition: i32, rec: Rec) -> Fast {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let queue = topics
            .get(topic)
            .and_then(|parts| parts.get(partition as usize))
            .and_then(Option::as_ref);
        let Some(queue) = queue else {
            return Fast::Missing(rec);
        };
        match queue.try_append(rec, &self.ctx.cfg) {
            Append::Queued(d) => Fast::Done(Ok(d)),
            Append::Closed => Fast::Done(Err(ClientError::ProducerClosed)),
            Append::Full(rec) => Fast::Wait(queue.clone(), rec),
        }
    }

    /// The partition's queue, starting its worker on first use (no network call here: the
    /// idempotent producer id is fetched by the first worker that needs it).
    fn start(&self, topic: &str, partition: i32) -> Arc<Partition> {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let parts = topics.entry(topic.to_owned()).or_default();
        let i = partition as usize;
        if parts.len() <= i {
            parts.resize(i + 1, None);
        }
        if let Some(queue) = &parts[i] {
            return queue.clone();
        }
        let queue = Arc::new(Partition::default());
        let (ctx, key) = (self.ctx.clone(), (topic.to_owned(), partition));
        let handle = if self.ctx.cfg.idempotent {
            tokio::spawn(idempotent::run(ctx, key, queue.clone()))
        } else {
            tokio::spawn(worker::run(ctx, key, queue.clone()))
        };
        self.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
        parts[i] = Some(queue.clone());
        queue
    }

    /// Closes every queue: workers send what is queued and stop.
    fn shut(&self) {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        for queue in topics.values().flatten().flatten() {
            queue.close();
        }
    }

    /// Sends everything queued and waits until every record is acknowledged or failed.
    pub async fn close(self) {
        self.shut();
        let handles = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for handle in handles {
            let _ = handle.await;
        }
    }
}

/// A dropped producer still sends what it queued, in the background.
impl Drop for Producer {
    fn drop(&mut self) {
        self.shut();
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
