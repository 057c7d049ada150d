//! A simulated cluster of real [`Replica`]s over [`MemLogStore`]s and a hostile network.
//!
//! Time advances in units; each node ticks every [`TICK`] units at its own phase, so ticks
//! interleave with deliveries. Every random choice comes from one seeded RNG: a seed replays
//! exactly. A crash keeps only the node's store (what it synced); the state machine is rebuilt
//! from the store's snapshot and log on restart.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::checker::Checker;
use super::machine::{EventSink, SimMachine};
use super::network::{Faults, LOSSY, NetStats, Network, route};
use crate::{
    ApplyOutcome, MemLogStore, MembershipChange, ReadyOutput, Replica, ReplicaConfig,
    ReplicaStatus, Role, StateMachine, bootstrap_snapshot,
};
use crate::{LogStore, RaftError};

/// Simulated time units per Raft tick.
pub const TICK: u64 = 10;

type SimReplica = Replica<MemLogStore, SimMachine>;
type Check = Result<(), String>;

/// How to build a simulated cluster.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Initial voters, bootstrapped from the same snapshot.
    pub voters: Vec<u64>,
    pub faults: Faults,
    pub snapshot_interval: u64,
    pub retained_entries: u64,
}

impl SimConfig {
    /// `nodes` voters (ids 1..=nodes) on a lossy network, snapshotting often.
    pub fn new(seed: u64, nodes: u64) -> Self {
        SimConfig {
            seed,
            voters: (1..=nodes).collect(),
            faults: LOSSY,
            snapshot_interval: 64,
            retained_entries: 16,
        }
    }
}

enum NodeState {
    Up(Box<SimReplica>),
    Down(Box<MemLogStore>),
}

struct SimNode {
    state: NodeState,
    phase: u64,
    incarnation: u64,
    snapshots_installed: u64,
}

/// A proposal made through the cluster, for acknowledgement checks.
struct Proposal {
    command: Vec<u8>,
    outcome: Option<ApplyOutcome>,
    dropped: bool,
}

/// The simulated cluster.
pub struct Cluster {
    cfg: SimConfig,
    rng: StdRng,
    net: Network,
    nodes: BTreeMap<u64, SimNode>,
    now: u64,
    sink: EventSink,
    checker: Checker,
    next_request: u64,
    proposals: BTreeMap<u64, Proposal>,
}

impl Cluster {
    /// Boots every voter from the same bootstrap snapshot.
    pub fn new(cfg: SimConfig) -> Result<Self, String> {
        let mut cluster = Cluster {
            rng: StdRng::seed_from_u64(cfg.seed),
            net: Network::new(cfg.faults, route),
            nodes: BTreeMap::new(),
            now: 0,
            sink: EventSink::default(),
            checker: Checker::default(),
            next_request: 0,
            proposals: BTreeMap::new(),
            cfg,
        };
        let empty_state = SimMachine::new(0, EventSink::default()).snapshot();
        for id in cluster.cfg.voters.clone() {
            let mut store = MemLogStore::new();
            let boot = bootstrap_snapshot(&cluster.cfg.voters, empty_state.clone());
            store.apply_snapshot(boot).map_err(|e| e.to_string())?;
            store.sync().map_err(|e| e.to_string())?;
            cluster.start_node(id, store)?;
        }
        Ok(cluster)
    }

    fn replica_config(&self, id: u64, incarnation: u64) -> ReplicaConfig {
        let mut cfg = ReplicaConfig::new(id);
        cfg.snapshot_interval = self.cfg.snapshot_interval;
        cfg.retained_entries = self.cfg.retained_entries;
        cfg.snapshot_timeout_ticks = 20;
        cfg.election_seed = Some(self.cfg.seed ^ (id << 32) ^ incarnation.wrapping_mul(0x9e37));
        cfg
    }

    fn start_node(&mut self, id: u64, store: MemLogStore) -> Check {
        let (phase, incarnation) = match self.nodes.get(&id) {
            Some(node) => (node.phase, node.incarnation + 1),
            None => (self.rng.random_range(0..TICK), 0),
        };
        let machine = SimMachine::new(id, self.sink.clone());
        let replica = Replica::new(self.replica_config(id, incarnation), store, machine)
            .map_err(|e| format!("node {id} failed to start: {e}"))?;
        let installed = self.nodes.get(&id).map_or(0, |n| n.snapshots_installed);
        self.nodes.insert(
            id,
            SimNode {
                state: NodeState::Up(Box::new(replica)),
                phase,
                incarnation,
                snapshots_installed: installed,
            },
        );
        self.checker.node_restarted(id);
        self.process(id)
    }

    /// Advances time by one unit: delivers due messages, then ticks the nodes due to tick.
    pub fn step(&mut self) -> Check {
        self.now += 1;
        while let Some(msg) = self.net.pop_due(self.now) {
            let to = msg.to;
            if let Some(replica) = self.replica_mut(to) {
                // Errors here are raft refusing a stale or unknown peer's message: fine.
                let _ = replica.step(msg);
                self.process(to)?;
            }
        }
        let now = self.now;
        let due: Vec<u64> = (self.nodes.iter())
            .filter(|(_, n)| {
                matches!(n.state, NodeState::Up(_)) && (now + n.phase).is_multiple_of(TICK)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(replica) = self.replica_mut(id) {
                replica.tick();
            }
            self.process(id)?;
        }
        Ok(())
    }

    /// Runs `ticks` ticks' worth of steps.
    pub fn run_ticks(&mut self, ticks: u64) -> Check {
        for _ in 0..ticks * TICK {
            self.step()?;
        }
        Ok(())
    }

    /// Steps until `done` holds, failing after `max_ticks`; returns the ticks it took.
    pub fn run_until(
        &mut self,
        max_ticks: u64,
        what: &str,
        done: impl Fn(&Cluster) -> bool,
    ) -> Result<u64, String> {
        for step in 0..max_ticks * TICK {
            if done(self) {
                return Ok(step / TICK);
            }
            self.step()?;
        }
        Err(format!(
            "{what}: not reached within {max_ticks} ticks ({})",
            self.describe()
        ))
    }

    /// Runs a node's Ready loop, ships its messages and checks everything it did.
    fn process(&mut self, id: u64) -> Check {
        // Borrow only `nodes`, so the checker stays usable alongside the replica.
        let replica = match self.nodes.get_mut(&id).map(|n| &mut n.state) {
            Some(NodeState::Up(replica)) => replica,
            _ => return Ok(()),
        };
        let out = replica
            .process_ready()
            .map_err(|e| format!("node {id}: process_ready failed: {e}"))?;
        let status = replica.status();
        self.checker.check_node(&status, replica.store())?;
        let events: Vec<_> = self.sink.borrow_mut().drain(..).collect();
        for event in events {
            self.checker.on_machine_event(event)?;
        }
        self.record_output(id, out)
    }

    fn record_output(&mut self, id: u64, out: ReadyOutput) -> Check {
        for msg in out.messages {
            self.net.send(&mut self.rng, self.now, msg);
        }
        if let (Some(_), Some(node)) = (out.snapshot_installed, self.nodes.get_mut(&id)) {
            node.snapshots_installed += 1;
        }
        for applied in out.applied {
            let Some(proposal) = self.proposals.get_mut(&applied.request_id) else {
                return Err(format!(
                    "node {id} acknowledged unknown request {}",
                    applied.request_id
                ));
            };
            if let ApplyOutcome::Data(result) = &applied.outcome {
                self.checker
                    .check_ack(applied.index, &proposal.command, result)?;
            }
            proposal.outcome = Some(applied.outcome);
        }
        for dropped in out.dropped {
            if let Some(proposal) = self.proposals.get_mut(&dropped.request_id) {
                proposal.dropped = true;
            }
        }
        Ok(())
    }

    fn replica_mut(&mut self, id: u64) -> Option<&mut SimReplica> {
        match &mut self.nodes.get_mut(&id)?.state {
            NodeState::Up(replica) => Some(replica),
            NodeState::Down(_) => None,
        }
    }

    fn replica(&self, id: u64) -> Option<&SimReplica> {
        match &self.nodes.get(&id)?.state {
            NodeState::Up(replica) => Some(replica),
            NodeState::Down(_) => None,
        }
    }

    /// Proposes `command` on node `id`. `Ok(None)` when the node refused (not leader, …).
    pub fn propose(&mut self, id: u64, command: Vec<u8>) -> Result<Option<u64>, String> {
        self.next_request += 1;
        let request = self.next_request;
        let Some(replica) = self.replica_mut(id) else {
            return Ok(None);
        };
        if replica.propose(command.clone(), request).is_err() {
            return Ok(None);
        }
        self.proposals.insert(
            request,
            Proposal {
                command,
                outcome: None,
                dropped: false,
            },
        );
        self.process(id)?;
        Ok(Some(request))
    }

    /// Proposes a membership change on the current leader.
    pub fn change_membership(
        &mut self,
        change: MembershipChange,
    ) -> Result<Result<u64, RaftError>, String> {
        let leader = self.leader().ok_or("no leader to change membership")?;
        self.next_request += 1;
        let request = self.next_request;
        let replica = self.replica_mut(leader).ok_or("leader vanished")?;
        if let Err(e) = replica.propose_conf_change(change, request) {
            return Ok(Err(e));
        }
        let proposal = Proposal {
            command: Vec::new(),
            outcome: None,
            dropped: false,
        };
        self.proposals.insert(request, proposal);
        self.process(leader)?;
        Ok(Ok(request))
    }

    /// Asks leader `from` to hand leadership to `to`.
    pub fn transfer_leader(&mut self, from: u64, to: u64) -> Result<(), String> {
        let replica = self.replica_mut(from).ok_or("node is down")?;
        replica.transfer_leader(to).map_err(|e| e.to_string())?;
        self.process(from)
    }

    /// The outcome of a proposal once its proposer applied it.
    pub fn outcome(&self, request: u64) -> Option<&ApplyOutcome> {
        self.proposals.get(&request)?.outcome.as_ref()
    }

    /// True when the proposer gave up on a proposal (its entry was replaced).
    pub fn is_dropped(&self, request: u64) -> bool {
        self.proposals.get(&request).is_some_and(|p| p.dropped)
    }

    /// Crashes a node: only its synced store survives.
    pub fn crash(&mut self, id: u64) -> Check {
        let Some(node) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        if let NodeState::Up(replica) = &node.state {
            let store = replica.store().clone();
            if !store.is_synced() {
                return Err(format!(
                    "node {id} crashed with unsynced writes in its store"
                ));
            }
            node.state = NodeState::Down(Box::new(store));
        }
        Ok(())
    }

    /// Restarts a crashed node from its store.
    pub fn restart(&mut self, id: u64) -> Check {
        let store = match self.nodes.get(&id).map(|n| &n.state) {
            Some(NodeState::Down(store)) => (**store).clone(),
            _ => return Ok(()),
        };
        self.start_node(id, store)
    }

    /// Starts a brand-new node with an empty store (to be added as a voter).
    pub fn add_node(&mut self, id: u64) -> Check {
        self.start_node(id, MemLogStore::new())
    }

    /// Takes a node out of the simulation for good.
    pub fn remove_node(&mut self, id: u64) {
        self.nodes.remove(&id);
    }

    pub fn isolate(&mut self, id: u64) {
        self.net.isolate(id);
    }

    pub fn split(&mut self, group: &[u64]) {
        self.net.split(group);
    }

    pub fn heal(&mut self) {
        self.net.heal();
    }

    pub fn is_partitioned(&self) -> bool {
        self.net.is_partitioned()
    }

    pub fn set_faults(&mut self, faults: Faults) {
        self.net.set_faults(faults);
    }

    /// The cluster's random source, for scenario choices that must replay with the seed.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// Ids of every node in the simulation, up or down.
    pub fn node_ids(&self) -> Vec<u64> {
        self.nodes.keys().copied().collect()
    }

    /// Ids of crashed nodes.
    pub fn down_nodes(&self) -> Vec<u64> {
        (self.nodes.iter())
            .filter(|(_, n)| matches!(n.state, NodeState::Down(_)))
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn status(&self, id: u64) -> Option<ReplicaStatus> {
        self.replica(id).map(Replica::status)
    }

    /// The machine state (commands applied, last command index, hash) of a running node.
    pub fn machine_state(&self, id: u64) -> Option<(u64, u64, u64)> {
        self.replica(id).map(|r| r.machine().state())
    }

    /// Snapshots received from a leader and installed by `id`, across restarts.
    pub fn snapshots_installed(&self, id: u64) -> u64 {
        self.nodes.get(&id).map_or(0, |n| n.snapshots_installed)
    }

    /// The running leader with the highest term, if any.
    pub fn leader(&self) -> Option<u64> {
        (self.nodes.keys())
            .filter_map(|id| self.status(*id))
            .filter(|s| s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    /// True when every running node in `ids` has applied the same state as the leader and the
    /// leader has applied its whole log.
    pub fn converged(&self, ids: &[u64]) -> bool {
        let Some(leader) = self.leader().and_then(|id| self.status(id)) else {
            return false;
        };
        let want = self.machine_state(leader.id);
        leader.applied_index == leader.last_index
            && ids.iter().all(|id| {
                self.status(*id)
                    .is_some_and(|s| s.applied_index == leader.applied_index)
                    && self.machine_state(*id) == want
            })
    }

    pub fn net_stats(&self) -> NetStats {
        self.net.stats()
    }

    pub fn committed_entries(&self) -> usize {
        self.checker.committed_entries()
    }

    /// One line per node, for failure messages.
    pub fn describe(&self) -> String {
        let nodes: Vec<String> = (self.nodes.keys())
            .map(|id| match self.status(*id) {
                Some(s) => format!(
                    "{id}:{:?} t{} c{} a{} l{} v{:?}",
                    s.role, s.term, s.commit_index, s.applied_index, s.last_index, s.voters
                ),
                None => format!("{id}:down"),
            })
            .collect();
        format!("time {} | {}", self.now, nodes.join(" | "))
    }
}
