//! The partition logs this broker hosts, kept in step with the metadata state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chronik_metadata::{BrokerId, MetadataState, TopicId};
use chronik_types::TopicPartition;
use chronik_wal::{DataDir, LogConfig, PartitionLog, WalError};
use tokio::sync::watch;

/// One hosted partition log and the topic incarnation it belongs to (a topic deleted and
/// created again under the same name gets a new id and a fresh log).
pub(crate) struct Hosted {
    pub log: Arc<PartitionLog>,
    pub topic_id: TopicId,
}

/// Owns the data dir and the open logs; wakes long-polling fetches after every append.
pub(crate) struct Partitions {
    dir: RwLock<Option<DataDir>>,
    hosted: Mutex<HashMap<TopicPartition, Arc<Hosted>>>,
    appends: watch::Sender<u64>,
    /// Serializes reconciliations (the reconciler task and handlers both run them).
    reconciling: Mutex<()>,
}

impl Partitions {
    pub fn new(dir: DataDir) -> Self {
        Partitions {
            dir: RwLock::new(Some(dir)),
            hosted: Mutex::new(HashMap::new()),
            appends: watch::channel(0).0,
            reconciling: Mutex::new(()),
        }
    }

    fn hosted(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Arc<Hosted>>> {
        self.hosted.lock().unwrap_or_else(|p| p.into_inner())
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
        for (tp, topic_id) in wanted {
            if !self.hosted().contains_key(&tp) {
                self.open(tp, topic_id);
            }
        }
    }

    fn open(&self, tp: TopicPartition, topic_id: TopicId) {
        let dir = self.dir.read().unwrap_or_else(|p| p.into_inner());
        let Some(dir) = dir.as_ref() else { return };
        match dir.open_partition(&tp, LogConfig::default()) {
            Ok((log, report)) => {
                if let Some(r) = report.filter(|r| r.cut.is_some()) {
                    tracing::warn!(partition = %tp, report = ?r, "partition log recovered with a cut");
                }
                tracing::info!(partition = %tp, end_offset = log.end_offset(), "partition log open");
                self.hosted().insert(tp, Arc::new(Hosted { log, topic_id }));
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
        self.hosted().clear();
        let dir = self.dir.write().unwrap_or_else(|p| p.into_inner()).take();
        dir.map_or(Ok(()), DataDir::close)
    }
}
