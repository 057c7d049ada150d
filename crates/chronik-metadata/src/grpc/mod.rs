//! The meta node's network face: Raft traffic between voters ([`GrpcTransport`],
//! [`RaftPeerService`]), the controller service brokers and tools call ([`ControllerService`]),
//! and a client that finds the leader by itself ([`MetaClient`]).

mod acls;
mod client;
mod elect;
mod peer;
mod quotas;
mod registration;
mod remote_segments;
mod scram;
mod service;
mod tls;

/// Generated types and gRPC stubs of `proto/raft_peer.proto` and `proto/controller.proto`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/chronik.rpc.rs"));
}

pub use acls::{acl_binding, acl_binding_message, acl_filter, acl_filter_message};
pub use client::{ClientError, MetaClient, apply_watch_event, connect, is_not_leader, status_of};
pub use elect::election_result;
pub use peer::{GrpcTransport, MAX_RAFT_MESSAGE, RaftPeerService};
pub use quotas::{client_quota_change, quota_entity};
pub use registration::{broker_registration, endpoint_info, register_broker_request};
pub use remote_segments::{
    change_remote_segment_request, move_remote_log_start_request, remote_log_start_change,
    remote_segment_change,
};
pub use scram::{describe_scram_credentials, scram_alteration, scram_alteration_request};
pub use service::ControllerService;
pub(crate) use tls::incoming as tls_incoming;
pub use tls::{ClusterTls, ReadAgain};

/// Metadata key of a NOT_LEADER answer that carries the leader's address (when known).
pub const LEADER_ADDRESS_HEADER: &str = "x-chronik-leader";
/// Metadata key carrying the [`crate::ErrorKind`] number of a refused controller request.
pub const ERROR_KIND_HEADER: &str = "x-chronik-error";
/// Message prefix of the FAILED_PRECONDITION status a follower answers writes with.
pub const NOT_LEADER_MESSAGE: &str = "not the metadata leader";
