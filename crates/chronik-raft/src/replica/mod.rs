//! The synchronous replica core: one raft-rs `RawNode`, its durable log and its state machine.
//!
//! Nothing here blocks on the network or spawns anything; the caller feeds ticks and messages,
//! calls [`Replica::process_ready`] and ships the returned messages in order. The same core runs
//! under the async driver in production and under the deterministic simulator in tests.

mod jitter;
mod ready;

use std::collections::BTreeMap;

use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfChangeV2, Message, MessageType};
use raft::{ProgressState, RawNode, SnapshotStatus, StateRole};

use crate::logging::raft_logger;
use crate::storage::{RaftStorage, snapshot_index};
use crate::{LogStore, RaftError, ReplicaConfig, Result, StateMachine};

pub use ready::{Applied, ApplyOutcome, Dropped, ReadyOutput};

/// A membership change, applied one voter at a time so no joint configuration is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    AddVoter(u64),
    RemoveVoter(u64),
}

/// Where this replica stands in the current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// A point-in-time view of a replica, for status commands, metrics and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub id: u64,
    pub role: Role,
    pub term: u64,
    pub leader_id: Option<u64>,
    pub commit_index: u64,
    pub applied_index: u64,
    pub last_index: u64,
    /// Sorted voter ids of the configuration in force.
    pub voters: Vec<u64>,
    /// A leader that has heard from a quorum since its last check-quorum round (about one
    /// election timeout): one cut off from its peers stops being sure of this well before
    /// it steps down, and should not act on what it cannot hear (broker heartbeats).
    pub quorum_active: bool,
    /// On a leader, the highest log index each voter is known to hold (this node's last
    /// index for itself), in voter order; empty elsewhere, since only a leader tracks it.
    pub voter_match: Vec<(u64, u64)>,
}

/// A proposal this node accepted as leader, awaiting its entry's application.
#[derive(Clone, Copy, Debug)]
struct Pending {
    term: u64,
    request_id: u64,
}

/// One Raft replica: a `RawNode` over a [`LogStore`] feeding a [`StateMachine`].
pub struct Replica<S: LogStore, M: StateMachine> {
    node: RawNode<RaftStorage<S>>,
    machine: M,
    cfg: ReplicaConfig,
    applied: u64,
    snapshot_index: u64,
    /// Commit index found at startup: no snapshot is taken while replaying up to it, because
    /// the stored membership may be ahead of the replayed state until then.
    replay_until: u64,
    /// A configuration change was applied since the last snapshot: new members need a
    /// snapshot that includes them.
    conf_changed: bool,
    /// The store holds writes not yet synced.
    unsynced: bool,
    /// Accepted proposals by log index; index and term identify the entry uniquely.
    pending: BTreeMap<u64, Pending>,
    /// Ticks each follower has spent waiting for a snapshot.
    snapshot_waits: BTreeMap<u64, usize>,
    jitter: Option<jitter::ElectionJitter>,
}

impl<S: LogStore, M: StateMachine> Replica<S, M> {
    /// Opens a replica over `store`, restoring `machine` from the store's latest snapshot; the
    /// committed log after it is replayed by the following `process_ready` calls.
    pub fn new(cfg: ReplicaConfig, store: S, mut machine: M) -> Result<Self> {
        cfg.validate()?;
        let snapshot = store.last_snapshot()?;
        let applied = snapshot_index(&snapshot);
        if applied > 0 {
            machine.restore(&snapshot.data)?;
        }
        let replay_until = store.initial_state()?.hard_state.commit;
        let node = RawNode::new(&cfg.to_raft(applied), RaftStorage(store), &raft_logger())?;
        let jitter = cfg.election_seed.map(jitter::ElectionJitter::new);
        let mut replica = Replica {
            node,
            machine,
            cfg,
            applied,
            snapshot_index: applied,
            replay_until,
            conf_changed: false,
            unsynced: false,
            pending: BTreeMap::new(),
            snapshot_waits: BTreeMap::new(),
            jitter,
        };
        replica.after_raft_call();
        Ok(replica)
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.cfg.id
    }

    /// Advances the logical clock by one tick (heartbeats, elections, snapshot retries).
    pub fn tick(&mut self) {
        self.node.tick();
        self.retry_stalled_snapshots();
        self.after_raft_call();
    }

    /// Feeds one message from a peer.
    pub fn step(&mut self, msg: Message) -> Result<()> {
        if msg.to != self.cfg.id {
            return Err(RaftError::Misrouted {
                to: msg.to,
                local: self.cfg.id,
            });
        }
        // Proposals are only accepted locally, on the leader, where they are tracked.
        if msg.get_msg_type() == MessageType::MsgPropose {
            return Err(RaftError::ForbiddenMessage(msg.get_msg_type()));
        }
        let result = self.node.step(msg);
        self.after_raft_call();
        Ok(result?)
    }

    /// Starts an election now instead of waiting for the election timeout.
    pub fn campaign(&mut self) -> Result<()> {
        let result = self.node.campaign();
        self.after_raft_call();
        Ok(result?)
    }

    /// Proposes a command; its result comes back in a later [`ReadyOutput::applied`] under
    /// `request_id`, or its id in [`ReadyOutput::dropped`] if it can no longer be applied.
    pub fn propose(&mut self, command: Vec<u8>, request_id: u64) -> Result<()> {
        self.ensure_leader()?;
        if command.is_empty() {
            return Err(RaftError::EmptyProposal);
        }
        let result = self.node.propose(Vec::new(), command);
        self.after_raft_call();
        result.map_err(|e| refused(e, request_id))?;
        self.track(request_id);
        Ok(())
    }

    /// Proposes adding or removing one voter. A new voter starts from an empty store and
    /// receives a snapshot. One change at a time: a second one fails until the first applies.
    pub fn propose_conf_change(&mut self, change: MembershipChange, request_id: u64) -> Result<()> {
        self.ensure_leader()?;
        self.check_membership_change(change)?;
        let result = self
            .node
            .propose_conf_change(Vec::new(), conf_change(change));
        self.after_raft_call();
        result.map_err(|e| refused(e, request_id))?;
        let index = self.node.raft.raft_log.last_index();
        if self.node.raft.pending_conf_index != index {
            return Err(RaftError::ConfChangeRejected {
                reason: "raft refused it: another change is still in progress; retry later".into(),
            });
        }
        self.track(request_id);
        Ok(())
    }

    /// Asks the leader to hand leadership to `to` (a voter that is caught up).
    pub fn transfer_leader(&mut self, to: u64) -> Result<()> {
        self.ensure_leader()?;
        if !self.voters().contains(&to) {
            return Err(RaftError::ConfChangeRejected {
                reason: format!("node {to} is not a voter and cannot lead"),
            });
        }
        self.node.transfer_leader(to);
        self.after_raft_call();
        Ok(())
    }

    /// Tells raft a peer could not be reached, so it probes instead of streaming to it.
    pub fn report_unreachable(&mut self, peer: u64) {
        self.node.report_unreachable(peer);
    }

    /// True when `process_ready` has work to do.
    pub fn has_ready(&self) -> bool {
        self.node.has_ready()
    }

    /// The current view of this replica.
    pub fn status(&self) -> ReplicaStatus {
        let raft = &self.node.raft;
        ReplicaStatus {
            id: self.cfg.id,
            role: role_of(raft.state),
            term: raft.term,
            leader_id: (raft.leader_id != 0).then_some(raft.leader_id),
            commit_index: raft.raft_log.committed,
            applied_index: self.applied,
            last_index: raft.raft_log.last_index(),
            voters: self.voters(),
            quorum_active: self.quorum_active(),
            voter_match: self.voter_match(),
        }
    }

    fn voter_match(&self) -> Vec<(u64, u64)> {
        let raft = &self.node.raft;
        if raft.state != StateRole::Leader {
            return Vec::new();
        }
        (self.voters().into_iter())
            .map(|id| match id == self.cfg.id {
                true => (id, raft.raft_log.last_index()),
                false => (id, raft.prs().get(id).map_or(0, |pr| pr.matched)),
            })
            .collect()
    }

    fn quorum_active(&self) -> bool {
        let raft = &self.node.raft;
        if raft.state != StateRole::Leader {
            return false;
        }
        let active =
            |id: &u64| *id == self.cfg.id || raft.prs().get(*id).is_some_and(|pr| pr.recent_active);
        let majority = |voters: &[u64]| {
            voters.is_empty() || voters.iter().filter(|id| active(id)).count() > voters.len() / 2
        };
        let conf = raft.prs().conf().to_conf_state();
        majority(&conf.voters) && majority(&conf.voters_outgoing)
    }

    /// The durable store (read-only: all writes go through the Ready loop).
    pub fn store(&self) -> &S {
        &self.node.store().0
    }

    /// The state machine, for reads of applied state.
    pub fn machine(&self) -> &M {
        &self.machine
    }

    fn voters(&self) -> Vec<u64> {
        let mut voters = self.node.raft.prs().conf().to_conf_state().voters;
        voters.sort_unstable();
        voters
    }

    fn ensure_leader(&self) -> Result<()> {
        let raft = &self.node.raft;
        if raft.state == StateRole::Leader {
            return Ok(());
        }
        Err(RaftError::NotLeader {
            leader_id: (raft.leader_id != 0).then_some(raft.leader_id),
        })
    }

    fn check_membership_change(&self, change: MembershipChange) -> Result<()> {
        let voters = self.voters();
        let reason = match change {
            MembershipChange::AddVoter(0) => Some("node id 0 is reserved".to_owned()),
            MembershipChange::AddVoter(id) if voters.contains(&id) => {
                Some(format!("node {id} is already a voter"))
            }
            MembershipChange::RemoveVoter(id) if !voters.contains(&id) => {
                Some(format!("node {id} is not a voter"))
            }
            MembershipChange::RemoveVoter(_) if voters.len() == 1 => {
                Some("the last voter cannot be removed".to_owned())
            }
            _ if self.node.raft.has_pending_conf() => {
                Some("another membership change is still being applied; retry after it".into())
            }
            _ => None,
        };
        match reason {
            Some(reason) => Err(RaftError::ConfChangeRejected { reason }),
            None => Ok(()),
        }
    }

    /// Remembers the proposal just appended at the log's end.
    fn track(&mut self, request_id: u64) {
        let raft = &self.node.raft;
        let pending = Pending {
            term: raft.term,
            request_id,
        };
        self.pending.insert(raft.raft_log.last_index(), pending);
    }

    /// Re-sends snapshots whose delivery was never acknowledged (the message may be lost;
    /// raft-rs would otherwise wait for a report forever).
    fn retry_stalled_snapshots(&mut self) {
        if self.node.raft.state != StateRole::Leader {
            self.snapshot_waits.clear();
            return;
        }
        let mut waiting: Vec<u64> = (self.node.raft.prs().iter())
            .filter(|(_, pr)| pr.state == ProgressState::Snapshot)
            .map(|(id, _)| *id)
            .collect();
        waiting.sort_unstable();
        self.snapshot_waits.retain(|id, _| waiting.contains(id));
        for id in waiting {
            let ticks = self.snapshot_waits.entry(id).or_insert(0);
            *ticks += 1;
            if *ticks >= self.cfg.snapshot_timeout_ticks {
                *ticks = 0;
                self.node.report_snapshot(id, SnapshotStatus::Failure);
            }
        }
    }

    /// Bookkeeping after anything that may have changed raft's role or term.
    fn after_raft_call(&mut self) {
        if let Some(jitter) = &mut self.jitter {
            jitter.rerandomize(&mut self.node.raft);
        }
    }
}

fn role_of(state: StateRole) -> Role {
    match state {
        StateRole::Follower => Role::Follower,
        StateRole::PreCandidate => Role::PreCandidate,
        StateRole::Candidate => Role::Candidate,
        StateRole::Leader => Role::Leader,
    }
}

fn conf_change(change: MembershipChange) -> ConfChangeV2 {
    let (change_type, node_id) = match change {
        MembershipChange::AddVoter(id) => (ConfChangeType::AddNode, id),
        MembershipChange::RemoveVoter(id) => (ConfChangeType::RemoveNode, id),
    };
    let mut single = ConfChangeSingle::default();
    single.set_change_type(change_type);
    single.node_id = node_id;
    let mut cc = ConfChangeV2::default();
    cc.mut_changes().push(single);
    cc
}

/// Maps raft's refusal of a proposal to the error the proposer should see.
fn refused(err: raft::Error, request_id: u64) -> RaftError {
    match err {
        raft::Error::ProposalDropped => RaftError::ProposalDropped {
            request_id,
            reason: "the leader is handing over leadership, was removed, or has too much \
                     uncommitted data",
        },
        other => RaftError::Raft(other),
    }
}

#[cfg(test)]
mod tests;
