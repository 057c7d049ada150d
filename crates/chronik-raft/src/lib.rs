//! Chronik's consensus engine: raft-rs driven correctly, knowing nothing of what entries mean.
//!
//! - [`Replica`]: the pure, synchronous core. Ticks and peer messages go in; `process_ready`
//!   persists through a [`LogStore`], applies committed commands to a [`StateMachine`], and
//!   returns outbound messages in order plus the results of this node's proposals.
//! - [`spawn_node`]: the async driver. One task owns the replica; everything reaches it over
//!   channels and outbound messages go to a [`Transport`] that only enqueues, so the Ready loop
//!   never waits on the network.
//! - `sim` (tests, or feature `sim`): a deterministic cluster simulator over the same core.

mod config;
mod driver;
mod error;
mod logging;
mod machine;
mod mem_store;
mod replica;
mod storage;
mod transport;

#[cfg(any(test, feature = "sim"))]
pub mod sim;

pub use config::ReplicaConfig;
pub use driver::{DriverConfig, NodeHandle, TickSource, spawn_node};
pub use error::{RaftError, Result};
pub use machine::StateMachine;
pub use mem_store::MemLogStore;
pub use replica::{
    Applied, ApplyOutcome, Dropped, MembershipChange, ReadyOutput, Replica, ReplicaStatus, Role,
};
pub use storage::{LogStore, bootstrap_snapshot};
pub use transport::{PeerQueue, PeerReceiver, QueueTransport, Transport};

/// raft-rs's wire types, re-exported so users need no direct dependency on `raft`.
pub use raft::eraftpb::{ConfState, Entry, HardState, Message, Snapshot};
