//! Chronik's cluster metadata: the records of the metadata Raft log, the deterministic state
//! they build, its snapshots, and the controller's decisions about which records to propose.
//!
//! Nothing here does I/O. Raft carries records as opaque bytes ([`MetadataRecord::to_bytes`],
//! [`MetadataRecord::from_bytes`]); every replica applies them with [`MetadataState::apply`] in
//! log order and so holds the same state. The controller (the Raft leader) calls the functions
//! in [`controller`] with the committed state and proposes what they return.
//!
//! The I/O lives apart, on top: [`raft_store`] keeps the Raft log on disk, [`node`] runs a
//! quorum voter (Raft driver, controller loop, broker sessions) and [`grpc`] carries Raft
//! traffic between voters and serves the controller API to brokers and tools.

pub mod acls;
mod configs;
pub mod controller;
mod error;
pub mod grpc;
mod ids;
pub mod node;
pub mod quotas;
pub mod raft_store;
mod record;
pub mod scram;
mod snapshot;
mod state;

#[cfg(test)]
mod testing;

/// Generated protobuf types of `proto/metadata.proto`.
#[allow(clippy::all, missing_docs)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/chronik.metadata.rs"));
}

pub use configs::ConfigResource;
pub use error::{ControllerError, ErrorKind, StateError};
pub use ids::{
    BrokerId, MAX_CONFIG_ENTRIES, MAX_CONFIG_KEY_LEN, MAX_CONFIG_VALUE_LEN, MAX_ENDPOINTS,
    MAX_NAME_LEN, MAX_PARTITIONS_PER_TOPIC, MAX_PRODUCER_ID_BLOCK, MAX_REPLICAS, NO_LEADER,
    TopicId, Uuid,
};
pub use proto::MetadataRecord;
pub use proto::metadata_record::Record;
pub use quotas::{MAX_QUOTA_ENTITIES, QuotaEntity, QuotaValue};
pub use record::RECORD_VERSION;
pub use scram::{ScramAlteration, ScramCredentials};
pub use snapshot::SNAPSHOT_VERSION;
pub use state::remote_segments::{RemoteCopyState, RemoteSegment, RemoteSegmentKey};
pub use state::{
    Broker, BrokerEndpoint, ClientQuotas, DEFAULT_LISTENER, MetadataState, PartitionState,
    PartitionView, Topic, UNCLEAN_LEADER_ELECTION_CONFIG,
};

/// Results of this crate; state-machine errors unless another error type is named.
pub type Result<T, E = StateError> = std::result::Result<T, E>;
