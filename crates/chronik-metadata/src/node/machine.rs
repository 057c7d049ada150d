//! The meta node's Raft state machine: [`MetadataState`] plus voter addresses, shared with the
//! gRPC handlers that read it and the watchers that stream its committed records.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chronik_raft::{RaftError, StateMachine};
use prost::Message as _;
use tokio::sync::watch;

use crate::grpc::pb::{ApplyResult, NodeCommand, NodeSnapshot};
use crate::{MetadataRecord, MetadataState};

/// Committed entries kept in memory for watchers; one further behind gets a snapshot.
const HISTORY_ENTRIES: usize = 10_000;

/// The records committed at one log index.
pub type CommittedBatch = (u64, Vec<Vec<u8>>);

/// What a watcher should receive next.
#[derive(Debug)]
pub enum WatchBatch {
    /// The whole state as of `index` (the watcher is too far behind for records).
    Snapshot { index: u64, state: Vec<u8> },
    /// Committed records after the watcher's position, in order (possibly none).
    Records(Vec<CommittedBatch>),
}

struct Inner {
    metadata: MetadataState,
    voter_addresses: BTreeMap<u64, String>,
    history: VecDeque<CommittedBatch>,
    /// Every applied record at an index above this is in `history`.
    floor: u64,
    /// Index of the last applied command.
    last_index: u64,
}

/// Applied state, readable while the Raft task applies to it.
pub struct SharedState {
    inner: RwLock<Inner>,
    applied: watch::Sender<u64>,
    /// Index of the latest snapshot this node took or installed.
    snapshot_index: AtomicU64,
    /// Snapshots installed since start (sent by a leader because the log was compacted).
    installed: AtomicU64,
}

impl SharedState {
    fn new() -> Self {
        SharedState {
            inner: RwLock::new(Inner {
                metadata: MetadataState::new(),
                voter_addresses: BTreeMap::new(),
                history: VecDeque::new(),
                floor: 0,
                last_index: 0,
            }),
            applied: watch::channel(0).0,
            snapshot_index: AtomicU64::new(0),
            installed: AtomicU64::new(0),
        }
    }

    /// Index of the latest snapshot this node took or installed (0: none yet).
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index.load(Ordering::Relaxed)
    }

    /// Snapshots installed since the node started.
    pub fn snapshots_installed(&self) -> u64 {
        self.installed.load(Ordering::Relaxed)
    }

    /// Forgets the restores counted so far (the startup restore of the node's own snapshot).
    pub(crate) fn reset_installed(&self) {
        self.installed.store(0, Ordering::Relaxed);
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // Only whole applies happen under the lock: a panic cannot leave it half-written.
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the applied metadata state.
    pub fn metadata<R>(&self, f: impl FnOnce(&MetadataState) -> R) -> R {
        f(&self.read().metadata)
    }

    /// Addresses of the voters, as replicated through the log.
    pub fn voter_addresses(&self) -> BTreeMap<u64, String> {
        self.read().voter_addresses.clone()
    }

    /// Index of the last applied command.
    pub fn last_index(&self) -> u64 {
        self.read().last_index
    }

    /// Notified with the last applied index after every apply or restore.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// What a watcher that wants everything from `from_index` on gets next.
    pub fn watch_from(&self, from_index: u64) -> WatchBatch {
        let inner = self.read();
        if from_index <= inner.floor {
            return WatchBatch::Snapshot {
                index: inner.last_index,
                state: inner.metadata.to_snapshot_bytes(),
            };
        }
        let records = (inner.history.iter())
            .filter(|(index, _)| *index >= from_index)
            .cloned()
            .collect();
        WatchBatch::Records(records)
    }
}

/// Called with (voter id, address) whenever a voter's address is applied; empty = removed.
pub type VoterAddressHook = Box<dyn Fn(u64, &str) + Send>;

/// The [`StateMachine`] the Raft replica drives.
pub struct MetaMachine {
    shared: Arc<SharedState>,
    on_voter_address: VoterAddressHook,
}

impl MetaMachine {
    pub fn new(on_voter_address: VoterAddressHook) -> Self {
        MetaMachine {
            shared: Arc::new(SharedState::new()),
            on_voter_address,
        }
    }

    pub fn shared(&self) -> Arc<SharedState> {
        Arc::clone(&self.shared)
    }
}

/// The serialized state every initial voter of a new cluster starts from.
pub fn bootstrap_state(
    cluster_id: &str,
    voters: &BTreeMap<u64, String>,
) -> Result<Vec<u8>, crate::StateError> {
    let mut metadata = MetadataState::new();
    let record = MetadataRecord::new(crate::Record::SetClusterId(crate::proto::SetClusterId {
        cluster_id: cluster_id.to_owned(),
    }));
    metadata.apply(&record)?;
    Ok(NodeSnapshot {
        metadata: metadata.to_snapshot_bytes(),
        voter_addresses: voters.clone(),
        last_index: 1,
    }
    .encode_to_vec())
}

impl StateMachine for MetaMachine {
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8> {
        let command = match NodeCommand::decode(command) {
            Ok(command) => command,
            Err(e) => {
                let errors = vec![format!("command does not decode: {e}")];
                return ApplyResult { errors }.encode_to_vec();
            }
        };
        let mut errors = Vec::with_capacity(command.records.len());
        let mut applied = Vec::new();
        let mut inner = self.shared.write();
        for bytes in command.records {
            // A rejected record changes nothing, on every replica alike.
            match MetadataRecord::from_bytes(&bytes).and_then(|r| inner.metadata.apply(&r)) {
                Ok(()) => {
                    errors.push(String::new());
                    applied.push(bytes);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if let Some(voter) = &command.voter_address {
            if voter.address.is_empty() {
                inner.voter_addresses.remove(&voter.id);
            } else {
                (inner.voter_addresses).insert(voter.id, voter.address.clone());
            }
        }
        if !applied.is_empty() {
            inner.history.push_back((index, applied));
            while inner.history.len() > HISTORY_ENTRIES {
                if let Some((evicted, _)) = inner.history.pop_front() {
                    inner.floor = evicted;
                }
            }
        }
        inner.last_index = index;
        drop(inner);
        if let Some(voter) = command.voter_address {
            (self.on_voter_address)(voter.id, &voter.address);
        }
        self.shared.applied.send_replace(index);
        ApplyResult { errors }.encode_to_vec()
    }

    fn snapshot(&self) -> Vec<u8> {
        let inner = self.shared.read();
        (self.shared.snapshot_index).store(inner.last_index, Ordering::Relaxed);
        NodeSnapshot {
            metadata: inner.metadata.to_snapshot_bytes(),
            voter_addresses: inner.voter_addresses.clone(),
            last_index: inner.last_index,
        }
        .encode_to_vec()
    }

    fn restore(&mut self, snapshot: &[u8]) -> chronik_raft::Result<()> {
        let snapshot = NodeSnapshot::decode(snapshot)
            .map_err(|e| RaftError::InvalidSnapshot(format!("node snapshot: {e}")))?;
        let metadata = MetadataState::from_snapshot_bytes(&snapshot.metadata)
            .map_err(|e| RaftError::InvalidSnapshot(e.to_string()))?;
        let mut inner = self.shared.write();
        inner.metadata = metadata;
        inner.voter_addresses = snapshot.voter_addresses.clone();
        inner.history.clear();
        inner.floor = snapshot.last_index;
        inner.last_index = snapshot.last_index;
        drop(inner);
        for (id, address) in &snapshot.voter_addresses {
            (self.on_voter_address)(*id, address);
        }
        (self.shared.snapshot_index).store(snapshot.last_index, Ordering::Relaxed);
        self.shared.installed.fetch_add(1, Ordering::Relaxed);
        self.shared.applied.send_replace(snapshot.last_index);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> MetaMachine {
        MetaMachine::new(Box::new(|_, _| {}))
    }

    fn command(records: Vec<MetadataRecord>) -> Vec<u8> {
        NodeCommand {
            records: records.iter().map(MetadataRecord::to_bytes).collect(),
            voter_address: None,
        }
        .encode_to_vec()
    }

    fn cluster_id(id: &str) -> MetadataRecord {
        MetadataRecord::new(crate::Record::SetClusterId(crate::proto::SetClusterId {
            cluster_id: id.into(),
        }))
    }

    #[test]
    fn rejected_record_is_a_noop_with_an_error() {
        let mut m = machine();
        let out = m.apply(2, &command(vec![cluster_id("a"), cluster_id("b")]));
        let result = ApplyResult::decode(out.as_slice()).expect("result decodes");
        assert!(result.errors[0].is_empty());
        assert!(!result.errors[1].is_empty());
        assert_eq!(
            m.shared().metadata(|s| s.cluster_id().map(str::to_owned)),
            Some("a".into())
        );
        match m.shared().watch_from(2) {
            WatchBatch::Records(r) => assert_eq!(r.len(), 1),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn snapshot_round_trips_and_old_watchers_get_it() {
        let mut m = machine();
        m.apply(5, &command(vec![cluster_id("c")]));
        let snap = m.snapshot();
        assert_eq!(m.shared().snapshot_index(), 5);
        assert_eq!(m.shared().snapshots_installed(), 0);
        let mut other = machine();
        other.restore(&snap).expect("restores");
        assert_eq!(other.shared().last_index(), 5);
        assert_eq!(other.shared().snapshot_index(), 5);
        assert_eq!(other.shared().snapshots_installed(), 1);
        assert!(matches!(
            other.shared().watch_from(3),
            WatchBatch::Snapshot { index: 5, .. }
        ));
        assert!(matches!(other.shared().watch_from(6), WatchBatch::Records(r) if r.is_empty()));
    }
}
