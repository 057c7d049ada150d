//! Why a record, a snapshot or a controller request was rejected.

use crate::ids::{BrokerId, TopicId};

pub use crate::grpc::pb::ErrorKind;

/// Why the state machine rejected a record or a snapshot. A rejected record changes nothing,
/// and every replica rejects it the same way, so the Raft layer can log it and go on.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("metadata record does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error(
        "metadata record version {version} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion { version: u32, supported: u32 },
    #[error(
        "metadata snapshot version {version} is not supported (this build reads version {supported})"
    )]
    UnsupportedSnapshotVersion { version: u32, supported: u32 },
    #[error("metadata record carries no payload")]
    EmptyRecord,
    #[error("{field} must be 16 bytes, got {len}")]
    InvalidId { field: &'static str, len: usize },
    #[error("{field} is all zeros, which means no id")]
    ZeroId { field: &'static str },
    #[error("unknown broker {0}")]
    UnknownBroker(BrokerId),
    #[error("broker id {0} is negative")]
    NegativeBrokerId(BrokerId),
    #[error("broker {0} is already fenced")]
    BrokerAlreadyFenced(BrokerId),
    #[error("broker {0} is not fenced")]
    BrokerNotFenced(BrokerId),
    #[error("broker {broker}: {reason}")]
    InvalidBroker { broker: BrokerId, reason: String },
    #[error("unknown topic id {0}")]
    UnknownTopicId(TopicId),
    #[error("topic '{topic}' has no partition {partition}")]
    UnknownPartition { topic: String, partition: i32 },
    #[error(transparent)]
    InvalidTopicName(#[from] chronik_types::InvalidTopicName),
    #[error("a topic named '{0}' already exists")]
    DuplicateTopicName(String),
    #[error("topic id {0} is already in use")]
    DuplicateTopicId(TopicId),
    #[error("topic '{topic}' partition {partition}: {reason}")]
    InvalidPartition {
        topic: String,
        partition: i32,
        reason: String,
    },
    #[error("topic '{topic}' partition {partition}: leader {leader} is not in the ISR {isr:?}")]
    LeaderNotInIsr {
        topic: String,
        partition: i32,
        leader: BrokerId,
        isr: Vec<BrokerId>,
    },
    #[error(
        "topic '{topic}' partition {partition}: stale partition epoch, the change expected {expected} but the partition is at {actual}"
    )]
    StalePartitionEpoch {
        topic: String,
        partition: i32,
        expected: i32,
        actual: i32,
    },
    #[error("topic '{topic}' partition {partition}: the change alters nothing")]
    NoChange { topic: String, partition: i32 },
    #[error("{resource}: {reason}")]
    InvalidConfig { resource: String, reason: String },
    #[error("{what}: {count} is more than the limit of {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("the cluster id is already set to '{0}'")]
    ClusterIdAlreadySet(String),
    #[error("invalid cluster id: {0}")]
    InvalidClusterId(String),
    #[error("producer id block must start at the next free id {expected}, not {actual}")]
    ProducerIdMismatch { expected: i64, actual: i64 },
    #[error(
        "producer id block of {0} ids is invalid (1 to 1000000 allowed, and ids must not overflow)"
    )]
    InvalidProducerIdBlock(i32),
    #[error("invalid client quota entity: {0}")]
    InvalidQuotaEntity(String),
    #[error("invalid client quota: {0}")]
    InvalidClientQuota(String),
    #[error("unknown SCRAM mechanism {0}: use 1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512)")]
    UnsupportedScramMechanism(i32),
    #[error("SCRAM credential of user '{user}': {reason}")]
    InvalidScramCredential { user: String, reason: String },
    #[error("user '{user}' has no {mechanism} credential to delete")]
    UnknownScramCredential {
        user: String,
        mechanism: &'static str,
    },
    #[error("invalid ACL: {0}")]
    InvalidAcl(String),
    #[error("there is no ACL {0} to delete")]
    UnknownAcl(String),
    #[error("invalid snapshot: {0}")]
    InvalidSnapshot(String),
    #[error("remote segment {segment}: {reason}")]
    InvalidRemoteSegment { segment: String, reason: String },
}

/// Why the controller refused a request; [`ControllerError::kind`] classifies it for callers
/// (brokers map the kind to their protocol's error codes).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControllerError {
    #[error(
        "replication factor {replication_factor} needs that many live brokers, and {live} are live"
    )]
    NotEnoughBrokers {
        replication_factor: i32,
        live: usize,
    },
    #[error("invalid replication factor {0}")]
    InvalidReplicationFactor(i32),
    #[error("invalid partition count {requested}: {reason}")]
    InvalidPartitions { requested: i32, reason: String },
    #[error(transparent)]
    InvalidTopicName(#[from] chronik_types::InvalidTopicName),
    #[error("topic '{0}' already exists")]
    TopicAlreadyExists(String),
    #[error("topic id {0} is already in use")]
    TopicIdInUse(TopicId),
    #[error("unknown topic '{0}'")]
    UnknownTopic(String),
    #[error("unknown topic id {0}")]
    UnknownTopicId(TopicId),
    #[error("topic '{topic}' has no partition {partition}")]
    UnknownPartition { topic: String, partition: i32 },
    #[error("unknown broker {0}")]
    UnknownBroker(BrokerId),
    #[error("broker {0} is fenced")]
    BrokerFenced(BrokerId),
    #[error("broker {0} is already fenced")]
    BrokerAlreadyFenced(BrokerId),
    #[error("broker {0} is not fenced")]
    BrokerNotFenced(BrokerId),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid topic config: {0}")]
    InvalidConfig(String),
    #[error("the configs of {0} changed since the change was computed; compute it again")]
    ConfigsChanged(String),
    #[error("broker {requester} is not the leader of this partition (the leader is {leader})")]
    NotLeader {
        requester: BrokerId,
        leader: BrokerId,
    },
    #[error("leader epoch {requested} is not the current leader epoch {current}")]
    FencedLeaderEpoch { requested: i32, current: i32 },
    #[error("partition epoch {requested} is stale, the partition is at {current}")]
    StalePartitionEpoch { requested: i32, current: i32 },
    #[error("invalid ISR {isr:?}: {reason}")]
    InvalidIsr { isr: Vec<BrokerId>, reason: String },
    #[error("broker {0} may not join the ISR: it is fenced or not registered")]
    IneligibleReplica(BrokerId),
    #[error("producer ids are exhausted")]
    ProducerIdsExhausted,
    #[error("invalid replica assignment: {0}")]
    InvalidReplicaAssignment(String),
    #[error(
        "broker {0} is decommissioned: it holds no replica and stays fenced; cancel its \
         decommissioning to use it again"
    )]
    BrokerDecommissioned(BrokerId),
    #[error("no reassignment of {topic}-{partition} is running")]
    NoReassignment { topic: String, partition: i32 },
    #[error("unknown SCRAM mechanism {0}: use 1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512)")]
    UnsupportedSaslMechanism(i32),
    #[error("unacceptable SCRAM credential: {0}")]
    UnacceptableCredential(String),
    #[error("user '{user}' has no {mechanism} credential to delete")]
    CredentialNotFound {
        user: String,
        mechanism: &'static str,
    },
}

impl ErrorKind {
    /// Whether the controller refused the request itself, rather than not deciding it at all
    /// (not leading, unreachable, failed): only the latter may succeed when simply retried.
    pub fn is_refusal(self) -> bool {
        !matches!(
            self,
            ErrorKind::None
                | ErrorKind::Internal
                | ErrorKind::Unavailable
                | ErrorKind::NotController
        )
    }
}

impl ControllerError {
    /// The refusal of a SCRAM alteration the state would reject with `e`.
    pub fn from_scram(e: StateError) -> ControllerError {
        match e {
            StateError::UnsupportedScramMechanism(id) => {
                ControllerError::UnsupportedSaslMechanism(id)
            }
            StateError::UnknownScramCredential { user, mechanism } => {
                ControllerError::CredentialNotFound { user, mechanism }
            }
            other => ControllerError::UnacceptableCredential(other.to_string()),
        }
    }

    /// What kind of refusal this is, as the controller service reports it.
    pub fn kind(&self) -> ErrorKind {
        use ControllerError::*;
        match self {
            UnknownTopic(_) | UnknownPartition { .. } => ErrorKind::UnknownTopic,
            UnknownTopicId(_) => ErrorKind::UnknownTopicId,
            NotLeader { .. } => ErrorKind::NotPartitionLeader,
            BrokerFenced(_)
            | BrokerAlreadyFenced(_)
            | BrokerNotFenced(_)
            | UnknownBroker(_)
            | BrokerDecommissioned(_) => ErrorKind::BrokerNotLive,
            InvalidTopicName(_) => ErrorKind::InvalidTopicName,
            TopicAlreadyExists(_) | TopicIdInUse(_) => ErrorKind::TopicExists,
            InvalidPartitions { .. } => ErrorKind::InvalidPartitions,
            NotEnoughBrokers { .. } | InvalidReplicationFactor(_) => {
                ErrorKind::InvalidReplicationFactor
            }
            InvalidConfig(_) => ErrorKind::InvalidConfig,
            ConfigsChanged(_) => ErrorKind::ConfigsChanged,
            InvalidRequest(_) => ErrorKind::InvalidRequest,
            InvalidIsr { .. } => ErrorKind::InvalidIsr,
            FencedLeaderEpoch { .. } => ErrorKind::FencedLeaderEpoch,
            StalePartitionEpoch { .. } => ErrorKind::StalePartitionEpoch,
            IneligibleReplica(_) => ErrorKind::IneligibleReplica,
            ProducerIdsExhausted => ErrorKind::ProducerIdsExhausted,
            InvalidReplicaAssignment(_) => ErrorKind::InvalidReplicaAssignment,
            NoReassignment { .. } => ErrorKind::NoReassignment,
            UnsupportedSaslMechanism(_) => ErrorKind::UnsupportedSaslMechanism,
            UnacceptableCredential(_) => ErrorKind::UnacceptableCredential,
            CredentialNotFound { .. } => ErrorKind::ResourceNotFound,
        }
    }
}
