//! The partition logs this broker hosts, kept in step with the metadata state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chronik_metadata::{BrokerId, MetadataState, Topic, TopicId};
use chronik_types::TopicPartition;
use chronik_wal::{DataDir, LogConfig, PartitionLog, WalError};
use tokio::sync::watch;

use crate::producers::{ProducerStates, load_snapshot, save_snapshot};
use crate::topic_config::TopicSettings;

/// One hosted partition log and the topic incarnation it belongs to (a topic deleted and
/// created again under the same name gets a new id and a fresh log).
pub(crate) struct Hosted {
    pub log: Arc<PartitionLog>,
    pub topic_id: TopicId,
    /// Idempotent producers' recent batches; held across check and append so two connections
    /// cannot both append the same sequence.
    pub producers: Mutex<ProducerStates>,
}

impl Hosted {
    pub fn producers(&self) -> std::sync::MutexGuard<'_, ProducerStates> {
        self.producers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Owns the data dir and the open logs; wakes long-polling fetches after every append.
pub(crate) struct Partitions {
    dir: RwLock<Option<DataDir>>,
    hosted: Mutex<HashMap<TopicPartition, Arc<Hosted>>>,
    appends: watch::Sender<u64>,
    /// Serializes reconciliations (the reconciler task and handlers both run them).
    reconciling: Mutex<()>,
    /// The broker's topic config defaults, under each topic's own configs.
    defaults: TopicSettings,
}

impl Partitions {
    pub fn new(dir: DataDir, defaults: TopicSettings) -> Self {
        Partitions {
            dir: RwLock::new(Some(dir)),
            hosted: Mutex::new(HashMap::new()),
            appends: watch::channel(0).0,
            reconciling: Mutex::new(()),
            defaults,
        }
    }

    /// Every hosted log (for the retention task).
    pub fn logs(&self) -> Vec<(TopicPartition, Arc<PartitionLog>)> {
        let hosted = self.hosted();
        hosted
            .iter()
            .map(|(tp, h)| (tp.clone(), h.log.clone()))
            .collect()
    }

    fn hosted(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Arc<Hosted>>> {
        self.hosted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The hosted partition `tp`, if this broker hosts it.
    pub fn get_hosted(&self, tp: &TopicPartition) -> Option<Arc<Hosted>> {
        self.hosted().get(tp).cloned()
    }

    /// The open log of `tp`, if this broker hosts it.
    pub fn get(&self, tp: &TopicPartition) -> Option<Arc<PartitionLog>> {
        self.hosted().get(tp).map(|h| h.log.clone())
    }

    /// Tells waiting fetches that some log grew.
    pub fn appended(&self) {
        self.appends.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes after every append (fetch long polls wait on it).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.appends.subscribe()
    }

    /// Opens the logs of partitions `me` replicates and removes those of deleted topics.
    pub fn reconcile(&self, state: &MetadataState, me: BrokerId) {
        let _serial = self.reconciling.lock().unwrap_or_else(|p| p.into_inner());
        let wanted: HashMap<TopicPartition, TopicId> = state
            .partitions()
            .filter(|p| p.state.replicas.contains(&me))
            .map(|p| (p.topic_partition(), p.topic.id))
            .collect();
        let stale: Vec<TopicPartition> = self
            .hosted()
            .iter()
            .filter(|(tp, h)| wanted.get(*tp) != Some(&h.topic_id))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in stale {
            self.remove(&tp);
        }
        let configs: HashMap<TopicId, LogConfig> = (state.topics())
            .map(|t| (t.id, self.log_config(t)))
            .collect();
        for (tp, topic_id) in wanted {
            let config = configs.get(&topic_id).cloned().unwrap_or_default();
            match self.get(&tp) {
                Some(log) => update_config(&tp, &log, config),
                None => self.open(tp, topic_id, config),
            }
        }
    }

    /// The log settings of `topic`: its configs over the broker's defaults.
    fn log_config(&self, topic: &Topic) -> LogConfig {
        let settings = self.defaults.clone();
        settings
            .with_stored(&topic.name, &topic.configs)
            .log_config()
    }

    fn open(&self, tp: TopicPartition, topic_id: TopicId, config: LogConfig) {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = dir.as_ref() else { return };
        match dir.open_partition(&tp, config) {
            Ok((log, report)) => {
                if let Some(r) = report.filter(|r| r.cut.is_some()) {
                    tracing::warn!(partition = %tp, report = ?r, "partition log recovered with a cut");
                }
                tracing::info!(partition = %tp, end_offset = log.end_offset(), "partition log open");
                let producers = Mutex::new(recover_producers(&tp, &log));
                let hosted = Hosted {
                    log,
                    topic_id,
                    producers,
                };
                self.hosted().insert(tp, Arc::new(hosted));
            }
            Err(e) => tracing::error!(partition = %tp, error = %e, "cannot open partition log"),
        }
    }

    fn remove(&self, tp: &TopicPartition) {
        self.hosted().remove(tp);
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = dir.as_ref() else { return };
        match dir.delete_partition(tp) {
            Ok(()) => tracing::info!(partition = %tp, "partition log deleted"),
            Err(e) => tracing::error!(partition = %tp, error = %e, "cannot delete partition log"),
        }
        self.appended();
    }

    /// Closes every log cleanly (so the next start scans nothing) and releases the dir lock.
    pub fn close(&self) -> Result<(), WalError> {
        let hosted: Vec<Arc<Hosted>> = self.hosted().drain().map(|(_, h)| h).collect();
        for h in hosted {
            let end = h.log.end_offset();
            if let Err(e) = save_snapshot(h.log.dir(), &h.producers(), end) {
                tracing::warn!(log = h.log.name(), error = %e, "cannot save the producer state; the next start replays the log");
            }
        }
        let dir = self.dir.write().unwrap_or_else(|p| p.into_inner()).take();
        dir.map_or(Ok(()), DataDir::close)
    }
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

/// Producer state of a freshly opened log: the clean-shutdown snapshot when it matches the
/// log, plus the batches written after it; otherwise every batch from the log start.
fn recover_producers(tp: &TopicPartition, log: &PartitionLog) -> ProducerStates {
    let end = log.end_offset();
    let (mut states, mut from) = match load_snapshot(log.dir()) {
        Some((states, at)) if at <= end && at >= log.start_offset() => (states, at),
        _ => (ProducerStates::default(), log.start_offset()),
    };
    while from < end {
        match log.read_bounded(from, REPLAY_CHUNK, end) {
            Ok(read) if read.next_offset > from => {
                states.replay(&read.data);
                from = read.next_offset;
            }
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(partition = %tp, error = %e, "producer state replay stopped early");
                break;
            }
        }
    }
    if states.len() > 0 {
        tracing::info!(partition = %tp, producers = states.len(), "idempotent producer state recovered");
    }
    states
}
