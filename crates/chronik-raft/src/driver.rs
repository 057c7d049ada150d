//! The async driver: one tokio task owns the [`Replica`]; everything else talks to it through
//! a [`NodeHandle`]. With [`DriverConfig::own_thread`] that task runs on a thread of its own,
//! since each Ready's storage sync blocks (an fsync) and must not hold an async worker.
//!
//! Inputs (peer messages, proposals, membership changes, status queries, ticks) arrive over one
//! channel and are handled in arrival order, in batches; after each batch the task runs
//! `process_ready` and gives outbound messages to the [`Transport`], which only enqueues. The
//! task never awaits the network, so a slow peer cannot delay heartbeats to the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use raft::eraftpb::{ConfState, Message};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::time::{Interval, MissedTickBehavior};

use crate::{
    ApplyOutcome, LogStore, MembershipChange, RaftError, ReadyOutput, Replica, ReplicaStatus,
    Result, StateMachine, Transport,
};

/// What drives the replica's logical clock.
#[derive(Clone, Copy, Debug)]
pub enum TickSource {
    /// A timer inside the task (production: 100 ms with heartbeat 1, election 10).
    Interval(Duration),
    /// Only [`NodeHandle::tick`] advances the clock (tests that control time).
    Manual,
}

/// Settings of the driver task.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    pub tick: TickSource,
    /// Commands that may wait in the inbox; senders wait when it is full.
    pub inbox_capacity: usize,
    /// Commands handled before each `process_ready`, to batch fsyncs under load.
    pub max_batch: usize,
    /// Run the task on a thread of its own (with its own single-threaded runtime) instead of
    /// the caller's runtime: for storage whose sync blocks. Tests that pause tokio's clock
    /// keep it on their runtime.
    pub own_thread: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            tick: TickSource::Interval(Duration::from_millis(100)),
            inbox_capacity: 4096,
            max_batch: 256,
            own_thread: false,
        }
    }
}

enum Command {
    Step(Message),
    Tick,
    Propose(Vec<u8>, oneshot::Sender<Result<Vec<u8>>>),
    ChangeMembership(MembershipChange, oneshot::Sender<Result<ConfState>>),
    TransferLeader(u64, oneshot::Sender<Result<()>>),
    Campaign(oneshot::Sender<Result<()>>),
    Status(oneshot::Sender<ReplicaStatus>),
    ReportUnreachable(u64),
}

/// A caller waiting for its proposal to apply.
enum Waiter {
    Command(oneshot::Sender<Result<Vec<u8>>>),
    Membership(oneshot::Sender<Result<ConfState>>),
}

/// A cheap, cloneable handle to a running node.
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::Sender<Command>,
    shutdown: Arc<Notify>,
    stopped: watch::Receiver<bool>,
}

/// Starts the task that owns `replica` and returns its handle; fails only when the thread of
/// its own ([`DriverConfig::own_thread`]) cannot be started.
pub fn spawn_node<S, M, T>(
    replica: Replica<S, M>,
    transport: T,
    cfg: DriverConfig,
) -> Result<NodeHandle>
where
    S: LogStore + Send + 'static,
    M: StateMachine + Send + 'static,
    T: Transport,
{
    let (tx, rx) = mpsc::channel(cfg.inbox_capacity.max(1));
    let shutdown = Arc::new(Notify::new());
    let (done, stopped) = watch::channel(false);
    let task = NodeTask {
        replica,
        transport,
        rx,
        next_request: 0,
        waiting: HashMap::new(),
        max_batch: cfg.max_batch.max(1),
    };
    let run = task.run(cfg.tick, Arc::clone(&shutdown), done);
    if cfg.own_thread {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| RaftError::Driver(format!("cannot build the driver's runtime: {e}")))?;
        std::thread::Builder::new()
            .name("raft-driver".into())
            .spawn(move || runtime.block_on(run))
            .map_err(|e| RaftError::Driver(format!("cannot start the driver thread: {e}")))?;
    } else {
        tokio::spawn(run);
    }
    Ok(NodeHandle {
        tx,
        shutdown,
        stopped,
    })
}

impl NodeHandle {
    async fn send(&self, cmd: Command) -> Result<()> {
        self.tx.send(cmd).await.map_err(|_| RaftError::Shutdown)
    }

    async fn ask<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Command) -> Result<R> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply)).await?;
        answer.await.map_err(|_| RaftError::Shutdown)
    }

    /// Delivers a message from a peer.
    pub async fn step(&self, msg: Message) -> Result<()> {
        self.send(Command::Step(msg)).await
    }

    /// Advances the clock by one tick (for [`TickSource::Manual`]).
    pub async fn tick(&self) -> Result<()> {
        self.send(Command::Tick).await
    }

    /// Proposes a command and waits until it is applied here; returns the state machine's
    /// result. Fails at once with [`RaftError::NotLeader`] on a follower.
    pub async fn propose(&self, command: Vec<u8>) -> Result<Vec<u8>> {
        self.ask(|reply| Command::Propose(command, reply)).await?
    }

    /// Adds or removes a voter and waits until the change is applied here.
    pub async fn change_membership(&self, change: MembershipChange) -> Result<ConfState> {
        self.ask(|reply| Command::ChangeMembership(change, reply))
            .await?
    }

    /// Asks the leader to hand leadership to `to`.
    pub async fn transfer_leader(&self, to: u64) -> Result<()> {
        self.ask(|reply| Command::TransferLeader(to, reply)).await?
    }

    /// Starts an election now.
    pub async fn campaign(&self) -> Result<()> {
        self.ask(Command::Campaign).await?
    }

    /// The replica's current status.
    pub async fn status(&self) -> Result<ReplicaStatus> {
        self.ask(Command::Status).await
    }

    /// Tells raft a peer is unreachable (from the transport, when a stream breaks).
    pub async fn report_unreachable(&self, peer: u64) -> Result<()> {
        self.send(Command::ReportUnreachable(peer)).await
    }

    /// Stops the task; waiting callers get [`RaftError::Shutdown`].
    pub fn shutdown(&self) {
        self.shutdown.notify_one();
    }

    /// Resolves once the task has stopped (after `shutdown`, a storage failure, or when every
    /// handle is gone).
    pub async fn stopped(&self) {
        let mut stopped = self.stopped.clone();
        // An error means the task dropped its sender: it has stopped too.
        let _ = stopped.wait_for(|done| *done).await;
    }
}

struct NodeTask<S: LogStore, M: StateMachine, T> {
    replica: Replica<S, M>,
    transport: T,
    rx: mpsc::Receiver<Command>,
    next_request: u64,
    waiting: HashMap<u64, Waiter>,
    max_batch: usize,
}

impl<S: LogStore, M: StateMachine, T: Transport> NodeTask<S, M, T> {
    async fn run(mut self, tick: TickSource, shutdown: Arc<Notify>, done: watch::Sender<bool>) {
        let mut ticker = match tick {
            TickSource::Interval(period) => {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
                Some(interval)
            }
            TickSource::Manual => None,
        };
        loop {
            if let Err(e) = self.flush() {
                tracing::error!(node = self.replica.id(), error = %e, "raft node stopped");
                break;
            }
            tokio::select! {
                biased;
                _ = shutdown.notified() => break,
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.handle_batch(cmd),
                    None => break,
                },
                _ = next_tick(&mut ticker) => self.replica.tick(),
            }
        }
        // Dropping the waiters answers them with Shutdown.
        self.waiting.clear();
        let _ = done.send(true);
    }

    fn handle_batch(&mut self, first: Command) {
        self.handle(first);
        for _ in 1..self.max_batch {
            match self.rx.try_recv() {
                Ok(cmd) => self.handle(cmd),
                Err(_) => break,
            }
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Step(msg) => {
                if let Err(e) = self.replica.step(msg) {
                    tracing::debug!(node = self.replica.id(), error = %e, "raft message ignored");
                }
            }
            Command::Tick => self.replica.tick(),
            Command::Propose(command, reply) => {
                let id = self.request_id();
                match self.replica.propose(command, id) {
                    Ok(()) => drop(self.waiting.insert(id, Waiter::Command(reply))),
                    Err(e) => drop(reply.send(Err(e))),
                }
            }
            Command::ChangeMembership(change, reply) => {
                let id = self.request_id();
                match self.replica.propose_conf_change(change, id) {
                    Ok(()) => drop(self.waiting.insert(id, Waiter::Membership(reply))),
                    Err(e) => drop(reply.send(Err(e))),
                }
            }
            Command::TransferLeader(to, reply) => {
                drop(reply.send(self.replica.transfer_leader(to)))
            }
            Command::Campaign(reply) => drop(reply.send(self.replica.campaign())),
            Command::Status(reply) => drop(reply.send(self.replica.status())),
            Command::ReportUnreachable(peer) => self.replica.report_unreachable(peer),
        }
    }

    fn request_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Runs the Ready loop, ships messages, and answers waiting proposers.
    fn flush(&mut self) -> Result<()> {
        let ReadyOutput {
            messages,
            applied,
            dropped,
            ..
        } = self.replica.process_ready()?;
        for msg in messages {
            self.transport.send(msg);
        }
        for done in applied {
            if let Some(waiter) = self.waiting.remove(&done.request_id) {
                answer(waiter, done.request_id, done.outcome);
            }
        }
        for gone in dropped {
            if let Some(waiter) = self.waiting.remove(&gone.request_id) {
                fail(waiter, gone.request_id, gone.reason);
            }
        }
        Ok(())
    }
}

async fn next_tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn answer(waiter: Waiter, request_id: u64, outcome: ApplyOutcome) {
    // A send fails only when the caller stopped waiting; nothing to do then.
    match (waiter, outcome) {
        (Waiter::Command(reply), ApplyOutcome::Data(result)) => drop(reply.send(Ok(result))),
        (Waiter::Membership(reply), ApplyOutcome::Membership(conf)) => drop(reply.send(Ok(conf))),
        (Waiter::Membership(reply), ApplyOutcome::MembershipRejected(reason)) => {
            drop(reply.send(Err(RaftError::ConfChangeRejected { reason })))
        }
        (waiter, _) => fail(
            waiter,
            request_id,
            "its entry applied as a different kind of command",
        ),
    }
}

fn fail(waiter: Waiter, request_id: u64, reason: &'static str) {
    let err = || RaftError::ProposalDropped { request_id, reason };
    match waiter {
        Waiter::Command(reply) => drop(reply.send(Err(err()))),
        Waiter::Membership(reply) => drop(reply.send(Err(err()))),
    }
}
