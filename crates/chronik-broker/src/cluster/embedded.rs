//! The embedded quorum: a single meta node voter in this process, with its data in
//! `DATA/meta`. The broker reads the node's applied state directly.

use std::collections::BTreeMap;
use std::time::Duration;

use chronik_auth::acl::{AclBinding, AclFilter};
use chronik_metadata::controller::{
    self, AlterPartitionRequest, BrokerRegistration, ElectionResult, ElectionType,
};
use chronik_metadata::grpc::ClusterTls;
use chronik_metadata::node::{MetaNode, NewTopicSpec, NodeConfig, NodeError};
use chronik_metadata::proto::{RemoteLogStartChange, RemoteSegmentChange};
use chronik_metadata::{
    BrokerId, ConfigResource, MetadataState, QuotaEntity, ScramAlteration, Uuid,
};
use tokio::sync::watch;

use super::quorum::{MetadataQuorum, QuorumStatus, ReassignmentChange, VoterStatus};
use crate::BrokerError;

/// Session of the broker under the embedded quorum.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fresh single-voter node may take to elect itself.
const LEADER_WAIT: Duration = Duration::from_secs(15);

pub(crate) struct EmbeddedQuorum {
    node: MetaNode,
}

impl EmbeddedQuorum {
    /// Starts broker `me`'s single voter with its data in `data_dir/meta`.
    pub async fn start(
        me: BrokerId,
        data_dir: &std::path::Path,
        listen: std::net::SocketAddr,
        tls: Option<ClusterTls>,
    ) -> Result<EmbeddedQuorum, BrokerError> {
        let voter = u64::try_from(me)
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| BrokerError::Config(format!("broker id {me} must be positive")))?;
        let mut cfg = NodeConfig::new(voter, listen, data_dir.join("meta"));
        // The only broker has no one to fail over to: a long session keeps a broker stalled
        // under load (its heartbeat task starved) from fencing itself for nothing.
        cfg.session_timeout = SESSION_TIMEOUT;
        cfg.tls = tls;
        EmbeddedQuorum::start_with(cfg).await
    }

    /// Starts a single voter with `cfg` and waits until it leads.
    pub async fn start_with(cfg: NodeConfig) -> Result<EmbeddedQuorum, BrokerError> {
        let node = MetaNode::start(cfg).await?;
        let deadline = tokio::time::Instant::now() + LEADER_WAIT;
        while node.ensure_leader().await.is_err() {
            if tokio::time::Instant::now() >= deadline {
                return Err(BrokerError::NoMetaLeader(LEADER_WAIT));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(EmbeddedQuorum { node })
    }
}

#[async_trait::async_trait]
impl MetadataQuorum for EmbeddedQuorum {
    fn cluster_id(&self) -> &str {
        self.node.cluster_id()
    }

    fn session_timeout(&self) -> Duration {
        self.node.session_timeout()
    }

    /// One: the embedded quorum serves a single broker.
    fn offsets_replication(&self, _configured: i16) -> i16 {
        1
    }

    fn with_metadata(&self, f: &mut dyn FnMut(&MetadataState)) {
        self.node.state().metadata(f)
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.node.state().subscribe()
    }

    async fn register(&self, reg: &BrokerRegistration) -> Result<(), NodeError> {
        match self.node.register_broker(reg.clone()).await {
            Err(NodeError::DuplicateRegistration(_)) => {
                // The embedded quorum lives in this data dir, whose lock we hold: the
                // incarnation it still counts as live is this broker before a restart.
                (self.node)
                    .decide(|s| controller::fence_broker(s, reg.broker_id))
                    .await?;
                self.node.register_broker(reg.clone()).await
            }
            other => other,
        }
    }

    async fn heartbeat(&self, broker: BrokerId, incarnation: Uuid) -> Result<bool, NodeError> {
        self.node.heartbeat(broker, incarnation).await
    }

    async fn hold_session(&self, _: BrokerId, _: Uuid) -> Result<bool, NodeError> {
        Ok(false)
    }

    /// Nothing to do: there is no other broker to hand leaderships to.
    async fn controlled_shutdown(&self, _: BrokerId, _: Uuid) -> Result<(), NodeError> {
        Ok(())
    }

    async fn alter_partition(&self, req: &AlterPartitionRequest) -> Result<(), NodeError> {
        self.node.alter_partition(req.clone()).await
    }

    async fn create_topic(&self, spec: NewTopicSpec) -> Result<(), NodeError> {
        self.node.create_topic(spec).await.map(drop)
    }

    async fn delete_topic(&self, name: &str) -> Result<(), NodeError> {
        self.node.delete_topic(name).await
    }

    async fn elect_leaders(
        &self,
        kind: ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<ElectionResult>, NodeError> {
        self.node.elect_leaders(kind, partitions).await
    }

    async fn alter_reassignments(
        &self,
        changes: &[ReassignmentChange],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        let mut outcomes = Vec::new();
        for c in changes {
            let target = c.target.as_deref();
            outcomes.push(
                self.node
                    .alter_reassignment(&c.topic, c.partition, target)
                    .await,
            );
        }
        Ok(outcomes)
    }

    async fn quorum_status(&self) -> Result<QuorumStatus, NodeError> {
        let raft = self.node.raft().status().await?;
        let matched =
            |id: u64| (raft.voter_match.iter()).find_map(|(v, m)| (*v == id).then_some(*m));
        Ok(QuorumStatus {
            leader: raft.leader_id,
            term: raft.term,
            commit_index: raft.commit_index,
            voters: (raft.voters.iter())
                .map(|id| VoterStatus {
                    id: *id,
                    matched: matched(*id),
                    address: self.node.leader_address(*id),
                })
                .collect(),
        })
    }

    async fn create_partitions(
        &self,
        name: &str,
        total: i32,
        assignment: &[Vec<BrokerId>],
    ) -> Result<(), NodeError> {
        self.node.create_partitions(name, total, assignment).await
    }

    async fn change_configs(
        &self,
        resource: &ConfigResource,
        set: BTreeMap<String, String>,
        delete: Vec<String>,
        expected: Option<BTreeMap<String, String>>,
    ) -> Result<(), NodeError> {
        (self.node)
            .change_configs(resource, &set, &delete, expected.as_ref())
            .await
    }

    async fn alter_client_quota(
        &self,
        entity: &QuotaEntity,
        set: BTreeMap<String, f64>,
        remove: Vec<String>,
    ) -> Result<(), NodeError> {
        self.node.alter_client_quota(entity, &set, &remove).await
    }

    async fn alter_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        let mut outcomes = Vec::with_capacity(alterations.len());
        for a in alterations {
            outcomes.push(self.node.alter_scram_credential(a).await);
        }
        Ok(outcomes)
    }

    async fn create_acls(
        &self,
        acls: &[AclBinding],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        let mut outcomes = Vec::with_capacity(acls.len());
        for acl in acls {
            outcomes.push(self.node.create_acl(acl).await);
        }
        Ok(outcomes)
    }

    async fn delete_acls(
        &self,
        filters: &[AclFilter],
    ) -> Result<Vec<Result<Vec<AclBinding>, NodeError>>, NodeError> {
        let matched = self.node.delete_acls(filters).await?;
        Ok(matched.into_iter().map(Ok).collect())
    }

    async fn allocate_producer_ids(&self, broker: BrokerId) -> Result<(i64, i32), NodeError> {
        self.node.allocate_producer_ids(broker).await
    }

    async fn change_remote_segment(
        &self,
        broker: BrokerId,
        change: &RemoteSegmentChange,
    ) -> Result<(), NodeError> {
        self.node
            .change_remote_segment(broker, change.clone())
            .await
    }

    async fn move_remote_log_start(
        &self,
        broker: BrokerId,
        change: &RemoteLogStartChange,
    ) -> Result<(), NodeError> {
        self.node
            .move_remote_log_start(broker, change.clone())
            .await
    }

    async fn shutdown(&self) {
        self.node.shutdown().await;
    }
}
