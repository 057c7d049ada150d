//! The metadata quorum's durable Raft log, on Chronik's own storage engine.
//!
//! The log on disk is an operation log of [`LogStore`] calls: every write (entries, hard state,
//! membership, snapshots, compaction) is one frame in the internal log `DIR/raft/`, and reopening
//! replays those frames into an in-memory [`MemLogStore`] that answers raft-rs's reads. `sync`
//! is one fsync for everything a Ready wrote. When the operation log has grown well past what it
//! describes, it is rewritten as a checkpoint (snapshot, remaining entries, hard and conf state)
//! in a fresh segment, and the segments before it are deleted.

use std::sync::Arc;

use chronik_raft::{ConfState, Entry, HardState, LogStore, MemLogStore, RaftError, Snapshot};
use chronik_wal::{DataDir, LogConfig, PartitionLog};
use protobuf::Message as _;
use raft::{GetEntriesContext, RaftState};

/// The internal log's directory name inside the data dir.
pub const RAFT_LOG_DIR: &str = "raft";

/// Rewrite the operation log once it is this much larger than its last checkpoint.
const CHECKPOINT_AFTER_BYTES: u64 = 64 * 1024 * 1024;
/// Entries per append frame, keeping frames far below the storage engine's frame limit.
const ENTRIES_PER_FRAME: usize = 1024;

const OP_APPEND: u8 = 1;
const OP_HARD_STATE: u8 = 2;
const OP_CONF_STATE: u8 = 3;
const OP_APPLY_SNAPSHOT: u8 = 4;
const OP_STORE_SNAPSHOT: u8 = 5;
const OP_COMPACT: u8 = 6;

/// A durable [`LogStore`].
pub struct WalLogStore {
    mem: MemLogStore,
    log: Arc<PartitionLog>,
    /// Whether anything has ever been written (a brand-new node bootstraps or waits to join).
    initialized: bool,
    /// Operation-log size right after the last checkpoint.
    checkpoint_bytes: u64,
}

fn storage_err(op: &'static str, e: impl std::fmt::Display) -> RaftError {
    RaftError::storage(op, e)
}

impl WalLogStore {
    /// Opens the Raft log in `data`, replaying it. A corrupt frame that passed the storage
    /// engine's CRC but does not decode is an error: the node must not start on a log it cannot
    /// read.
    pub fn open(data: &DataDir) -> Result<Self, RaftError> {
        let config = LogConfig {
            retention_ms: None,
            segment_ms: None,
            ..LogConfig::default()
        };
        refuse_lost_entries(&data.root().join(RAFT_LOG_DIR))?;
        let (log, _) = data
            .open_internal_log(RAFT_LOG_DIR, config)
            .map_err(|e| storage_err("open the Raft log", e))?;
        let mut mem = MemLogStore::new();
        let mut from = log.start_offset();
        let end = log.end_offset();
        while from < end {
            // One frame per read: operation payloads are not self-delimiting.
            let read = log
                .read(from, 1)
                .map_err(|e| storage_err("read the Raft log", e))?;
            let (&kind, body) = read.data.split_first().ok_or_else(|| {
                storage_err("read the Raft log", format!("empty frame at {from}"))
            })?;
            replay(&mut mem, kind, body)?;
            from = read.next_offset;
        }
        mem.sync()?;
        let initialized = end > log.start_offset();
        let checkpoint_bytes = log.size_bytes();
        Ok(Self {
            mem,
            log,
            initialized,
            checkpoint_bytes,
        })
    }

    /// Whether this node has any Raft state on disk.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    fn write_op(&mut self, kind: u8, body: &[u8]) -> Result<(), RaftError> {
        let mut payload = Vec::with_capacity(body.len() + 1);
        payload.push(kind);
        payload.extend_from_slice(body);
        let info = self
            .log
            .append_raw(&payload, 1, 0, 0)
            .map_err(|e| storage_err("append to the Raft log", e))?;
        drop(info.durable);
        self.initialized = true;
        Ok(())
    }

    fn write_entries(&mut self, entries: &[Entry]) -> Result<(), RaftError> {
        for chunk in entries.chunks(ENTRIES_PER_FRAME) {
            let mut body = Vec::new();
            for e in chunk {
                let bytes = e
                    .write_to_bytes()
                    .map_err(|e| storage_err("encode an entry", e))?;
                body.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                body.extend_from_slice(&bytes);
            }
            self.write_op(OP_APPEND, &body)?;
        }
        Ok(())
    }

    /// Rewrites the operation log as the smallest sequence that rebuilds the current store.
    fn checkpoint(&mut self) -> Result<(), RaftError> {
        self.log
            .roll_segment()
            .map_err(|e| storage_err("roll the Raft log", e))?;
        let start = self.log.end_offset();
        let snapshot = self.mem.last_snapshot()?;
        if snapshot.get_metadata().index > 0 {
            let bytes = snapshot
                .write_to_bytes()
                .map_err(|e| storage_err("encode a snapshot", e))?;
            self.write_op(OP_APPLY_SNAPSHOT, &bytes)?;
        }
        let first = raft::Storage::first_index(&self.mem)?;
        let last = raft::Storage::last_index(&self.mem)?;
        let entries = raft::Storage::entries(
            &self.mem,
            first,
            last + 1,
            None,
            GetEntriesContext::empty(false),
        )?;
        self.write_entries(&entries)?;
        let state = raft::Storage::initial_state(&self.mem)?;
        self.write_op(OP_HARD_STATE, &encode(&state.hard_state)?)?;
        self.write_op(OP_CONF_STATE, &encode(&state.conf_state)?)?;
        self.log
            .flush()
            .map_err(|e| storage_err("sync the Raft log", e))?;
        self.log
            .delete_before(start)
            .map_err(|e| storage_err("delete old Raft log segments", e))?;
        self.checkpoint_bytes = self.log.size_bytes();
        Ok(())
    }
}

/// Refuses a Raft log whose recovery would cut anything but a torn tail. A torn tail is an
/// operation that was never synced, so nothing acknowledged depends on it; damage with valid
/// frames after it is damage to synced entries, and a voter that silently forgot entries it
/// acknowledged could elect a leader without them. Checked before recovery changes anything.
fn refuse_lost_entries(dir: &std::path::Path) -> Result<(), RaftError> {
    if !dir.exists() {
        return Ok(());
    }
    let options = chronik_wal::RecoveryOptions {
        opaque_payloads: true,
        ..chronik_wal::RecoveryOptions::default()
    };
    let plan = chronik_wal::plan_recovery(dir, RAFT_LOG_DIR, options)
        .map_err(|e| storage_err("check the Raft log", e))?;
    let Some(cut) = plan.cut else {
        return Ok(());
    };
    let valid_after =
        cut.segments_removed.len() as u64 + valid_frame_after(&cut.segment, cut.position)?;
    if valid_after == 0 {
        return Ok(());
    }
    Err(storage_err(
        "check the Raft log",
        format!(
            "{} is damaged at byte {} ({}) with synced entries after it; nothing was changed",
            cut.segment.display(),
            cut.position,
            cut.reason
        ),
    ))
}

/// 1 when a valid frame starts somewhere after `position` in `segment`, else 0.
fn valid_frame_after(segment: &std::path::Path, position: u64) -> Result<u64, RaftError> {
    let file = std::fs::File::open(segment).map_err(|e| storage_err("check the Raft log", e))?;
    let len = file
        .metadata()
        .map_err(|e| storage_err("check the Raft log", e))?
        .len();
    let found = chronik_wal::scan::resync(&file, segment, position + 1, len)
        .map_err(|e| storage_err("check the Raft log", e))?;
    Ok(u64::from(found.is_some()))
}

fn encode(msg: &impl protobuf::Message) -> Result<Vec<u8>, RaftError> {
    msg.write_to_bytes()
        .map_err(|e| storage_err("encode Raft state", e))
}

fn decode<M: protobuf::Message>(body: &[u8]) -> Result<M, RaftError> {
    M::parse_from_bytes(body).map_err(|e| storage_err("decode the Raft log", e))
}

/// Applies one logged operation to the in-memory store.
fn replay(mem: &mut MemLogStore, kind: u8, body: &[u8]) -> Result<(), RaftError> {
    match kind {
        OP_APPEND => mem.append(&decode_entries(body)?),
        OP_HARD_STATE => mem.set_hard_state(&decode(body)?),
        OP_CONF_STATE => mem.set_conf_state(&decode(body)?),
        OP_APPLY_SNAPSHOT => mem.apply_snapshot(decode(body)?),
        OP_STORE_SNAPSHOT => mem.store_snapshot(decode(body)?),
        OP_COMPACT => {
            let index: [u8; 8] = body
                .try_into()
                .map_err(|_| storage_err("decode the Raft log", "bad compact record"))?;
            mem.compact(u64::from_be_bytes(index))
        }
        other => Err(storage_err(
            "decode the Raft log",
            format!("unknown operation {other}"),
        )),
    }
}

fn decode_entries(mut body: &[u8]) -> Result<Vec<Entry>, RaftError> {
    let mut entries = Vec::new();
    while !body.is_empty() {
        let (len, rest) = body
            .split_first_chunk::<4>()
            .ok_or_else(|| storage_err("decode the Raft log", "truncated entry length"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > rest.len() {
            return Err(storage_err(
                "decode the Raft log",
                "entry length past the frame",
            ));
        }
        entries.push(decode(&rest[..len])?);
        body = &rest[len..];
    }
    Ok(entries)
}

impl raft::Storage for WalLogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.mem.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.mem.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.mem.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.mem.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.mem.last_index()
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        self.mem.snapshot(request_index, to)
    }
}

impl LogStore for WalLogStore {
    fn append(&mut self, entries: &[Entry]) -> Result<(), RaftError> {
        self.mem.append(entries)?;
        self.write_entries(entries)
    }

    fn set_hard_state(&mut self, hard_state: &HardState) -> Result<(), RaftError> {
        self.mem.set_hard_state(hard_state)?;
        self.write_op(OP_HARD_STATE, &encode(hard_state)?)
    }

    fn set_conf_state(&mut self, conf_state: &ConfState) -> Result<(), RaftError> {
        self.mem.set_conf_state(conf_state)?;
        self.write_op(OP_CONF_STATE, &encode(conf_state)?)
    }

    fn apply_snapshot(&mut self, snapshot: Snapshot) -> Result<(), RaftError> {
        let bytes = encode(&snapshot)?;
        self.mem.apply_snapshot(snapshot)?;
        self.write_op(OP_APPLY_SNAPSHOT, &bytes)
    }

    fn store_snapshot(&mut self, snapshot: Snapshot) -> Result<(), RaftError> {
        let bytes = encode(&snapshot)?;
        self.mem.store_snapshot(snapshot)?;
        self.write_op(OP_STORE_SNAPSHOT, &bytes)
    }

    fn compact(&mut self, index: u64) -> Result<(), RaftError> {
        self.mem.compact(index)?;
        self.write_op(OP_COMPACT, &index.to_be_bytes())
    }

    fn last_snapshot(&self) -> Result<Snapshot, RaftError> {
        self.mem.last_snapshot()
    }

    fn sync(&mut self) -> Result<(), RaftError> {
        self.log
            .flush()
            .map_err(|e| storage_err("sync the Raft log", e))?;
        self.mem.sync()?;
        if self.log.size_bytes() > self.checkpoint_bytes + CHECKPOINT_AFTER_BYTES {
            self.checkpoint()?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "raft_store_tests.rs"]
mod tests;
