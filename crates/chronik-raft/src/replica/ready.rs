//! The Ready loop, in the order raft-rs prescribes.
//!
//! For each Ready: install the snapshot (if any), persist entries and hard state and sync them,
//! collect `messages()` then `persisted_messages()`, apply committed entries, `advance`; then
//! the same for the LightReady (commit index, messages, committed entries) and
//! `advance_apply`. Messages leave only when `process_ready` returns, after the last sync.

use protobuf::Message as _;
use raft::StateRole;
use raft::eraftpb::{ConfChange, ConfChangeV2, ConfState, Entry, EntryType, Message, Snapshot};

use super::Replica;
use crate::{LogStore, Result, StateMachine};

/// What one [`Replica::process_ready`] call produced.
#[derive(Debug, Default)]
pub struct ReadyOutput {
    /// Messages to peers, in the order raft produced them; hand them to per-peer ordered queues.
    pub messages: Vec<Message>,
    /// This node's proposals that were applied, with their results.
    pub applied: Vec<Applied>,
    /// This node's proposals that will not be applied (or whose outcome cannot be known).
    pub dropped: Vec<Dropped>,
    /// Index of a snapshot received from the leader and installed, if one was.
    pub snapshot_installed: Option<u64>,
}

/// An applied proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub request_id: u64,
    pub index: u64,
    pub outcome: ApplyOutcome,
}

/// What applying an entry produced.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyOutcome {
    /// The state machine's result bytes.
    Data(Vec<u8>),
    /// The membership in force after the change.
    Membership(ConfState),
    /// The change committed but raft refused to apply it (on every replica alike).
    MembershipRejected(String),
}

/// A proposal that will not be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    pub request_id: u64,
    pub reason: &'static str,
}

const OVERWRITTEN: &str = "a new leader replaced the entry before it committed";
const SUPERSEDED: &str = "a snapshot from the leader replaced the log; the outcome is unknown";

impl<S: LogStore, M: StateMachine> Replica<S, M> {
    /// Handles every pending Ready. All store writes are synced before this returns, and
    /// entries and hard state are synced before anything is applied.
    pub fn process_ready(&mut self) -> Result<ReadyOutput> {
        let mut out = ReadyOutput::default();
        while self.node.has_ready() {
            self.handle_ready(&mut out)?;
        }
        self.reconcile_pending(&mut out);
        self.maybe_snapshot()?;
        self.sync_store()?;
        Ok(out)
    }

    fn handle_ready(&mut self, out: &mut ReadyOutput) -> Result<()> {
        let mut rd = self.node.ready();
        if !rd.snapshot().is_empty() {
            self.install_snapshot(rd.snapshot().clone(), out)?;
        }
        let entries = rd.take_entries();
        if !entries.is_empty() {
            self.write(|s| s.append(&entries))?;
        }
        if let Some(hs) = rd.hs() {
            let hs = hs.clone();
            self.write(|s| s.set_hard_state(&hs))?;
        }
        self.sync_store()?;
        out.messages.extend(rd.take_messages());
        out.messages.extend(rd.take_persisted_messages());
        self.apply_committed(rd.take_committed_entries(), out)?;

        let mut light = self.node.advance(rd);
        if light.commit_index().is_some() {
            let hs = self.node.raft.hard_state();
            self.write(|s| s.set_hard_state(&hs))?;
        }
        out.messages.extend(light.take_messages());
        self.apply_committed(light.take_committed_entries(), out)?;
        self.node.advance_apply();
        self.after_raft_call();
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: Snapshot, out: &mut ReadyOutput) -> Result<()> {
        let index = snapshot.get_metadata().index;
        self.machine.restore(&snapshot.data)?;
        self.write(|s| s.apply_snapshot(snapshot))?;
        self.applied = index;
        self.snapshot_index = index;
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > index {
                break;
            }
            let request_id = entry.remove().request_id;
            out.dropped.push(Dropped {
                request_id,
                reason: SUPERSEDED,
            });
        }
        out.snapshot_installed = Some(index);
        Ok(())
    }

    fn apply_committed(&mut self, entries: Vec<Entry>, out: &mut ReadyOutput) -> Result<()> {
        for entry in entries {
            if entry.index <= self.applied {
                continue;
            }
            let outcome = match entry.get_entry_type() {
                EntryType::EntryNormal if entry.data.is_empty() => None,
                EntryType::EntryNormal => Some(ApplyOutcome::Data(
                    self.machine.apply(entry.index, &entry.data),
                )),
                EntryType::EntryConfChange | EntryType::EntryConfChangeV2 => {
                    Some(self.apply_membership(&entry)?)
                }
            };
            self.applied = entry.index;
            self.resolve_pending(&entry, outcome, out);
        }
        Ok(())
    }

    fn apply_membership(&mut self, entry: &Entry) -> Result<ApplyOutcome> {
        let applied = if entry.get_entry_type() == EntryType::EntryConfChange {
            ConfChange::parse_from_bytes(&entry.data).map(|cc| self.node.apply_conf_change(&cc))
        } else {
            ConfChangeV2::parse_from_bytes(&entry.data).map(|cc| self.node.apply_conf_change(&cc))
        };
        let conf_state = match applied {
            Err(e) => {
                return Ok(ApplyOutcome::MembershipRejected(format!(
                    "undecodable: {e}"
                )));
            }
            Ok(Err(e)) => return Ok(ApplyOutcome::MembershipRejected(e.to_string())),
            Ok(Ok(cs)) => cs,
        };
        self.write(|s| s.set_conf_state(&conf_state))?;
        self.conf_changed = true;
        Ok(ApplyOutcome::Membership(conf_state))
    }

    /// Answers the proposal whose entry was just applied; index plus term identify it.
    fn resolve_pending(
        &mut self,
        entry: &Entry,
        outcome: Option<ApplyOutcome>,
        out: &mut ReadyOutput,
    ) {
        while let Some(first) = self.pending.first_entry() {
            let index = *first.key();
            if index > entry.index {
                break;
            }
            let pending = first.remove();
            match (&outcome, index == entry.index && pending.term == entry.term) {
                (Some(outcome), true) => out.applied.push(Applied {
                    request_id: pending.request_id,
                    index,
                    outcome: outcome.clone(),
                }),
                _ => out.dropped.push(Dropped {
                    request_id: pending.request_id,
                    reason: OVERWRITTEN,
                }),
            }
        }
    }

    /// A deposed leader's proposals whose entries were truncated will never apply: fail them
    /// now instead of when (if ever) the log grows back to their index.
    fn reconcile_pending(&mut self, out: &mut ReadyOutput) {
        if self.pending.is_empty() || self.node.raft.state == StateRole::Leader {
            return;
        }
        let log = &self.node.raft.raft_log;
        let gone: Vec<u64> = (self.pending.iter())
            .filter(|(index, p)| log.term(**index).ok() != Some(p.term))
            .map(|(index, _)| *index)
            .collect();
        for index in gone {
            if let Some(pending) = self.pending.remove(&index) {
                out.dropped.push(Dropped {
                    request_id: pending.request_id,
                    reason: OVERWRITTEN,
                });
            }
        }
    }

    /// Snapshots the state machine and compacts the log when enough has been applied, or when
    /// the membership changed (a new member can only start from a snapshot that includes it).
    fn maybe_snapshot(&mut self) -> Result<()> {
        let due = self.applied >= self.snapshot_index + self.cfg.snapshot_interval;
        if self.applied < self.replay_until
            || self.applied <= self.snapshot_index
            || !(due || self.conf_changed)
        {
            return Ok(());
        }
        let index = self.applied;
        let mut snapshot = Snapshot::default();
        snapshot.data = self.machine.snapshot().into();
        let meta = snapshot.mut_metadata();
        meta.index = index;
        meta.term = self.node.store().0.term(index)?;
        meta.set_conf_state(self.node.raft.prs().conf().to_conf_state());
        self.write(|s| s.store_snapshot(snapshot))?;
        self.snapshot_index = index;
        self.conf_changed = false;
        let upto = index.saturating_sub(self.cfg.retained_entries);
        if upto >= self.node.store().0.first_index()? {
            self.write(|s| s.compact(upto))?;
        }
        Ok(())
    }

    fn write(&mut self, op: impl FnOnce(&mut S) -> Result<()>) -> Result<()> {
        self.unsynced = true;
        op(&mut self.node.mut_store().0)
    }

    fn sync_store(&mut self) -> Result<()> {
        if self.unsynced {
            self.node.mut_store().0.sync()?;
            self.unsynced = false;
        }
        Ok(())
    }
}
