//! In-memory [`LogStore`]: the simulator's store and the reference for durable implementations.
//!
//! "Durable" here means "survives a simulated crash": the simulator keeps the store object and
//! throws the replica and its state machine away. [`MemLogStore::is_synced`] lets it check that
//! the replica never left writes unsynced when it returned.

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::storage::{LogStore, snapshot_index};
use crate::{RaftError, Result};

/// A [`LogStore`] held entirely in memory.
#[derive(Clone, Default, Debug)]
pub struct MemLogStore {
    hard_state: HardState,
    conf_state: ConfState,
    snapshot: Snapshot,
    /// Index and term of the entry just before `entries[0]` (the compaction point).
    offset_index: u64,
    offset_term: u64,
    entries: Vec<Entry>,
    unsynced_writes: u64,
    syncs: u64,
}

impl MemLogStore {
    /// An empty store: a node that joins an existing cluster starts from this.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when every write has been followed by a [`LogStore::sync`].
    pub fn is_synced(&self) -> bool {
        self.unsynced_writes == 0
    }

    /// How many times [`LogStore::sync`] ran (a proxy for fsyncs).
    pub fn sync_count(&self) -> u64 {
        self.syncs
    }

    fn first(&self) -> u64 {
        self.offset_index + 1
    }

    fn last(&self) -> u64 {
        self.offset_index + self.entries.len() as u64
    }

    /// Position in `entries` of a stored index (caller checks bounds).
    fn pos(&self, index: u64) -> usize {
        (index - self.offset_index - 1) as usize
    }

    fn wrote(&mut self) {
        self.unsynced_writes += 1;
    }
}

fn store_err(e: StorageError) -> raft::Error {
    raft::Error::Store(e)
}

impl raft::Storage for MemLogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first() {
            return Err(store_err(StorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(store_err(StorageError::Unavailable));
        }
        let mut out = self.entries[self.pos(low)..self.pos(high)].to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.offset_index {
            return Ok(self.offset_term);
        }
        if idx < self.offset_index {
            return Err(store_err(StorageError::Compacted));
        }
        if idx > self.last() {
            return Err(store_err(StorageError::Unavailable));
        }
        Ok(self.entries[self.pos(idx)].term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let index = snapshot_index(&self.snapshot);
        if index == 0 || index < request_index {
            // raft-rs retries later; the replica takes snapshots on its own schedule.
            return Err(store_err(StorageError::SnapshotTemporarilyUnavailable));
        }
        Ok(self.snapshot.clone())
    }
}

impl LogStore for MemLogStore {
    fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let fresh: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.index > self.offset_index)
            .collect();
        let Some(head) = fresh.first() else {
            return Ok(());
        };
        if head.index > self.last() + 1 {
            return Err(RaftError::storage(
                "append entries",
                format!(
                    "gap: log ends at {} but entries start at {}",
                    self.last(),
                    head.index
                ),
            ));
        }
        let keep = self.pos(head.index);
        self.entries.truncate(keep);
        self.entries.extend(fresh.into_iter().cloned());
        self.wrote();
        Ok(())
    }

    fn set_hard_state(&mut self, hard_state: &HardState) -> Result<()> {
        self.hard_state = hard_state.clone();
        self.wrote();
        Ok(())
    }

    fn set_conf_state(&mut self, conf_state: &ConfState) -> Result<()> {
        self.conf_state = conf_state.clone();
        self.wrote();
        Ok(())
    }

    fn apply_snapshot(&mut self, snapshot: Snapshot) -> Result<()> {
        let meta = snapshot.get_metadata();
        if meta.index < self.offset_index {
            return Err(RaftError::storage(
                "apply snapshot",
                format!(
                    "snapshot index {} is below the compaction point {}",
                    meta.index, self.offset_index
                ),
            ));
        }
        self.entries.clear();
        self.offset_index = meta.index;
        self.offset_term = meta.term;
        self.hard_state.term = self.hard_state.term.max(meta.term);
        self.hard_state.commit = self.hard_state.commit.max(meta.index);
        self.conf_state = meta.get_conf_state().clone();
        self.snapshot = snapshot;
        self.wrote();
        Ok(())
    }

    fn store_snapshot(&mut self, snapshot: Snapshot) -> Result<()> {
        let index = snapshot_index(&snapshot);
        if index <= snapshot_index(&self.snapshot) {
            return Ok(());
        }
        if index > self.last() {
            return Err(RaftError::storage(
                "store snapshot",
                format!(
                    "snapshot index {index} is beyond the log end {}",
                    self.last()
                ),
            ));
        }
        self.snapshot = snapshot;
        self.wrote();
        Ok(())
    }

    fn compact(&mut self, index: u64) -> Result<()> {
        if index <= self.offset_index {
            return Ok(());
        }
        let covered = snapshot_index(&self.snapshot);
        if index > covered || index > self.last() {
            return Err(RaftError::storage(
                "compact the log",
                format!(
                    "index {index} is beyond the snapshot ({covered}) or the log end ({})",
                    self.last()
                ),
            ));
        }
        let pos = self.pos(index);
        let term = self.entries[pos].term;
        self.entries.drain(..=pos);
        self.offset_index = index;
        self.offset_term = term;
        self.wrote();
        Ok(())
    }

    fn last_snapshot(&self) -> Result<Snapshot> {
        Ok(self.snapshot.clone())
    }

    fn sync(&mut self) -> Result<()> {
        self.unsynced_writes = 0;
        self.syncs += 1;
        Ok(())
    }
}

#[cfg(test)]
#[path = "mem_store_tests.rs"]
mod tests;
