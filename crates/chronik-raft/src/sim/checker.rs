//! Safety checks run after every step of every simulated node.
//!
//! - Committed log entries never diverge between nodes and never change (a global record of
//!   committed (index, term, data)).
//! - State machines apply the same command with the same resulting hash at each index, in
//!   increasing index order; a restored snapshot matches the recorded hash.
//! - At most one leader per term.
//! - A new leader holds every entry known to be committed in an earlier term.
//! - An acknowledged proposal's command is the one recorded at its index.

use std::collections::BTreeMap;

use bytes::Bytes;
use raft::{GetEntriesContext, Storage};

use super::machine::MachineEvent;
use crate::{MemLogStore, ReplicaStatus, Role};

/// A committed entry as first observed.
struct Committed {
    term: u64,
    data: Bytes,
    /// Smallest term of a node that saw it committed: the entry was committed in this term or
    /// earlier, so every leader of a later term must hold it.
    seen_in_term: u64,
}

#[derive(Default)]
struct NodeWatch {
    checked_commit: u64,
    machine_last: u64,
    led_term: u64,
}

#[derive(Default)]
pub(crate) struct Checker {
    log: BTreeMap<u64, Committed>,
    applied: BTreeMap<u64, (Vec<u8>, u64)>,
    leaders: BTreeMap<u64, u64>,
    nodes: BTreeMap<u64, NodeWatch>,
}

type Check = Result<(), String>;

impl Checker {
    /// Forgets per-incarnation progress of a restarted node so its stored log is re-checked.
    pub(crate) fn node_restarted(&mut self, node: u64) {
        self.nodes.insert(node, NodeWatch::default());
    }

    pub(crate) fn committed_entries(&self) -> usize {
        self.log.len()
    }

    /// Runs the per-node checks after `node` processed a Ready.
    pub(crate) fn check_node(&mut self, status: &ReplicaStatus, store: &MemLogStore) -> Check {
        self.check_leader(status)?;
        self.check_log(status, store)?;
        let watch = self.nodes.entry(status.id).or_default();
        if status.role == Role::Leader && watch.led_term != status.term {
            watch.led_term = status.term;
            self.check_completeness(status, store)?;
        }
        Ok(())
    }

    fn check_leader(&mut self, status: &ReplicaStatus) -> Check {
        if status.role != Role::Leader {
            return Ok(());
        }
        let leader = *self.leaders.entry(status.term).or_insert(status.id);
        if leader != status.id {
            return Err(format!(
                "two leaders in term {}: nodes {leader} and {}",
                status.term, status.id
            ));
        }
        Ok(())
    }

    fn check_log(&mut self, status: &ReplicaStatus, store: &MemLogStore) -> Check {
        let watch = self.nodes.entry(status.id).or_default();
        let first = store.first_index().map_err(|e| e.to_string())?;
        let last = store.last_index().map_err(|e| e.to_string())?;
        let from = (watch.checked_commit + 1).max(first);
        let to = status.commit_index.min(last);
        watch.checked_commit = watch.checked_commit.max(to);
        if from > to {
            return Ok(());
        }
        let entries = store
            .entries(from, to + 1, None, GetEntriesContext::empty(false))
            .map_err(|e| format!("node {}: reading committed entries: {e}", status.id))?;
        for entry in entries {
            let seen = self.log.entry(entry.index).or_insert_with(|| Committed {
                term: entry.term,
                data: entry.data.clone(),
                seen_in_term: status.term,
            });
            seen.seen_in_term = seen.seen_in_term.min(status.term);
            if seen.term != entry.term || seen.data != entry.data {
                return Err(format!(
                    "committed entry {} diverged on node {}: recorded term {} {:?}, found term {} {:?}",
                    entry.index, status.id, seen.term, seen.data, entry.term, entry.data
                ));
            }
        }
        Ok(())
    }

    /// Leader completeness: everything committed in an earlier term is in the new leader's log.
    fn check_completeness(&self, status: &ReplicaStatus, store: &MemLogStore) -> Check {
        let first = store.first_index().map_err(|e| e.to_string())?;
        for (index, committed) in self.log.range(first..) {
            if committed.seen_in_term >= status.term {
                continue;
            }
            if store.term(*index).ok() != Some(committed.term) {
                return Err(format!(
                    "node {} leads term {} without committed entry {index} (term {})",
                    status.id, status.term, committed.term
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn on_machine_event(&mut self, event: MachineEvent) -> Check {
        match event {
            MachineEvent::Applied {
                node,
                index,
                command,
                hash,
            } => {
                let watch = self.nodes.entry(node).or_default();
                if index <= watch.machine_last {
                    return Err(format!(
                        "node {node} applied index {index} after index {}",
                        watch.machine_last
                    ));
                }
                watch.machine_last = index;
                let recorded = self.applied.entry(index).or_insert((command.clone(), hash));
                if *recorded != (command.clone(), hash) {
                    return Err(format!(
                        "node {node} applied {:?} (hash {hash:x}) at index {index}; others applied {:?} (hash {:x})",
                        Bytes::from(command),
                        Bytes::from(recorded.0.clone()),
                        recorded.1
                    ));
                }
                Ok(())
            }
            MachineEvent::Restored {
                node,
                last_index,
                hash,
            } => {
                self.nodes.entry(node).or_default().machine_last = last_index;
                let expected = match last_index {
                    0 => Some(0),
                    i => self.applied.get(&i).map(|(_, h)| *h),
                };
                if expected != Some(hash) {
                    return Err(format!(
                        "node {node} restored a snapshot at command index {last_index} with hash \
                         {hash:x}, expected {expected:x?}"
                    ));
                }
                Ok(())
            }
        }
    }

    /// The proposer's acknowledgement must name the command recorded at its index.
    pub(crate) fn check_ack(&self, index: u64, command: &[u8], result: &[u8]) -> Check {
        match self.applied.get(&index) {
            Some((cmd, hash)) if cmd == command && hash.to_le_bytes() == result => Ok(()),
            other => Err(format!(
                "acknowledged {:?} at index {index} but the record holds {:?}",
                Bytes::copy_from_slice(command),
                other.map(|(cmd, hash)| (Bytes::copy_from_slice(cmd), hash))
            )),
        }
    }
}
