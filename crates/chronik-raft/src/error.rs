//! The crate's single error type. Every message says what failed and what the caller can do.

/// Errors from the replica core, its storage, and the async driver.
#[derive(Debug, thiserror::Error)]
pub enum RaftError {
    #[error(
        "this node is not the Raft leader (leader: {}); send the request to the leader",
        leader_id.map_or_else(|| "unknown, an election is in progress: retry shortly".to_owned(), |id| format!("node {id}"))
    )]
    NotLeader { leader_id: Option<u64> },

    #[error(
        "empty proposals are reserved for Raft's own no-op entries; propose a non-empty command"
    )]
    EmptyProposal,

    #[error(
        "proposal {request_id} was not applied ({reason}); retry it if the command is idempotent"
    )]
    ProposalDropped {
        request_id: u64,
        reason: &'static str,
    },

    #[error("membership change rejected: {reason}")]
    ConfChangeRejected { reason: String },

    #[error("message for node {to} was delivered to node {local}; fix the transport's routing")]
    Misrouted { to: u64, local: u64 },

    #[error("message type {0:?} may not arrive from the network; drop it at the transport")]
    ForbiddenMessage(raft::eraftpb::MessageType),

    #[error("raft rejected the operation: {0}")]
    Raft(#[from] raft::Error),

    #[error("Raft log storage failed to {op}: {detail}; stop the node and restart it from disk")]
    Storage { op: &'static str, detail: String },

    #[error(
        "state machine snapshot is invalid: {0}; the snapshot must come from the same state machine type"
    )]
    InvalidSnapshot(String),

    #[error("invalid replica config: {0}")]
    Config(String),

    #[error("the Raft node has stopped; restart it or send the request to another node")]
    Shutdown,

    #[error("{0}; check the process's thread and memory limits")]
    Driver(String),
}

/// Result alias for this crate.
pub type Result<T, E = RaftError> = std::result::Result<T, E>;

impl RaftError {
    /// Storage failure helper for `LogStore` implementations.
    pub fn storage(op: &'static str, detail: impl std::fmt::Display) -> Self {
        RaftError::Storage {
            op,
            detail: detail.to_string(),
        }
    }
}
