//! The transaction coordinator of the `__transaction_state` partitions this broker leads.
//!
//! Each transition is decided under one lock, appended to the partition's log in that order,
//! and applied in memory only once the ISR has it; meanwhile the id is `pending` and other
//! requests for it are told to retry (CONCURRENT_TRANSACTIONS), as in Kafka.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use chronik_types::TopicPartition;
use tokio::task::JoinHandle;

use super::records::{decode_key, decode_value, encode_key, encode_value};
use super::state::{self, EndProtocol, EndStep, InitStep, TxnError, TxnMetadata};
use super::verify::Ask;
use super::{TXN_TOPIC, markers::Peers};
use crate::cluster::Cluster;
use crate::groups::partition_for;
use crate::groups::store::{self, Written};
use crate::partition::PartitionLayer;
use crate::partitions::Hosted;
use crate::producer_ids::{ProducerIdError, ProducerIdPool};
use crate::wall_clock::wall_ms;

/// How often shards are loaded or dropped and timeouts checked.
const TICK: Duration = Duration::from_millis(200);

/// How long a request waits for a completing transaction of its id before answering
/// CONCURRENT_TRANSACTIONS (clients retry after their backoff).
const CONCURRENT_WAIT: Duration = Duration::from_secs(5);

/// Wakes the requests waiting on `settled` when dropped (whichever way `settle` returns).
struct Wake<'a>(&'a tokio::sync::watch::Sender<u64>);

impl Drop for Wake<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Why a coordinator request is refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CoordError {
    #[error("this broker is not the transaction coordinator of this id")]
    NotCoordinator,
    #[error("the transaction state is loading")]
    LoadInProgress,
    #[error("the transaction coordinator is not available: {0}")]
    NotAvailable(String),
    #[error(transparent)]
    Txn(#[from] TxnError),
}

impl From<ProducerIdError> for CoordError {
    fn from(e: ProducerIdError) -> Self {
        CoordError::NotAvailable(e.to_string())
    }
}

/// Whether a partition is in a producer's ongoing transaction, as its coordinator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verified {
    InTransaction,
    NotInTransaction,
    /// The producer's epoch is older than the id's: a newer producer took over.
    Fenced,
    /// The coordinator could not be asked or is busy; the producer retries.
    Unavailable(String),
}

/// One transactional id: its committed state (none yet for a new id) and whether a
/// transition is being written.
struct Entry {
    meta: Option<TxnMetadata>,
    pending: bool,
}

enum Shard {
    Loading {
        epoch: i32,
    },
    Loaded {
        epoch: i32,
        txns: HashMap<String, Entry>,
    },
}

pub(crate) struct TxnCoordinator {
    pub(super) cluster: Arc<Cluster>,
    pub(super) layer: Arc<PartitionLayer>,
    /// Told of the markers this coordinator writes to `__consumer_offsets` partitions.
    pub(super) groups: Arc<crate::groups::Coordinator>,
    producer_ids: Arc<ProducerIdPool>,
    /// `__transaction_state` partition → its ids. Held only to decide and append, never
    /// across a wait.
    shards: Mutex<HashMap<i32, Shard>>,
    /// Kafka's `transaction.max.timeout.ms`.
    max_timeout_ms: i32,
    max_record_bytes: usize,
    pub(super) peers: Peers,
    /// Bumped after every transition is applied or fails: requests waiting for a
    /// transaction of their id to complete wake on it.
    settled: tokio::sync::watch::Sender<u64>,
}

impl TxnCoordinator {
    pub fn new(
        cluster: Arc<Cluster>,
        layer: Arc<PartitionLayer>,
        groups: Arc<crate::groups::Coordinator>,
        producer_ids: Arc<ProducerIdPool>,
        max_timeout: Duration,
        max_record_bytes: usize,
    ) -> Self {
        TxnCoordinator {
            cluster,
            layer,
            groups,
            producer_ids,
            shards: Mutex::new(HashMap::new()),
            max_timeout_ms: i32::try_from(max_timeout.as_millis()).unwrap_or(i32::MAX),
            max_record_bytes,
            peers: Peers::default(),
            settled: tokio::sync::watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Shard>> {
        self.shards.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `__transaction_state` partition of `txn_id`.
    fn partition_of(&self, txn_id: &str) -> Result<i32, CoordError> {
        let count = self.cluster.metadata(|s| {
            let topic = s.topic_by_name(TXN_TOPIC)?;
            i32::try_from(topic.partitions.len())
                .ok()
                .filter(|n| *n > 0)
        });
        let count = count.ok_or(CoordError::NotAvailable(format!(
            "{TXN_TOPIC} does not exist"
        )))?;
        Ok(partition_for(txn_id, count))
    }

    /// The partition and its leader epoch, if this broker leads it and its log took up the
    /// leadership.
    fn led(&self, partition: i32) -> Result<(Arc<Hosted>, i32), CoordError> {
        let found = self.cluster.metadata(|s| {
            let p = s.topic_by_name(TXN_TOPIC)?.partition(partition)?;
            Some((p.leader, p.leader_epoch))
        });
        let Some((leader, epoch)) = found else {
            return Err(CoordError::NotAvailable(format!(
                "{TXN_TOPIC} does not exist"
            )));
        };
        if leader != self.cluster.me {
            return Err(CoordError::NotCoordinator);
        }
        let tp = TopicPartition::new(TXN_TOPIC, partition);
        match self.layer.partitions().get_hosted(&tp) {
            Some(h) if h.replica.leader_epoch() == Some(epoch) => Ok((h, epoch)),
            _ => Err(CoordError::LoadInProgress),
        }
    }

    /// Whether this broker still coordinates `partition` in `epoch` (markers stop otherwise:
    /// the next coordinator finishes them).
    pub(super) fn still_leads(&self, partition: i32, epoch: i32) -> bool {
        matches!(self.led(partition), Ok((_, e)) if e == epoch)
    }

    /// InitProducerId with a transactional id: the producer id and epoch to use.
    pub async fn init_producer_id(
        self: &Arc<Self>,
        txn_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<(i64, i16), CoordError> {
        state::check_timeout(timeout_ms, self.max_timeout_ms)?;
        let (mut fresh, mut expected) = (None, expected);
        loop {
            let mut step = None;
            self.transition(txn_id, |current| {
                let s = state::init_producer_id(current, timeout_ms, expected, fresh, wall_ms())?;
                let write = match &s {
                    InitStep::Ready(m) | InitStep::AbortFirst(m) => Some(m.clone()),
                    InitStep::NeedProducerId => None,
                };
                step = Some(s);
                Ok(write)
            })
            .await?;
            match step {
                Some(InitStep::Ready(m)) => return Ok((m.producer_id, m.producer_epoch)),
                // The old producer's transaction is being aborted: the next attempt waits for
                // it (the expected id and epoch were checked before the abort bumped them).
                Some(InitStep::AbortFirst(_)) => expected = None,
                Some(InitStep::NeedProducerId) if fresh.is_none() => {
                    fresh = Some(self.producer_ids.next(&self.cluster).await?);
                }
                _ => return Err(CoordError::NotAvailable("no producer id".into())),
            }
        }
    }

    /// AddPartitionsToTxn and AddOffsetsToTxn: `partitions` join the producer's transaction.
    pub async fn add_partitions(
        self: &Arc<Self>,
        txn_id: &str,
        producer: (i64, i16),
        partitions: &[TopicPartition],
    ) -> Result<(), CoordError> {
        self.transition(txn_id, |current| {
            let m = current.ok_or(TxnError::WrongProducerId)?;
            state::add_partitions(m, producer, partitions, wall_ms())
        })
        .await
        .map(|_| ())
    }

    /// EndTxn: the transaction is prepared (and answered); its markers follow. Returns the
    /// producer id and epoch the producer goes on with.
    pub async fn end_txn(
        self: &Arc<Self>,
        txn_id: &str,
        producer: (i64, i16),
        commit: bool,
        protocol: EndProtocol,
    ) -> Result<(i64, i16), CoordError> {
        let mut fresh = None;
        loop {
            let (mut now_at, mut needs_id) = (None, false);
            self.transition(txn_id, |current| {
                let m = current.ok_or(TxnError::WrongProducerId)?;
                let step = state::end_txn(m, producer, commit, protocol, fresh, wall_ms())?;
                let next = match step {
                    EndStep::Prepare(next) => Some(next),
                    EndStep::Done => None,
                    EndStep::NeedProducerId => {
                        needs_id = true;
                        return Ok(None);
                    }
                };
                now_at = Some(next.as_ref().unwrap_or(m).continues_as());
                Ok(next)
            })
            .await?;
            match (needs_id, fresh) {
                (false, _) => return Ok(now_at.unwrap_or(producer)),
                (true, None) => fresh = Some(self.producer_ids.next(&self.cluster).await?),
                (true, Some(_)) => return Err(CoordError::NotAvailable("no producer id".into())),
            }
        }
    }

    /// DescribeTransactions: the committed state of `txn_id` (`None`: no such id).
    pub fn describe(self: &Arc<Self>, txn_id: &str) -> Result<Option<TxnMetadata>, CoordError> {
        let partition = self.partition_of(txn_id)?;
        let (hosted, epoch) = self.led(partition)?;
        let mut shards = self.lock();
        let txns = self.loaded(&mut shards, partition, epoch, &hosted)?;
        Ok(txns.get(txn_id).and_then(|e| e.meta.clone()))
    }

    /// ListTransactions: every transactional id this broker coordinates (loaded partitions).
    pub fn list(&self) -> Vec<(String, TxnMetadata)> {
        let shards = self.lock();
        let mut out: Vec<(String, TxnMetadata)> = (shards.values())
            .filter_map(|s| match s {
                Shard::Loaded { txns, .. } => Some(txns),
                Shard::Loading { .. } => None,
            })
            .flat_map(|txns| txns.iter())
            .filter_map(|(id, e)| Some((id.clone(), e.meta.clone()?)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Whether `tp` is in the ongoing transaction of `txn_id` at `producer` (id, epoch): asked
    /// here when this broker coordinates the id, else of its coordinator (AddPartitionsToTxn
    /// v4 with `verify_only`).
    pub async fn verify(
        self: &Arc<Self>,
        txn_id: &str,
        producer: (i64, i16),
        tp: &TopicPartition,
    ) -> Verified {
        match self.verify_here(txn_id, producer, tp) {
            Err(CoordError::NotCoordinator) => {
                self.ask_remote(txn_id, producer, tp, Ask::Verify).await
            }
            Err(e) => Verified::Unavailable(e.to_string()),
            Ok(verified) => verified,
        }
    }

    /// Adds `tp` to the transaction of `txn_id` at `producer`, beginning one if none is
    /// ongoing (KIP-890 part 2: a producer on Produce v12 or TxnOffsetCommit v5 sends no
    /// AddPartitionsToTxn; its first write to a partition adds it): here when this broker
    /// coordinates the id, else through its coordinator (AddPartitionsToTxn v5 that is not
    /// verify-only).
    pub async fn join(
        self: &Arc<Self>,
        txn_id: &str,
        producer: (i64, i16),
        tp: &TopicPartition,
    ) -> Verified {
        let added = self.add_partitions(txn_id, producer, std::slice::from_ref(tp));
        match added.await {
            Ok(()) => Verified::InTransaction,
            Err(CoordError::NotCoordinator) => {
                self.ask_remote(txn_id, producer, tp, Ask::Add).await
            }
            Err(CoordError::Txn(TxnError::Fenced { .. })) => Verified::Fenced,
            Err(CoordError::Txn(TxnError::WrongProducerId)) => Verified::NotInTransaction,
            Err(e) => Verified::Unavailable(e.to_string()),
        }
    }

    /// [`TxnCoordinator::verify`] for an id this broker coordinates.
    pub fn verify_here(
        self: &Arc<Self>,
        txn_id: &str,
        (producer_id, epoch): (i64, i16),
        tp: &TopicPartition,
    ) -> Result<Verified, CoordError> {
        let partition = self.partition_of(txn_id)?;
        let (hosted, coordinator_epoch) = self.led(partition)?;
        let mut shards = self.lock();
        let txns = self.loaded(&mut shards, partition, coordinator_epoch, &hosted)?;
        let meta = txns.get(txn_id).and_then(|e| e.meta.as_ref());
        if meta.is_some_and(|m| m.producer_id == producer_id && epoch < m.producer_epoch) {
            return Ok(Verified::Fenced);
        }
        let ongoing = meta.is_some_and(|m| {
            m.state == state::TxnState::Ongoing
                && m.producer_id == producer_id
                && m.producer_epoch == epoch
                && m.partitions.contains(tp)
        });
        Ok(match ongoing {
            true => Verified::InTransaction,
            false => Verified::NotInTransaction,
        })
    }

    /// Decides one transition of `txn_id` (`decide` gets its committed state and returns the
    /// state to write, or `None` for nothing to write), appends it, waits until the ISR has
    /// it and applies it. A prepared transaction's markers start at once.
    ///
    /// While another transition of the id is being written or its markers are (CONCURRENT_TRANSACTIONS),
    /// the request waits for it, up to [`CONCURRENT_WAIT`], instead of sending the client into
    /// its retry backoff: a producer's next transaction usually begins while the markers of
    /// the last one are still going out.
    pub(super) async fn transition(
        self: &Arc<Self>,
        txn_id: &str,
        mut decide: impl FnMut(Option<&TxnMetadata>) -> Result<Option<TxnMetadata>, TxnError>,
    ) -> Result<Option<TxnMetadata>, CoordError> {
        let deadline = tokio::time::Instant::now() + CONCURRENT_WAIT;
        loop {
            let mut settled = self.settled.subscribe();
            match self.transition_once(txn_id, &mut decide).await {
                Err(CoordError::Txn(TxnError::Concurrent))
                    if tokio::time::Instant::now() < deadline =>
                {
                    let _ = tokio::time::timeout_at(deadline, settled.changed()).await;
                }
                outcome => return outcome,
            }
        }
    }

    async fn transition_once(
        self: &Arc<Self>,
        txn_id: &str,
        decide: &mut impl FnMut(Option<&TxnMetadata>) -> Result<Option<TxnMetadata>, TxnError>,
    ) -> Result<Option<TxnMetadata>, CoordError> {
        let partition = self.partition_of(txn_id)?;
        let (hosted, epoch) = self.led(partition)?;
        let (next, written) = {
            let mut shards = self.lock();
            let txns = self.loaded(&mut shards, partition, epoch, &hosted)?;
            let entry = txns.get(txn_id);
            if entry.is_some_and(|e| e.pending) {
                return Err(TxnError::Concurrent.into());
            }
            let Some(next) = decide(entry.and_then(|e| e.meta.as_ref()))? else {
                return Ok(None);
            };
            let record = (encode_key(txn_id), Some(encode_value(&next)));
            let written = self.append(&hosted, epoch, record)?;
            let entry = (txns.entry(txn_id.to_owned())).or_insert(Entry {
                meta: None,
                pending: false,
            });
            entry.pending = true;
            (next, written)
        };
        let committed = written.committed().await;
        self.settle(
            partition,
            epoch,
            txn_id,
            committed.is_ok().then(|| next.clone()),
        );
        committed.map_err(CoordError::NotAvailable)?;
        if next.state.is_preparing() {
            self.spawn_markers(partition, epoch, txn_id.to_owned(), next.clone());
        }
        Ok(Some(next))
    }

    /// Records a prepared transaction complete once its markers are written: the Complete
    /// record is appended and applied at once, without waiting for the ISR, so the producer's
    /// next transaction need not wait for it. That is safe because every later record of the
    /// id comes after it in the log and waits for its own commit, and a coordinator that takes
    /// over without it finds the transaction prepared and completes it again (markers are
    /// idempotent for the partitions).
    pub(super) fn record_complete(
        self: &Arc<Self>,
        txn_id: &str,
        partition: i32,
        epoch: i32,
        prepared: &TxnMetadata,
    ) -> Result<(), CoordError> {
        let (hosted, led_epoch) = self.led(partition)?;
        if led_epoch != epoch {
            return Err(CoordError::NotCoordinator);
        }
        let written = {
            let mut shards = self.lock();
            let txns = self.loaded(&mut shards, partition, epoch, &hosted)?;
            let Some(entry) = txns.get_mut(txn_id) else {
                return Ok(());
            };
            let current = entry
                .meta
                .as_ref()
                .filter(|m| m.state == prepared.state && m.producer_id == prepared.producer_id);
            let Some(current) = current else {
                return Ok(());
            };
            if entry.pending {
                return Err(TxnError::Concurrent.into());
            }
            let next = state::complete(current, wall_ms());
            let record = (encode_key(txn_id), Some(encode_value(&next)));
            let written = self.append(&hosted, epoch, record)?;
            entry.meta = Some(next);
            written
        };
        self.settled.send_modify(|n| *n = n.wrapping_add(1));
        let id = txn_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = written.committed().await {
                tracing::warn!(transactional_id = id, error = %e,
                    "the complete record of a transaction was not committed; the next coordinator completes it");
            }
        });
        Ok(())
    }

    /// Ends a pending write: `applied` is the committed state, or `None` when the write failed.
    fn settle(&self, partition: i32, epoch: i32, txn_id: &str, applied: Option<TxnMetadata>) {
        let _wake = Wake(&self.settled);
        let mut shards = self.lock();
        let Some(Shard::Loaded { epoch: e, txns }) = shards.get_mut(&partition) else {
            return;
        };
        if *e != epoch {
            return;
        }
        let Some(entry) = txns.get_mut(txn_id) else {
            return;
        };
        entry.pending = false;
        if applied.is_some() {
            entry.meta = applied;
        } else if entry.meta.is_none() {
            txns.remove(txn_id);
        }
    }

    fn append(
        &self,
        hosted: &Arc<Hosted>,
        epoch: i32,
        record: (Bytes, Option<Bytes>),
    ) -> Result<Written, CoordError> {
        let log = &hosted.log;
        match store::append(log, epoch, &[record], wall_ms(), self.max_record_bytes) {
            Ok(info) => {
                let end = log.end_offset();
                hosted.replica.update(|p| p.advance(end));
                hosted.replica.changed();
                Ok(Written {
                    durable: info.durable,
                    marks: hosted.replica.subscribe(),
                    base_offset: info.base_offset,
                    epoch,
                })
            }
            Err(e) => {
                tracing::error!(log = log.name(), error = %e, "transaction state append failed");
                Err(CoordError::NotAvailable(e.to_string()))
            }
        }
    }

    /// The ids of `partition` if loaded for `epoch`; otherwise starts loading them.
    fn loaded<'a>(
        self: &Arc<Self>,
        shards: &'a mut HashMap<i32, Shard>,
        partition: i32,
        epoch: i32,
        hosted: &Arc<Hosted>,
    ) -> Result<&'a mut HashMap<String, Entry>, CoordError> {
        let ready =
            matches!(shards.get(&partition), Some(Shard::Loaded { epoch: e, .. }) if *e == epoch);
        if !ready {
            let loading =
                matches!(shards.get(&partition), Some(Shard::Loading { epoch: e }) if *e == epoch);
            if !loading {
                shards.insert(partition, Shard::Loading { epoch });
                self.spawn_load(partition, epoch, hosted.clone());
            }
            return Err(CoordError::LoadInProgress);
        }
        match shards.get_mut(&partition) {
            Some(Shard::Loaded { txns, .. }) => Ok(txns),
            _ => Err(CoordError::LoadInProgress),
        }
    }

    /// Rebuilds a partition's ids from its log off the async threads, then finishes the
    /// transactions it finds prepared.
    fn spawn_load(self: &Arc<Self>, partition: i32, epoch: i32, hosted: Arc<Hosted>) {
        let this = self.clone();
        tokio::spawn(async move {
            let log = hosted.log.clone();
            let loaded = tokio::task::spawn_blocking(move || load(&log)).await;
            let txns = match loaded {
                Ok(Ok(txns)) => txns,
                Ok(Err(e)) => {
                    tracing::error!(partition, error = %e, "cannot load transaction state");
                    this.lock().remove(&partition);
                    return;
                }
                Err(e) => {
                    tracing::error!(partition, error = %e, "transaction state load task failed");
                    this.lock().remove(&partition);
                    return;
                }
            };
            let prepared: Vec<(String, TxnMetadata)> = (txns.iter())
                .filter(|(_, m)| m.state.is_preparing())
                .map(|(id, m)| (id.clone(), m.clone()))
                .collect();
            {
                let mut shards = this.lock();
                if !matches!(shards.get(&partition), Some(Shard::Loading { epoch: e }) if *e == epoch)
                {
                    return;
                }
                tracing::info!(
                    partition,
                    epoch,
                    ids = txns.len(),
                    prepared = prepared.len(),
                    "transaction state loaded"
                );
                let txns = (txns.into_iter())
                    .map(|(id, m)| {
                        let entry = Entry {
                            meta: Some(m),
                            pending: false,
                        };
                        (id, entry)
                    })
                    .collect();
                shards.insert(partition, Shard::Loaded { epoch, txns });
            }
            for (id, m) in prepared {
                this.spawn_markers(partition, epoch, id, m);
            }
        });
    }

    /// Every `TICK`: loads the partitions led here, drops the others, and aborts the
    /// transactions past their timeout.
    pub fn spawn_reaper(self: &Arc<Self>) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                this.reap();
            }
        })
    }

    fn reap(self: &Arc<Self>) {
        let count = self
            .cluster
            .metadata(|s| (s.topic_by_name(TXN_TOPIC)).map_or(0, |t| t.partitions.len()));
        let now = wall_ms();
        let mut expired = Vec::new();
        for partition in 0..i32::try_from(count).unwrap_or(0) {
            let led = self.led(partition);
            let mut shards = self.lock();
            match led {
                Ok((hosted, epoch)) => {
                    if let Ok(txns) = self.loaded(&mut shards, partition, epoch, &hosted) {
                        expired.extend(
                            (txns.iter())
                                .filter(|(_, e)| !e.pending)
                                .filter(|(_, e)| {
                                    e.meta
                                        .as_ref()
                                        .and_then(|m| state::expire(m, now))
                                        .is_some()
                                })
                                .map(|(id, _)| id.clone()),
                        );
                    }
                }
                Err(CoordError::LoadInProgress) => {}
                Err(_) => {
                    shards.remove(&partition);
                }
            }
        }
        for id in expired {
            let this = self.clone();
            tokio::spawn(async move {
                let aborted = this
                    .transition(&id, |current| {
                        Ok(current.and_then(|m| state::expire(m, wall_ms())))
                    })
                    .await;
                match aborted {
                    Ok(Some(m)) => {
                        tracing::info!(transactional_id = %id, producer_id = m.producer_id,
                        epoch = m.producer_epoch, "transaction timed out; aborting it")
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(transactional_id = %id, error = %e, "timed-out transaction not aborted yet")
                    }
                }
            });
        }
    }
}

/// The latest state of every id in a `__transaction_state` log (tombstones remove ids).
fn load(
    log: &chronik_wal::PartitionLog,
) -> Result<HashMap<String, TxnMetadata>, chronik_wal::WalError> {
    let mut txns = HashMap::new();
    store::read_all_raw(log, |item| {
        let store::LogItem::Record {
            key, value, offset, ..
        } = item
        else {
            return;
        };
        let id = match decode_key(&key) {
            Ok(id) => id,
            Err(e) => {
                return tracing::warn!(log = log.name(), offset, error = %e, "skipping a transaction record");
            }
        };
        match value.map(|v| decode_value(&v)) {
            None => {
                txns.remove(&id);
            }
            Some(Ok(m)) => {
                txns.insert(id, m);
            }
            Some(Err(e)) => {
                tracing::warn!(log = log.name(), offset, error = %e, "skipping a transaction record")
            }
        }
    })?;
    Ok(txns)
}
