//! The durable Raft log contract.
//!
//! raft-rs reads the log through [`raft::Storage`]; the replica core writes it through
//! [`LogStore`]. Both views must agree at all times: after any `LogStore` write, the
//! `raft::Storage` methods answer from the new state, synced or not.
//!
//! # Durability contract
//!
//! Writes may be buffered; [`LogStore::sync`] makes every earlier write durable (fsync or
//! equivalent) and is called only when something was written. Within
//! [`crate::Replica::process_ready`], for each Ready:
//!
//! 1. a snapshot from the leader (`apply_snapshot`), the new entries (`append`) and the hard
//!    state (`set_hard_state`) are written, then `sync` runs, *before* any committed entry is
//!    applied and before raft is told they are persisted (`advance`);
//! 2. the commit index from the LightReady (`set_hard_state`), membership changes met while
//!    applying (`set_conf_state`), and the replica's own snapshot and compaction
//!    (`store_snapshot`, `compact`) are written afterwards and synced before `process_ready`
//!    returns.
//!
//! No outbound message and no proposal result leaves `process_ready` before the final sync,
//! so a vote or an append acknowledgement never promises state that is not on disk. After a
//! crash the store must reopen to exactly the state of its last `sync` (a torn tail after it
//! may be cut), with two orderings preserved: `apply_snapshot` is atomic (old state or the
//! whole snapshot), and a `compact` never becomes durable before the snapshot it relies on.

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::Result;

/// Durable storage for one replica's Raft log, hard state, membership and latest snapshot.
///
/// Indices: the log holds entries `first_index()..=last_index()`; `term(first_index() - 1)`
/// stays answerable (it is the compaction point, equal to or below the stored snapshot).
pub trait LogStore: raft::Storage {
    /// Appends entries that follow or overlap the log. Any existing entry at an index in
    /// `entries` and everything after it is discarded first (Raft's conflicting suffix).
    /// Entries at or below the compaction point are already committed and are skipped.
    fn append(&mut self, entries: &[Entry]) -> Result<()>;

    /// Records term, vote and commit index.
    fn set_hard_state(&mut self, hard_state: &HardState) -> Result<()>;

    /// Records the membership in force after the last applied configuration change.
    fn set_conf_state(&mut self, conf_state: &ConfState) -> Result<()>;

    /// Replaces the whole log with a snapshot received from the leader: drops every entry,
    /// moves the compaction point to the snapshot, raises the hard state's term and commit to
    /// the snapshot's, and takes its membership.
    fn apply_snapshot(&mut self, snapshot: Snapshot) -> Result<()>;

    /// Stores a snapshot this node took of its own state machine. The log is left alone; call
    /// [`LogStore::compact`] afterwards. An older snapshot than the stored one is ignored.
    fn store_snapshot(&mut self, snapshot: Snapshot) -> Result<()>;

    /// Discards every entry with an index `<= index`. `index` must not exceed the stored
    /// snapshot's index (those entries could then no longer reach a lagging follower).
    fn compact(&mut self, index: u64) -> Result<()>;

    /// The snapshot most recently stored or applied (empty, index 0, when there is none).
    /// `raft::Storage::snapshot` should return the same, or `SnapshotTemporarilyUnavailable`
    /// when there is none or it is older than `request_index`.
    fn last_snapshot(&self) -> Result<Snapshot>;

    /// Makes every earlier write durable.
    fn sync(&mut self) -> Result<()>;
}

/// The snapshot an initial member of a new cluster starts from: index 1, term 1, the given
/// voters, and `state` (the serialized empty state machine).
///
/// Every initial member applies the same bootstrap snapshot; nodes added later start with an
/// empty store and receive a snapshot from the leader, so no node ever needs log entries from
/// before index 2.
pub fn bootstrap_snapshot(voters: &[u64], state: Vec<u8>) -> Snapshot {
    let mut snapshot = Snapshot {
        data: state.into(),
        ..Default::default()
    };
    let meta = snapshot.mut_metadata();
    meta.index = 1;
    meta.term = 1;
    meta.mut_conf_state().voters = voters.to_vec();
    snapshot
}

/// Index of a snapshot's last included entry (0 for an empty snapshot).
pub(crate) fn snapshot_index(snapshot: &Snapshot) -> u64 {
    snapshot.get_metadata().index
}

/// What `RawNode` actually owns: the user's store, with one rule added to snapshot hand-out.
///
/// A snapshot whose membership does not include the requesting peer would be refused by it
/// (raft-rs ignores such snapshots), leaving the leader waiting for a reply that never comes.
/// Reporting it as temporarily unavailable makes raft retry on the next heartbeat, by which
/// time the replica has taken a snapshot that includes the new member.
pub(crate) struct RaftStorage<S>(pub(crate) S);

fn includes(conf: &ConfState, peer: u64) -> bool {
    (conf.voters.iter())
        .chain(&conf.learners)
        .chain(&conf.voters_outgoing)
        .any(|id| *id == peer)
}

impl<S: LogStore> raft::Storage for RaftStorage<S> {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.0.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.0.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.0.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.0.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.0.last_index()
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let snapshot = self.0.snapshot(request_index, to)?;
        if !includes(snapshot.get_metadata().get_conf_state(), to) {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(snapshot)
    }
}
