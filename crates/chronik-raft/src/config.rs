//! Replica tuning. Defaults suit a metadata quorum ticking every 100 ms.

use crate::{RaftError, Result};

/// Settings of one [`crate::Replica`].
#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    /// This node's id; never 0.
    pub id: u64,
    /// Ticks without hearing from a leader before a follower campaigns (randomized up to 2×).
    pub election_tick: usize,
    /// Ticks between leader heartbeats; well below `election_tick` so one lost heartbeat does
    /// not start an election.
    pub heartbeat_tick: usize,
    /// Upper bound on the entry bytes in one append message.
    pub max_size_per_msg: u64,
    /// Append messages in flight per follower before the leader waits for acknowledgements.
    pub max_inflight_msgs: usize,
    /// Bytes of proposed-but-uncommitted entries the leader accepts before refusing proposals.
    pub max_uncommitted_size: u64,
    /// Applied entries since the last snapshot that trigger a new snapshot and compaction.
    pub snapshot_interval: u64,
    /// Entries kept below the snapshot so slightly lagging followers catch up without one.
    pub retained_entries: u64,
    /// Ticks a leader waits for a follower to acknowledge a snapshot before sending it again
    /// (the message may have been lost).
    pub snapshot_timeout_ticks: usize,
    /// Seeds election-timeout randomization so a simulation replays exactly; `None` in
    /// production (raft-rs then uses its own thread-local randomness).
    pub election_seed: Option<u64>,
}

impl ReplicaConfig {
    /// Production defaults for node `id`.
    pub fn new(id: u64) -> Self {
        ReplicaConfig {
            id,
            election_tick: 10,
            heartbeat_tick: 1,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            max_uncommitted_size: 64 << 20,
            snapshot_interval: 10_000,
            retained_entries: 1_000,
            snapshot_timeout_ticks: 50,
            election_seed: None,
        }
    }

    /// Checks the settings raft-rs does not check itself.
    pub fn validate(&self) -> Result<()> {
        if self.id == 0 {
            return Err(RaftError::Config(
                "node id 0 is reserved; use ids from 1".into(),
            ));
        }
        if self.election_tick < 2 * self.heartbeat_tick.max(1) {
            return Err(RaftError::Config(format!(
                "election_tick {} must be at least twice heartbeat_tick {}",
                self.election_tick, self.heartbeat_tick
            )));
        }
        if self.snapshot_interval == 0 || self.snapshot_timeout_ticks == 0 {
            return Err(RaftError::Config(
                "snapshot_interval and snapshot_timeout_ticks must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The raft-rs configuration, with `applied` as the index already in the state machine.
    pub(crate) fn to_raft(&self, applied: u64) -> raft::Config {
        let mut cfg = raft::Config::new(self.id);
        cfg.election_tick = self.election_tick;
        cfg.heartbeat_tick = self.heartbeat_tick;
        cfg.applied = applied;
        cfg.max_size_per_msg = self.max_size_per_msg;
        cfg.max_inflight_msgs = self.max_inflight_msgs;
        cfg.max_uncommitted_size = self.max_uncommitted_size;
        cfg.pre_vote = true;
        cfg.check_quorum = true;
        cfg
    }
}
