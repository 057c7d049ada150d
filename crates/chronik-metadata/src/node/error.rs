//! Why a meta node could not start or could not carry out a request.

use chronik_raft::RaftError;

use crate::{ControllerError, ErrorKind};

/// Errors of [`super::MetaNode`] and its controller operations.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(
        "this node is not the metadata leader (leader: {}); send writes to the leader",
        match (leader_id, leader_address) {
            (Some(id), Some(addr)) => format!("node {id} at {addr}"),
            (Some(id), None) => format!("node {id}, address unknown"),
            _ => "unknown, an election is in progress; retry shortly".to_owned(),
        }
    )]
    NotLeader {
        leader_id: Option<u64>,
        leader_address: Option<String>,
    },
    #[error(transparent)]
    Controller(#[from] ControllerError),
    #[error("the state machine rejected the change: {0}")]
    Rejected(String),
    #[error(
        "broker {0} is registered with another incarnation whose session is still live; \
         wait for the session to expire (or stop the other broker with this id)"
    )]
    DuplicateRegistration(i32),
    #[error("broker {0} is registered with another incarnation; register again")]
    StaleIncarnation(i32),
    #[error(transparent)]
    Raft(RaftError),
    #[error(
        "the change was not applied within {0:?}; the quorum may have lost its leader, and \
         the change may still apply: check before retrying"
    )]
    ProposalTimeout(std::time::Duration),
    #[error(
        "data dir belongs to cluster '{stored}' but '{given}' was given; use the right data dir \
         or cluster id"
    )]
    ClusterIdMismatch { stored: String, given: String },
    #[error("a new multi-voter cluster needs --cluster-id (the same on every voter)")]
    ClusterIdRequired,
    #[error("invalid node configuration: {0}")]
    Config(String),
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the data dir: {0}")]
    Wal(#[from] chronik_wal::WalError),
    #[error(
        "the Raft log {files} in {dir} cannot be read ({reason}). This voter's copy of the \
         metadata is damaged: stop it, move the data dir aside (keep it for analysis) and start \
         the node again with an empty data dir; in a multi-voter quorum it catches up from the \
         leader, a single voter must be restored from a backup of its data dir"
    )]
    RaftLog {
        dir: String,
        /// The segment files of the log, named so the operator knows what is damaged.
        files: String,
        /// What failed, without the generic advice of the storage error.
        reason: String,
    },
    #[error("cannot serve gRPC: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// An external quorum's refusal, with the kind of refusal it reported.
    #[error("the metadata quorum refused: {message}")]
    Remote { kind: ErrorKind, message: String },
    #[error(
        "cannot reach the metadata quorum: {0}; check the --meta addresses and that the meta \
         nodes are running"
    )]
    Unreachable(String),
}

impl From<RaftError> for NodeError {
    fn from(e: RaftError) -> Self {
        match e {
            RaftError::NotLeader { leader_id } => NodeError::NotLeader {
                leader_id,
                leader_address: None,
            },
            other => NodeError::Raft(other),
        }
    }
}

impl NodeError {
    pub(crate) fn io(op: impl Into<String>, source: std::io::Error) -> Self {
        NodeError::Io {
            op: op.into(),
            source,
        }
    }

    /// The Raft log under `data_dir` could not be opened or replayed.
    pub(crate) fn raft_log(data_dir: &std::path::Path, source: RaftError) -> Self {
        let dir = data_dir.join(crate::raft_store::RAFT_LOG_DIR);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".wal"))
            .collect();
        files.sort();
        NodeError::RaftLog {
            dir: dir.display().to_string(),
            files: match files.is_empty() {
                true => "(no segments)".to_owned(),
                false => files.join(", "),
            },
            reason: match source {
                RaftError::Storage { op, detail } => format!("failed to {op}: {detail}"),
                other => other.to_string(),
            },
        }
    }

    /// What kind of refusal this is, as the controller service reports it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NodeError::Controller(e) => e.kind(),
            NodeError::NotLeader { .. } => ErrorKind::NotController,
            NodeError::DuplicateRegistration(_) => ErrorKind::DuplicateRegistration,
            NodeError::StaleIncarnation(_) => ErrorKind::StaleIncarnation,
            NodeError::Rejected(_) => ErrorKind::InvalidRequest,
            NodeError::Remote { kind, .. } => *kind,
            NodeError::Unreachable(_) | NodeError::ProposalTimeout(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}
