//! The simulated world: brokers, the controller, the network and clients writing with
//! acks=all, stepped one tick at a time from one seeded RNG.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use chronik_metadata::{BrokerId, ControllerError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::controller::Controller;
use super::network::{Altered, Body, CONTROLLER, Faults, Msg, Network, RELIABLE, route};
use super::node::{Entry, Node, Out, Timing, instant};

/// Ticks a broker's session lasts without a heartbeat.
const SESSION: u64 = 30;
const HEARTBEAT_EVERY: u64 = 3;
/// The controller resends the partition state this often (lost updates are not retried).
const METADATA_EVERY: u64 = 10;
/// The high-watermark file is saved this often.
const SAVE_HW_EVERY: u64 = 7;
pub(super) const TIMING: Timing = Timing {
    max_lag: 20,
    isr_period: 5,
    request_timeout: 10,
};
const TRACE_LEN: usize = 80;

/// One run's shape and fault rates (per tick).
#[derive(Clone, Copy, Debug)]
pub(super) struct Config {
    pub replicas: usize,
    pub min_isr: usize,
    pub steps: u64,
    pub faults: Faults,
    pub append: f64,
    pub crash: f64,
    pub restart: f64,
    pub partition: f64,
    pub heal: f64,
    pub preferred_election: f64,
    /// Most brokers down at once.
    pub max_down: usize,
}

/// What one run did.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Stats {
    pub appends: u64,
    pub refused: u64,
    pub acks: u64,
    pub unacked: u64,
    pub crashes: u64,
    pub partitions: u64,
    pub leader_changes: u64,
    pub fences: u64,
    pub isr_changes: u64,
    pub sent: u64,
    pub dropped: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.appends += o.appends;
        self.refused += o.refused;
        self.acks += o.acks;
        self.unacked += o.unacked;
        self.crashes += o.crashes;
        self.partitions += o.partitions;
        self.leader_changes += o.leader_changes;
        self.fences += o.fences;
        self.isr_changes += o.isr_changes;
        self.sent += o.sent;
        self.dropped += o.dropped;
    }
}

/// An acks=all append waiting for its answer.
struct Pending {
    node: usize,
    epoch: i32,
    offset: i64,
    entry: Entry,
}

/// An acknowledged record: it must stay at `offset` for good.
#[derive(Clone, Copy, Debug)]
pub(super) struct Acked {
    pub offset: i64,
    pub entry: Entry,
}

pub(super) struct Sim {
    pub cfg: Config,
    rng: StdRng,
    pub now: u64,
    base: Instant,
    pub nodes: Vec<Node>,
    pub controller: Controller,
    net: Network,
    pending: Vec<Pending>,
    pub acked: Vec<Acked>,
    next_record: u64,
    pub stats: Stats,
    trace: VecDeque<String>,
    /// Highest high watermark seen per (leader, epoch).
    pub hw_seen: BTreeMap<(BrokerId, i32), i64>,
    chaos: bool,
}

impl Sim {
    pub fn new(seed: u64, cfg: Config) -> Self {
        let ids: Vec<BrokerId> = (1..=cfg.replicas as BrokerId).collect();
        let mut sim = Sim {
            cfg,
            rng: StdRng::seed_from_u64(seed),
            now: 0,
            base: Instant::now(),
            nodes: ids.iter().map(|id| Node::new(*id)).collect(),
            controller: Controller::new(&ids),
            net: Network::new(cfg.faults, route),
            pending: Vec::new(),
            acked: Vec::new(),
            next_record: 0,
            stats: Stats::default(),
            trace: VecDeque::new(),
            hw_seen: BTreeMap::new(),
            chaos: true,
        };
        let now = instant(sim.base, 0);
        let ps = sim.controller.partition();
        for node in &mut sim.nodes {
            node.metadata(&ps, now);
        }
        sim
    }

    pub fn node(&self, id: BrokerId) -> &Node {
        &self.nodes[id as usize - 1]
    }

    pub fn trace(&mut self, event: String) {
        if self.trace.len() == TRACE_LEN {
            self.trace.pop_front();
        }
        self.trace.push_back(format!("t={} {event}", self.now));
    }

    /// The last events and every node's state, for a failure message.
    pub fn report(&self) -> String {
        let mut out = String::from("last events:\n");
        for e in &self.trace {
            out.push_str(&format!("  {e}\n"));
        }
        out.push_str(&format!("controller: {:?}\n", self.controller.partition()));
        for n in &self.nodes {
            let tail: Vec<String> = (n.log.iter().enumerate().rev().take(6).rev())
                .map(|(o, e)| format!("{o}:e{}r{}", e.epoch, e.record))
                .collect();
            out.push_str(&format!(
                "node {} up={} role={:?} hw={:?} end={} tail=[{}]\n",
                n.id,
                n.up,
                n.role(),
                n.high_watermark(),
                n.end(),
                tail.join(" ")
            ));
        }
        out
    }

    fn send(&mut self, from: BrokerId, out: Out) {
        for (to, body) in out {
            let msg = Msg { from, to, body };
            self.net.send(&mut self.rng, self.now, msg);
        }
    }

    fn broadcast(&mut self) {
        let state = self.controller.partition();
        for id in 1..=self.nodes.len() as BrokerId {
            let incarnation = self.controller.incarnation(id);
            let body = Body::Metadata {
                state: state.clone(),
                incarnation,
            };
            self.send(CONTROLLER, vec![(id, body)]);
        }
    }

    fn changed(&mut self) {
        let ps = self.controller.partition();
        self.trace(format!(
            "controller: leader {} epoch {} isr {:?} partition epoch {}",
            ps.leader, ps.leader_epoch, ps.isr, ps.partition_epoch
        ));
        self.broadcast();
    }

    /// One tick: deliveries, periodic work, faults, client appends, answers, then the checks.
    pub fn step(&mut self) -> Result<(), String> {
        self.now += 1;
        self.deliver();
        self.tick_nodes();
        self.tick_controller();
        if self.chaos {
            self.faults();
            self.client();
        }
        self.settle();
        super::checker::check(self)
    }

    fn deliver(&mut self) {
        let now = instant(self.base, self.now);
        while let Some(msg) = self.net.pop_due(self.now) {
            if msg.to == CONTROLLER {
                self.at_controller(msg);
                continue;
            }
            let node = &mut self.nodes[msg.to as usize - 1];
            if !node.up {
                continue;
            }
            let mut out = Out::new();
            node.receive(msg.from, msg.body, now, &mut out);
            self.send(msg.to, out);
        }
    }

    fn at_controller(&mut self, msg: Msg) {
        match msg.body {
            Body::Heartbeat { incarnation } => {
                let changed = self.controller.heartbeat(msg.from, incarnation, self.now);
                if changed {
                    self.changed();
                }
            }
            Body::Alter(req) => {
                let result = self.controller.alter(&req);
                let outcome = match &result {
                    Ok(_) => Altered::Accepted,
                    Err(
                        ControllerError::InvalidIsr { .. } | ControllerError::IneligibleReplica(_),
                    ) => Altered::IsrRefused,
                    Err(_) => Altered::Refused,
                };
                let reply = Body::AlterReply {
                    partition_epoch: req.partition_epoch,
                    isr: req.new_isr.clone(),
                    outcome,
                };
                self.send(CONTROLLER, vec![(msg.from, reply)]);
                if matches!(result, Ok(true)) {
                    self.stats.isr_changes += 1;
                    self.changed();
                }
            }
            _ => {}
        }
    }

    fn tick_nodes(&mut self) {
        for i in 0..self.nodes.len() {
            let node = &mut self.nodes[i];
            if !node.up {
                continue;
            }
            let mut out = Out::new();
            if (self.now + i as u64).is_multiple_of(HEARTBEAT_EVERY) {
                let incarnation = node.incarnation;
                out.push((CONTROLLER, Body::Heartbeat { incarnation }));
            }
            if self.now.is_multiple_of(SAVE_HW_EVERY) {
                node.save_high_watermark();
            }
            node.tick(self.now, self.base, TIMING, &mut out);
            let id = node.id;
            self.send(id, out);
        }
    }

    fn tick_controller(&mut self) {
        if self.controller.expire_sessions(self.now, SESSION) {
            self.changed();
        }
        if self.chaos
            && self.rng.random_bool(self.cfg.preferred_election)
            && self.controller.preferred_elections()
        {
            self.changed();
        }
        if self.now.is_multiple_of(METADATA_EVERY) {
            self.broadcast();
        }
    }

    /// At most one fault a tick: crash, restart, partition or heal.
    fn faults(&mut self) {
        let cfg = self.cfg;
        let roll: f64 = self.rng.random();
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].up)
            .collect();
        let down: Vec<usize> = (0..self.nodes.len())
            .filter(|i| !self.nodes[*i].up)
            .collect();
        if roll < cfg.crash {
            if down.len() < cfg.max_down && !up.is_empty() {
                let i = up[self.rng.random_range(0..up.len())];
                self.crash(i);
            }
        } else if roll < cfg.crash + cfg.restart {
            if !down.is_empty() {
                let i = down[self.rng.random_range(0..down.len())];
                self.nodes[i].restart();
                self.trace(format!("restart {}", i + 1));
            }
        } else if roll < cfg.crash + cfg.restart + cfg.partition {
            let group: Vec<BrokerId> = (1..=self.nodes.len() as BrokerId)
                .filter(|_| self.rng.random_bool(0.4))
                .collect();
            if !group.is_empty() && group.len() < self.nodes.len() {
                self.stats.partitions += 1;
                self.trace(format!("cut {group:?} off"));
                self.net.split(&group);
            }
        } else if roll < cfg.crash + cfg.restart + cfg.partition + cfg.heal
            && self.net.is_partitioned()
        {
            self.trace("heal".into());
            self.net.heal();
        }
    }

    fn crash(&mut self, i: usize) {
        self.stats.crashes += 1;
        self.trace(format!("crash {}", i + 1));
        self.nodes[i].crash();
    }

    /// A client writes one record (acks=all) to a broker that believes it leads; during a
    /// leadership change two may, and the client may reach either.
    fn client(&mut self) {
        if !self.rng.random_bool(self.cfg.append) {
            return;
        }
        let leaders: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].leading().is_some())
            .collect();
        if leaders.is_empty() {
            return;
        }
        let i = leaders[self.rng.random_range(0..leaders.len())];
        let record = self.next_record;
        self.next_record += 1;
        match self.nodes[i].append(record, self.cfg.min_isr) {
            Some((epoch, offset)) => {
                self.stats.appends += 1;
                let entry = Entry { epoch, record };
                self.pending.push(Pending {
                    node: i,
                    epoch,
                    offset,
                    entry,
                });
            }
            None => self.stats.refused += 1,
        }
    }

    /// As `AckWait::settle`: acknowledged once the high watermark passes the record while
    /// the leader epoch it was written in holds, if at least `min_isr` replicas are known to
    /// hold it then; failed when that epoch ends or fewer hold it.
    fn settle(&mut self) {
        let min_isr = self.cfg.min_isr;
        let mut pending = std::mem::take(&mut self.pending);
        pending.retain(|p| {
            let node = &self.nodes[p.node];
            if node.leading() != Some(p.epoch) {
                self.stats.unacked += 1;
                return false;
            }
            if node.high_watermark().is_some_and(|hw| hw > p.offset) {
                if node.replicas_holding(p.offset).is_some_and(|n| n < min_isr) {
                    self.stats.unacked += 1;
                    return false;
                }
                self.stats.acks += 1;
                self.acked.push(Acked {
                    offset: p.offset,
                    entry: p.entry,
                });
                return false;
            }
            true
        });
        self.pending = pending;
    }

    /// Ends the faults: heals the network, restarts every broker, stops loss and appends.
    pub fn calm(&mut self) {
        self.chaos = false;
        self.trace("calm: heal, restart all, reliable network".into());
        self.net.heal();
        self.net.set_faults(RELIABLE);
        for node in &mut self.nodes {
            if !node.up {
                node.restart();
            }
        }
    }

    /// Whether the partition has settled: one leader at the controller's epoch, every replica
    /// in the ISR holding the leader's log and high watermark, nothing in flight to change it.
    pub fn converged(&self) -> bool {
        let ps = self.controller.partition();
        if ps.leader < 1 || ps.isr.len() != self.nodes.len() {
            return false;
        }
        let leader = self.node(ps.leader);
        leader.leading() == Some(ps.leader_epoch)
            && self.nodes.iter().all(|n| {
                n.log == leader.log
                    && n.high_watermark() == Some(leader.end())
                    && n.role().is_some_and(|r| r.epoch() == ps.leader_epoch)
            })
    }

    pub fn finish_stats(&mut self) -> Stats {
        self.stats.leader_changes = self.controller.leader_changes;
        self.stats.fences = self.controller.fences;
        self.stats.sent = self.net.stats().sent;
        self.stats.dropped = self.net.stats().dropped;
        self.stats
    }

    pub fn idle(&self) -> bool {
        self.net.idle()
    }
}
