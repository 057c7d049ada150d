//! One partition's queue of records: `send` appends to the open batch under a short lock (no
//! task, channel or clock read per record); the partition's worker takes whole batches.
//!
//! A batch is ready when it holds `batch_size` bytes, when its linger (counted from its first
//! record) has passed, when the queue is full (waiting longer could add no record), or when the
//! producer closes. `queue_records` bounds the records accepted but not yet taken by the worker;
//! `send` waits while it is reached.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::Notify;

use super::delivery::{Completion, Delivery};
use super::{ProducerConfig, Written};
use crate::{ClientError, Result};

/// One record as sent.
pub(crate) struct Rec {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// CreateTime in ms since the epoch; `None` takes the batch's creation time.
    pub timestamp: Option<i64>,
}

impl Rec {
    /// Key, value and roughly the per-record framing (varints, attributes).
    pub fn size(&self) -> usize {
        self.key.as_ref().map_or(0, Bytes::len) + self.value.as_ref().map_or(0, Bytes::len) + 8
    }
}

/// Records that travel together in one request.
pub(crate) struct Batch {
    pub records: Vec<Rec>,
    /// When its first record was sent.
    pub created: Instant,
    /// The same moment on the wall clock (ms since the epoch): the CreateTime of records sent
    /// without one, read once per batch rather than per record.
    pub created_ms: i64,
    done: Completion,
    bytes: usize,
}

impl Batch {
    fn new(capacity: usize) -> Self {
        Self {
            records: Vec::with_capacity(capacity),
            created: Instant::now(),
            created_ms: wall_clock_ms(),
            done: Completion::new(),
            bytes: 0,
        }
    }

    /// When the batch fails, sent or not: its first record's send time + the delivery timeout.
    pub fn deadline(&self, timeout: Duration) -> Instant {
        self.created + timeout
    }

    /// Settles every record: the n-th record of a batch written at `base` is at `base + n`.
    /// `at` is when the answer arrived.
    pub fn resolve(self, result: Result<Written>, at: Instant) {
        self.done.complete(result, at);
    }
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Default)]
struct Acc {
    /// The batch being filled.
    open: Option<Batch>,
    /// Full batches the worker has not taken yet.
    ready: VecDeque<Batch>,
    /// Records in `open` and `ready`.
    queued: usize,
    closed: bool,
}

pub(crate) enum Append {
    Queued(Delivery),
    /// The queue is full; the record comes back.
    Full(Rec),
    Closed,
}

#[derive(Default)]
pub(crate) struct Partition {
    acc: Mutex<Acc>,
    /// Wakes the worker: a batch became ready, a new batch started lingering, or closing.
    wake: Notify,
    /// Wakes senders waiting for room in the queue.
    space: Notify,
}

/// Records a new batch has room for before it grows.
const BATCH_START_RECORDS: usize = 16;

fn capacity(cfg: &ProducerConfig) -> usize {
    cfg.queue_records.max(1)
}

impl Partition {
    fn lock(&self) -> MutexGuard<'_, Acc> {
        // No code panics while holding the lock; should one, its state is still consistent.
        self.acc.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `rec` unless the queue is full or closed; never waits.
    pub fn try_append(&self, rec: Rec, cfg: &ProducerConfig) -> Append {
        let cap = capacity(cfg);
        let mut acc = self.lock();
        if acc.closed {
            return Append::Closed;
        }
        if acc.queued >= cap {
            return Append::Full(rec);
        }
        let size = rec.size();
        let first = acc.open.is_none();
        let batch = acc.open.get_or_insert_with(|| {
            // Room for a few records; the batch grows as it fills. Sized for a full batch, a
            // batch of 100-byte records took 12 KiB at once, while across many partitions
            // most batches leave with a few records.
            Batch::new(
                (cfg.batch_size / size + 1)
                    .min(cap)
                    .min(BATCH_START_RECORDS),
            )
        });
        let delivery = batch.done.delivery(batch.records.len());
        batch.records.push(rec);
        batch.bytes += size;
        let full = batch.bytes >= cfg.batch_size;
        if full && let Some(b) = acc.open.take() {
            acc.ready.push_back(b);
        }
        acc.queued += 1;
        let queue_full = acc.queued >= cap;
        drop(acc);
        if first || full || queue_full {
            self.wake.notify_one();
        }
        Append::Queued(delivery)
    }

    /// Queues `rec`, waiting while the queue is full.
    pub async fn append(&self, rec: Rec, cfg: &ProducerConfig) -> Result<Delivery> {
        let mut rec = match self.try_append(rec, cfg) {
            Append::Queued(d) => return Ok(d),
            Append::Closed => return Err(ClientError::ProducerClosed),
            Append::Full(rec) => rec,
        };
        loop {
            let space = self.space.notified();
            tokio::pin!(space);
            // Registered before trying again, so room made in between still wakes us.
            space.as_mut().enable();
            rec = match self.try_append(rec, cfg) {
                Append::Queued(d) => return Ok(d),
                Append::Closed => return Err(ClientError::ProducerClosed),
                Append::Full(rec) => rec,
            };
            space.await;
        }
    }

    /// The next batch to send, once one is ready; `None` once closed and empty. Cancel-safe: a
    /// batch is only taken when it is returned.
    pub async fn next_batch(&self, cfg: &ProducerConfig) -> Option<Batch> {
        loop {
            let linger_until = {
                let mut acc = self.lock();
                let taken = match acc.ready.pop_front() {
                    Some(b) => Some(b),
                    None => match &acc.open {
                        None if acc.closed => return None,
                        None => None,
                        Some(b) => {
                            let until = b.created + cfg.linger;
                            let now_ready = acc.closed
                                || cfg.linger.is_zero()
                                || acc.queued >= capacity(cfg)
                                || Instant::now() >= until;
                            if now_ready { acc.open.take() } else { None }
                        }
                    },
                };
                if let Some(batch) = taken {
                    acc.queued -= batch.records.len();
                    drop(acc);
                    self.space.notify_waiters();
                    return Some(batch);
                }
                acc.open.as_ref().map(|b| b.created + cfg.linger)
            };
            match linger_until {
                Some(until) => tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep_until(until.into()) => {}
                },
                None => self.wake.notified().await,
            }
        }
    }

    /// Takes no more records; the worker sends what is queued and stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
        self.space.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Rec {
        Rec {
            key: None,
            value: Some(Bytes::from_static(&[0; 92])),
            timestamp: None,
        }
    }

    fn cfg(batch_size: usize, linger_ms: u64, queue: usize) -> ProducerConfig {
        ProducerConfig {
            batch_size,
            linger: Duration::from_millis(linger_ms),
            queue_records: queue,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn batches_by_size_then_by_linger() {
        let (p, cfg) = (Partition::default(), cfg(250, 20, 100));
        let ds: Vec<_> = (0..3).map(|_| p.append(rec(), &cfg)).collect();
        let mut ds2 = Vec::new();
        for d in ds {
            ds2.push(d.await.unwrap());
        }
        // 100 bytes a record: the third fills the first batch.
        let b = p.next_batch(&cfg).await.unwrap();
        assert_eq!(b.records.len(), 3);
        p.append(rec(), &cfg).await.unwrap();
        let t = Instant::now();
        let b2 = p.next_batch(&cfg).await.unwrap();
        assert_eq!(b2.records.len(), 1);
        assert!(t.elapsed() >= Duration::from_millis(10), "lingered");
        b.resolve(Ok(Written::At(10)), Instant::now());
        assert_eq!(
            ds2[2].try_outcome().unwrap().result.unwrap(),
            Written::At(12)
        );
        drop(b2);
    }

    #[tokio::test]
    async fn a_full_queue_waits_for_the_worker_and_ends_the_linger() {
        let (p, cfg) = (
            std::sync::Arc::new(Partition::default()),
            cfg(1 << 20, 60_000, 2),
        );
        p.append(rec(), &cfg).await.unwrap();
        p.append(rec(), &cfg).await.unwrap();
        assert!(matches!(p.try_append(rec(), &cfg), Append::Full(_)));
        let (p2, cfg2) = (p.clone(), cfg.clone());
        let third = tokio::spawn(async move { p2.append(rec(), &cfg2).await.map(|_| ()) });
        let b = p.next_batch(&cfg).await.unwrap();
        assert_eq!(b.records.len(), 2, "sent without lingering a minute");
        third.await.unwrap().unwrap();
        p.close();
        assert_eq!(p.next_batch(&cfg).await.unwrap().records.len(), 1);
        assert!(p.next_batch(&cfg).await.is_none());
        assert!(matches!(p.try_append(rec(), &cfg), Append::Closed));
    }
}
