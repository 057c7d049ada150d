//! The partition logs this broker hosts, kept in step with the metadata state.

mod topic_id;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use chronik_metadata::{BrokerId, MetadataState, Topic, TopicId};
use chronik_types::TopicPartition;
use chronik_wal::{DataDir, LogConfig, PartitionLog, WalError};
use tokio::sync::watch;

use crate::producers::{ProducerStates, load_snapshot, remove_snapshot, save_snapshot};
use crate::replica::{Replica, Role, checkpoint};
use crate::topic_config::{Defaults, TopicSettings};

/// One hosted partition log and the topic incarnation it belongs to (a topic deleted and
/// created again under the same name gets a new id and a fresh log).
pub(crate) struct Hosted {
    pub log: Arc<PartitionLog>,
    pub topic_id: TopicId,
    /// Idempotent producers' recent batches; held across check and append so two connections
    /// cannot both append the same sequence.
    pub producers: Mutex<ProducerStates>,
    /// Leader or follower, the high watermark and (as leader) the followers' progress.
    pub replica: Replica,
    /// Log end offset the saved producer snapshot describes (-1: none).
    snapshot_at: AtomicI64,
    /// The log refused a write for good (failed fsync or write) and that was reported.
    failed: AtomicBool,
    /// The first offset the remote tier holds (`i64::MAX`: none), as the remote tier's task
    /// last saw it: the log start consumers are told is the lower of it and the local one's.
    remote_start: AtomicI64,
    /// The topic's `chronik_broker_topic_bytes_in_total`, looked up at the first append rather
    /// than at every one (a lookup hashes the topic name).
    bytes_in: std::sync::OnceLock<metrics::Counter>,
}

impl Hosted {
    /// Counts `bytes` of records appended to this partition of `topic`.
    pub fn count_bytes_in(&self, topic: &str, bytes: usize) {
        (self.bytes_in.get_or_init(|| {
            metrics::counter!("chronik_broker_topic_bytes_in_total", "topic" => topic.to_string())
        }))
        .increment(bytes as u64);
    }

    /// Reports, once, that the log stopped accepting writes (checked after a refused append or
    /// durability wait): an ERROR log and the `chronik_broker_failed_logs` gauge. Reads go on;
    /// writes answer KAFKA_STORAGE_ERROR until a restart finds a healthy disk.
    pub fn check_failed(&self) {
        let Some(reason) = self.log.failure() else {
            return;
        };
        if !self.failed.swap(true, Ordering::Relaxed) {
            tracing::error!(log = self.log.name(), %reason,
                "partition log failed: writes are refused until the broker restarts on a healthy disk; reads go on");
            metrics::gauge!("chronik_broker_failed_logs").increment(1.0);
        }
    }

    /// The log start offset consumers see: the remote tier's first offset when it holds
    /// older records than the local log.
    pub fn log_start_offset(&self) -> i64 {
        (self.log.start_offset()).min(self.remote_start.load(Ordering::Relaxed))
    }

    pub fn set_remote_start(&self, start: Option<i64>) {
        (self.remote_start).store(start.unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// The last stable offset under the high watermark `hw`: not past the first offset of
    /// any open transaction.
    pub fn last_stable_offset(&self, hw: i64) -> i64 {
        let first_open = self.producers().first_unstable_offset();
        first_open.map_or(hw, |first| first.min(hw))
    }

    pub fn producers(&self) -> std::sync::MutexGuard<'_, ProducerStates> {
        self.producers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the producer state when the log grew since the last snapshot (always, when
    /// `closing`), so a restart after a crash replays only what came after it.
    fn snapshot_producers(&self, closing: bool) {
        // The lock first: no idempotent append can slip between the state and the offset.
        let states = self.producers();
        let end = self.log.end_offset();
        let unchanged = self.snapshot_at.load(Ordering::Relaxed) == end;
        if !closing && (states.len() == 0 || unchanged) {
            return;
        }
        match save_snapshot(self.log.dir(), &states, end) {
            Ok(()) => self.snapshot_at.store(end, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(log = self.log.name(), error = %e, "cannot save the producer state; a restart replays more of the log")
            }
        }
    }
}

/// What this broker should host, from the metadata (see [`Partitions::wanted`]).
pub(crate) struct Wanted {
    me: BrokerId,
    partitions: HashMap<TopicPartition, (TopicId, LogConfig, Role)>,
    /// Ids (as text) of every topic that exists.
    topics: HashSet<String>,
}

/// Owns the data dir and the open logs.
pub(crate) struct Partitions {
    dir: RwLock<Option<DataDir>>,
    hosted: Mutex<HashMap<TopicPartition, Arc<Hosted>>>,
    /// Bumped whenever some partition's role changes (the fetchers follow it).
    roles: watch::Sender<u64>,
    /// Serializes reconciliations (the reconciler task and handlers both run them).
    reconciling: Mutex<()>,
    /// The topic config defaults of the broker's flags, under the dynamic broker configs and
    /// each topic's own configs.
    defaults: TopicSettings,
    /// High watermarks saved by the previous run, read when a partition is opened.
    saved_at_start: checkpoint::Saved,
    /// The high-watermark file's text as last saved (a pass that changes nothing skips it).
    saved_marks: Mutex<String>,
}

impl Partitions {
    pub fn new(dir: DataDir, defaults: TopicSettings) -> Self {
        let saved_at_start = checkpoint::load(dir.root());
        Partitions {
            saved_at_start,
            saved_marks: Mutex::new(String::new()),
            dir: RwLock::new(Some(dir)),
            hosted: Mutex::new(HashMap::new()),
            roles: watch::channel(0).0,
            reconciling: Mutex::new(()),
            defaults,
        }
    }

    /// Every hosted partition (for the retention and metrics tasks), copied out of the lock.
    pub fn all(&self) -> Vec<(TopicPartition, Arc<Hosted>)> {
        let hosted = self.hosted();
        (hosted.iter())
            .map(|(tp, h)| (tp.clone(), h.clone()))
            .collect()
    }

    fn hosted(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Arc<Hosted>>> {
        self.hosted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The data dir's group-commit statistics (none once closed).
    pub fn flush_stats(&self) -> Option<chronik_wal::FlushStatsSnapshot> {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        dir.as_ref().map(DataDir::flush_stats)
    }

    /// Space left on the data dir's filesystem (none once closed).
    pub fn disk_space(&self) -> Option<chronik_wal::Result<chronik_wal::DiskSpace>> {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        dir.as_ref().map(DataDir::space)
    }

    /// The data dir's path (none once closed).
    pub fn root(&self) -> Option<std::path::PathBuf> {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        dir.as_ref().map(|d| d.root().to_path_buf())
    }

    /// The hosted partition `tp`, if this broker hosts it.
    pub fn get_hosted(&self, tp: &TopicPartition) -> Option<Arc<Hosted>> {
        self.hosted().get(tp).cloned()
    }

    /// The hosted partitions whose log failed and was reported so (refuses writes until a
    /// restart). Reads the flag [`Hosted::check_failed`] sets, as the metric does: Metadata
    /// asks on every request.
    pub fn failed_logs(&self) -> HashSet<TopicPartition> {
        (self.hosted().iter())
            .filter(|(_, h)| h.failed.load(Ordering::Relaxed))
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// The open log of `tp`, if this broker hosts it.
    pub fn get(&self, tp: &TopicPartition) -> Option<Arc<PartitionLog>> {
        self.hosted().get(tp).map(|h| h.log.clone())
    }

    /// A receiver that changes after some partition's role changed.
    pub fn subscribe_roles(&self) -> watch::Receiver<u64> {
        self.roles.subscribe()
    }

    /// What this broker should host per `state`, copied out so that no metadata lock is held
    /// while logs open (recovery and producer-state replay read from disk).
    pub fn wanted(&self, state: &MetadataState, me: BrokerId) -> Wanted {
        let defaults = Defaults::new(self.defaults.clone(), state, me).into_settings();
        let configs: HashMap<TopicId, LogConfig> = (state.topics())
            .map(|t| (t.id, log_config(&defaults, t)))
            .collect();
        let partitions = (state.partitions())
            .filter(|p| p.state.replicas.contains(&me))
            .map(|p| {
                let config = configs.get(&p.topic.id).cloned().unwrap_or_default();
                let role = if p.state.leader == me {
                    Role::Leader {
                        epoch: p.state.leader_epoch,
                        partition_epoch: p.state.partition_epoch,
                        isr: p.state.isr.clone(),
                        replicas: p.state.replicas.clone(),
                    }
                } else {
                    Role::Follower {
                        leader: p.state.leader,
                        epoch: p.state.leader_epoch,
                    }
                };
                (p.topic_partition(), (p.topic.id, config, role))
            })
            .collect();
        let topics = state.topics().map(|t| t.id.to_string()).collect();
        Wanted {
            me,
            partitions,
            topics,
        }
    }

    /// Opens the logs of the partitions wanted and removes those no longer hosted (deleted
    /// topics, replicas moved away). What is wanted is read only once this reconciliation has
    /// its turn: one computed earlier and applied after a newer one would close a
    /// partition the newer one just opened (a handler's CreateTopics racing the reconciler).
    pub fn reconcile_latest(&self, wanted: impl FnOnce() -> Wanted) {
        let _serial = self.reconciling.lock().unwrap_or_else(|p| p.into_inner());
        self.apply(&wanted());
    }

    fn apply(&self, wanted: &Wanted) {
        let stale: Vec<TopicPartition> = self
            .hosted()
            .iter()
            .filter(|(tp, h)| wanted.partitions.get(*tp).map(|w| w.0) != Some(h.topic_id))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in stale {
            self.remove(&tp);
        }
        let mut changed = false;
        for (tp, (topic_id, config, role)) in &wanted.partitions {
            match self.get_hosted(tp) {
                Some(h) => {
                    update_config(tp, &h.log, config.clone());
                    changed |= set_role(tp, &h, role);
                }
                None => {
                    self.open(tp.clone(), *topic_id, config.clone(), wanted.me, role);
                    changed = true;
                }
            }
        }
        if changed {
            // Long polls re-check leadership; produce waiters saw their mark change.
            self.roles.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// The hosted partitions this broker follows `leader` for.
    pub fn following(&self, leader: BrokerId) -> Vec<(TopicPartition, Arc<Hosted>)> {
        let hosted = self.hosted();
        (hosted.iter())
            .filter(|(_, h)| {
                h.replica
                    .read(|p| matches!(p.role(), Role::Follower { leader: l, .. } if *l == leader))
            })
            .map(|(tp, h)| (tp.clone(), h.clone()))
            .collect()
    }

    /// The leaders this broker follows some partition of.
    pub fn leaders_followed(&self) -> HashSet<BrokerId> {
        let hosted = self.hosted();
        (hosted.values())
            .filter_map(|h| {
                h.replica.read(|p| match p.role() {
                    Role::Follower { leader, .. } if *leader >= 0 => Some(*leader),
                    _ => None,
                })
            })
            .collect()
    }

    /// The hosted partitions this broker leads.
    pub fn leading(&self) -> Vec<(TopicPartition, Arc<Hosted>)> {
        let hosted = self.hosted();
        (hosted.iter())
            .filter(|(_, h)| h.replica.leader_epoch().is_some())
            .map(|(tp, h)| (tp.clone(), h.clone()))
            .collect()
    }

    /// Deletes partition dirs of topics deleted while this broker was down: dirs not wanted
    /// whose recorded topic id no longer exists. Dirs without a recorded id are left alone.
    pub fn remove_orphans(&self, wanted: &Wanted) {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = dir.as_ref() else { return };
        let found = match dir.list_partitions() {
            Ok(found) => found,
            Err(e) => return tracing::warn!(error = %e, "cannot list partition dirs"),
        };
        for tp in found {
            if wanted.partitions.contains_key(&tp) {
                continue;
            }
            let Some(id) = topic_id::stored(&dir.partition_dir(&tp)) else {
                continue;
            };
            if !wanted.topics.contains(&id) {
                match dir.delete_partition(&tp) {
                    Ok(()) => {
                        tracing::info!(partition = %tp, topic_id = id, "data of a deleted topic removed")
                    }
                    Err(e) => {
                        tracing::warn!(partition = %tp, error = %e, "cannot remove the data of a deleted topic")
                    }
                }
            }
        }
    }

    fn open(
        &self,
        tp: TopicPartition,
        topic_id: TopicId,
        config: LogConfig,
        me: BrokerId,
        role: &Role,
    ) {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = dir.as_ref() else { return };
        let path = dir.partition_dir(&tp);
        if let Some(stored) = topic_id::stored(&path).filter(|s| *s != topic_id.to_string()) {
            tracing::warn!(partition = %tp, stored, "data left by a deleted topic of the same name; deleting it");
            if let Err(e) = dir.delete_partition(&tp) {
                return tracing::error!(partition = %tp, error = %e, "cannot delete stale partition data");
            }
        }
        match dir.open_partition(&tp, config) {
            Ok((log, report)) => {
                if let Some(r) = report.filter(|r| r.cut.is_some()) {
                    tracing::warn!(partition = %tp, report = ?r, "partition log recovered with a cut");
                }
                if topic_id::stored(log.dir()).is_none()
                    && let Err(e) = topic_id::store(log.dir(), topic_id)
                {
                    tracing::warn!(partition = %tp, error = %e, "cannot record the topic id");
                }
                tracing::info!(partition = %tp, end_offset = log.end_offset(), ?role, "partition log open");
                let (producers, snapshot_at) = recover_producers(&tp, &log);
                let saved = self.saved_high_watermark(&tp, topic_id);
                let span = (log.start_offset(), log.end_offset());
                let replica = Replica::new(me, role.clone(), span, saved);
                let hosted = Hosted {
                    replica,
                    log,
                    topic_id,
                    producers: Mutex::new(producers),
                    snapshot_at: AtomicI64::new(snapshot_at),
                    failed: AtomicBool::new(false),
                    remote_start: AtomicI64::new(i64::MAX),
                    bytes_in: std::sync::OnceLock::new(),
                };
                self.hosted().insert(tp, Arc::new(hosted));
            }
            Err(e) => tracing::error!(partition = %tp, error = %e, "cannot open partition log"),
        }
    }

    fn remove(&self, tp: &TopicPartition) {
        let removed = self.hosted().remove(tp);
        if let Some(h) = &removed {
            h.replica.changed();
        }
        if removed.is_some_and(|h| h.failed.load(Ordering::Relaxed)) {
            metrics::gauge!("chronik_broker_failed_logs").decrement(1.0);
        }
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = dir.as_ref() else { return };
        match dir.delete_partition(tp) {
            Ok(()) => tracing::info!(partition = %tp, "partition log deleted"),
            Err(e) => tracing::error!(partition = %tp, error = %e, "cannot delete partition log"),
        }
    }

    /// Saves the high watermarks when some moved since they were last saved and, with
    /// `producers`, the producer state of every log that changed since its last snapshot.
    pub fn checkpoint(&self, producers: bool) {
        let hosted: Vec<(TopicPartition, Arc<Hosted>)> = (self.hosted().iter())
            .map(|(tp, h)| (tp.clone(), h.clone()))
            .collect();
        for (_, h) in hosted.iter().filter(|_| producers) {
            h.snapshot_producers(false);
        }
        self.save_high_watermarks(&hosted);
    }

    /// Saves every hosted partition's high watermark, unless nothing moved since the last save.
    fn save_high_watermarks(&self, hosted: &[(TopicPartition, Arc<Hosted>)]) {
        let marks: Vec<_> = (hosted.iter())
            .map(|(tp, h)| {
                (
                    tp.clone(),
                    h.topic_id.to_string(),
                    h.replica.high_watermark(),
                )
            })
            .collect();
        let text = checkpoint::render(&marks);
        let mut last = self.saved_marks.lock().unwrap_or_else(|p| p.into_inner());
        if *last == text {
            return;
        }
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = dir.as_ref() else { return };
        match checkpoint::save(dir.root(), &text) {
            Ok(()) => *last = text,
            Err(e) => tracing::warn!(error = %e,
                "cannot save the high watermarks; after a restart consumers see records once followers fetch again"),
        }
    }

    /// The high watermark saved for `tp` before a restart, if it belongs to this incarnation
    /// of the topic.
    fn saved_high_watermark(&self, tp: &TopicPartition, topic_id: TopicId) -> Option<i64> {
        let saved = self.saved_at_start.get(tp)?;
        (saved.0 == topic_id.to_string()).then_some(saved.1)
    }

    /// Closes every log cleanly (so the next start scans nothing) and releases the dir lock.
    pub fn close(&self) -> Result<(), WalError> {
        let hosted: Vec<(TopicPartition, Arc<Hosted>)> = self.hosted().drain().collect();
        for (_, h) in &hosted {
            h.snapshot_producers(true);
        }
        self.save_high_watermarks(&hosted);
        let dir = self.dir.write().unwrap_or_else(|p| p.into_inner()).take();
        dir.map_or(Ok(()), DataDir::close)
    }
}

/// Applies the role the metadata gives `tp`; returns whether it changed.
fn set_role(tp: &TopicPartition, hosted: &Hosted, role: &Role) -> bool {
    let end = hosted.log.end_offset();
    let changed = (hosted.replica).update(|p| p.set_role(role.clone(), end, Instant::now()));
    if changed {
        tracing::info!(partition = %tp, ?role, "partition role changed");
    }
    changed
}

/// The log settings of `topic`: its configs over the broker's `defaults`.
fn log_config(defaults: &TopicSettings, topic: &Topic) -> LogConfig {
    (defaults.clone())
        .with_stored(&topic.name, &topic.configs)
        .log_config()
}

/// Applies a topic's changed configs to an open log (segment roll and retention settings
/// take effect from the next append or retention pass).
fn update_config(tp: &TopicPartition, log: &PartitionLog, config: LogConfig) {
    if log.config() == config {
        return;
    }
    match log.set_config(config) {
        Ok(()) => tracing::info!(partition = %tp, "log settings follow the changed topic configs"),
        Err(e) => {
            tracing::warn!(partition = %tp, error = %e, "topic configs not applicable to the log")
        }
    }
}

/// Chunk size for replaying a log's batches into producer state.
const REPLAY_CHUNK: usize = 4 * 1024 * 1024;

/// Producer state of a freshly opened log: the latest snapshot when it fits the log, plus
/// the batches written after it; otherwise every batch from the log start. Also returns the
/// offset the kept snapshot describes (-1 when none is kept).
pub(crate) fn recover_producers(tp: &TopicPartition, log: &PartitionLog) -> (ProducerStates, i64) {
    let end = log.end_offset();
    let (mut states, from, snapshot_at) = match load_snapshot(log.dir()) {
        Some((states, at)) if at <= end && at >= log.start_offset() => (states, at, at),
        found => {
            if found.is_some() {
                // Describes data recovery cut or retention deleted: useless from now on.
                remove_snapshot(log.dir());
            }
            (ProducerStates::default(), log.start_offset(), -1)
        }
    };
    if let Err(e) = replay_producers(log, &mut states, from, end) {
        tracing::warn!(partition = %tp, error = %e, "producer state replay stopped early");
    }
    if states.len() > 0 {
        tracing::info!(partition = %tp, producers = states.len(), "idempotent producer state recovered");
    }
    (states, snapshot_at)
}

/// Replays the batches of `log` in `[from, end)` into `states`; returns the offset reached
/// (`end` unless the log holds less), or the read error that stopped it.
pub(crate) fn replay_producers(
    log: &PartitionLog,
    states: &mut ProducerStates,
    mut from: i64,
    end: i64,
) -> chronik_wal::Result<i64> {
    while from < end {
        let read = log.read_bounded(from, REPLAY_CHUNK, end)?;
        if read.next_offset <= from {
            break;
        }
        states.replay(&read.data);
        from = read.next_offset;
    }
    Ok(from)
}

#[cfg(test)]
mod tests;
