//! The one interface a broker has to its metadata quorum, whether an in-process single voter
//! ([`super::embedded::EmbeddedQuorum`]) or meta nodes reached over gRPC
//! ([`super::external::ExternalQuorum`]). Both pass the same conformance tests
//! (cluster/conformance_tests.rs).

use std::collections::BTreeMap;
use std::time::Duration;

use chronik_auth::acl::{AclBinding, AclFilter};
use chronik_metadata::controller::{
    AlterPartitionRequest, BrokerRegistration, ElectionResult, ElectionType,
};
use chronik_metadata::node::{NewTopicSpec, NodeError};
use chronik_metadata::proto::{RemoteLogStartChange, RemoteSegmentChange};
use chronik_metadata::{
    BrokerId, ConfigResource, MetadataState, QuotaEntity, ScramAlteration, Uuid,
};
use tokio::sync::watch;

/// The Raft quorum behind the metadata, as DescribeQuorum shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuorumStatus {
    /// The Raft leader's node id, when there is one.
    pub leader: Option<u64>,
    pub term: u64,
    pub commit_index: u64,
    pub voters: Vec<VoterStatus>,
}

/// One voter of the metadata quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VoterStatus {
    pub id: u64,
    /// The highest log index it holds, known only when the node that answered leads.
    pub matched: Option<u64>,
    /// The `host:port` of its gRPC server, when the node that answered knows it.
    pub address: Option<String>,
}

/// A reassignment to start (with a target) or cancel (without).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReassignmentChange {
    pub topic: String,
    pub partition: i32,
    /// The new replicas, the preferred leader first; `None` cancels.
    pub target: Option<Vec<BrokerId>>,
}

/// A metadata quorum as a broker uses it. Topic and config writes return once this broker's
/// own view ([`MetadataQuorum::with_metadata`]) shows them, so a caller reads its own writes.
/// Refusals are [`NodeError`]s whose [`NodeError::kind`] is the same for both implementations.
#[async_trait::async_trait]
pub(crate) trait MetadataQuorum: Send + Sync {
    /// The cluster id the quorum was created with.
    fn cluster_id(&self) -> &str;

    /// The broker session the controller applies: heartbeat well within it.
    fn session_timeout(&self) -> Duration;

    /// Replicas of each `__consumer_offsets` partition, given the configured number.
    fn offsets_replication(&self, configured: i16) -> i16;

    /// Calls `f` on this broker's current view of the metadata.
    fn with_metadata(&self, f: &mut dyn FnMut(&MetadataState));

    /// A receiver that changes whenever the view changes.
    fn subscribe(&self) -> watch::Receiver<u64>;

    /// Registers a broker (it starts fenced; a heartbeat unfences it). A previous incarnation
    /// of the same broker whose session is still live is dealt with here.
    async fn register(&self, reg: &BrokerRegistration) -> Result<(), NodeError>;

    /// Renews the broker's session and unfences it; `Ok(true)` when it is fenced anyway.
    async fn heartbeat(&self, broker: BrokerId, incarnation: Uuid) -> Result<bool, NodeError>;

    /// Holds the broker's session stream open on the controller until it ends (the controller
    /// changed, or the connection broke): while it is open, the broker's death is seen the
    /// moment its connections close. `Ok(false)` when the quorum runs in this process and so
    /// cannot outlive the broker: there is nothing to hold.
    async fn hold_session(&self, broker: BrokerId, incarnation: Uuid) -> Result<bool, NodeError>;

    /// Controlled shutdown: moves the broker's leaderships to other in-sync replicas before it
    /// stops. Heartbeats must have stopped (they would unfence it again).
    async fn controlled_shutdown(
        &self,
        broker: BrokerId,
        incarnation: Uuid,
    ) -> Result<(), NodeError>;

    /// Asks the controller for an ISR change of a partition the requester leads; the new ISR
    /// reaches the view like any other change, possibly after this returns.
    async fn alter_partition(&self, req: &AlterPartitionRequest) -> Result<(), NodeError>;

    /// Runs an operator's leader election for `partitions` (every partition when `None`);
    /// returns each partition's outcome once the quorum committed the new leaders.
    async fn elect_leaders(
        &self,
        kind: ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<ElectionResult>, NodeError>;

    /// Starts or cancels replica reassignments: each one's outcome, in order. The controller
    /// finishes each reassignment once its target replicas are in sync.
    async fn alter_reassignments(
        &self,
        changes: &[ReassignmentChange],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError>;

    /// The Raft quorum's leader, term, commit index and voters.
    async fn quorum_status(&self) -> Result<QuorumStatus, NodeError>;

    /// Creates a topic; the controller places its replicas on live brokers.
    async fn create_topic(&self, spec: NewTopicSpec) -> Result<(), NodeError>;

    async fn delete_topic(&self, name: &str) -> Result<(), NodeError>;

    /// Grows topic `name` to `total` partitions, placed by the controller or as `assignment`
    /// (replicas of each new partition, in order) says when it is not empty.
    async fn create_partitions(
        &self,
        name: &str,
        total: i32,
        assignment: &[Vec<BrokerId>],
    ) -> Result<(), NodeError>;

    /// Sets and deletes configs of `resource` (a topic or broker). With `expected`, only while
    /// its configs are exactly those; refused with
    /// [`chronik_metadata::ErrorKind::ConfigsChanged`] otherwise, so a change computed from an
    /// older copy never overwrites a newer one.
    async fn change_configs(
        &self,
        resource: &ConfigResource,
        set: BTreeMap<String, String>,
        delete: Vec<String>,
        expected: Option<BTreeMap<String, String>>,
    ) -> Result<(), NodeError>;

    /// Sets the client quotas `set` of `entity` and removes those named in `remove`
    /// (`chronik_metadata::quotas` says which keys and values are valid).
    async fn alter_client_quota(
        &self,
        entity: &QuotaEntity,
        set: BTreeMap<String, f64>,
        remove: Vec<String>,
    ) -> Result<(), NodeError>;

    /// Upserts and deletes SCRAM credentials, each on its own: each alteration's outcome, in
    /// order. Deleting a credential that does not exist is refused with
    /// [`chronik_metadata::ErrorKind::ResourceNotFound`], an out-of-bounds credential with
    /// `UnacceptableCredential`. Returns once this broker's view shows what succeeded; `Err`
    /// only when the quorum answered none of them.
    async fn alter_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError>;

    /// Creates ACLs, each on its own: each one's outcome, in order. An ACL that exists is
    /// not created twice (and succeeds); an invalid one is refused with
    /// [`chronik_metadata::ErrorKind::InvalidRequest`], as is one past the cluster's bound.
    /// Returns once this broker's view shows what succeeded; `Err` only when the quorum
    /// answered none of them.
    async fn create_acls(
        &self,
        acls: &[AclBinding],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError>;

    /// Deletes every ACL the filters match, decided and applied at once by the leader: for
    /// each filter, in order, the ACLs it matched and so deleted (an ACL two filters match is
    /// listed under both). Filters matching more than
    /// [`chronik_metadata::acls::MAX_ACLS_DELETED_AT_ONCE`] ACLs are refused. Returns once
    /// this broker's view shows the deletions.
    async fn delete_acls(
        &self,
        filters: &[AclFilter],
    ) -> Result<Vec<Result<Vec<AclBinding>, NodeError>>, NodeError>;

    /// A block of producer ids for `broker`: (first id, count).
    async fn allocate_producer_ids(&self, broker: BrokerId) -> Result<(i64, i32), NodeError>;

    /// Records a step of one remote segment copy (tiered storage) for partition leader
    /// `broker`; once this returns, this broker's view shows it.
    async fn change_remote_segment(
        &self,
        broker: BrokerId,
        change: &RemoteSegmentChange,
    ) -> Result<(), NodeError>;

    /// Moves a partition's log start over both tiers forward for its leader `broker`; once
    /// this returns, this broker's view shows it.
    async fn move_remote_log_start(
        &self,
        broker: BrokerId,
        change: &RemoteLogStartChange,
    ) -> Result<(), NodeError>;

    /// Stops what runs in this process for the quorum.
    async fn shutdown(&self);
}

/// Waits up to `timeout` until `quorum`'s view satisfies `done`; false when it did not.
pub(super) async fn view_shows(
    quorum: &dyn MetadataQuorum,
    done: impl Fn(&MetadataState) -> bool,
    timeout: Duration,
) -> bool {
    let mut changes = quorum.subscribe();
    let shows = || {
        let mut shown = false;
        quorum.with_metadata(&mut |s| shown = done(s));
        shown
    };
    let shown = async {
        while !shows() {
            if changes.changed().await.is_err() {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(timeout, shown).await.unwrap_or(false)
}
