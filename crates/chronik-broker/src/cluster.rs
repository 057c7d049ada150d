//! The metadata side of a broker: the quorum behind one interface ([`MetadataQuorum`]: the
//! embedded single voter, or an external quorum with `--meta`); registering this broker and
//! keeping its session alive; topic changes; and keeping the hosted partition logs in step
//! with the metadata.

mod cluster_id;
#[cfg(test)]
mod conformance_tests;
pub(crate) mod embedded;
mod external;
mod image;
mod peer_tls;
pub(crate) use peer_tls::PeerTls;
mod quorum;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chronik_metadata::controller::{
    self, BrokerRegistration, ElectionOutcome, ElectionResult, ElectionType,
};
use chronik_metadata::node::{NewTopicSpec, NodeError};
use chronik_metadata::proto::{RemoteLogStartChange, RemoteSegmentChange};
use chronik_metadata::{
    BrokerEndpoint, BrokerId, ConfigResource, ControllerError, ErrorKind, MetadataState,
    QuotaEntity, ScramAlteration, Uuid,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::embedded::EmbeddedQuorum;
use self::external::ExternalQuorum;
#[cfg(test)]
pub(crate) use self::quorum::VoterStatus;
pub(crate) use self::quorum::{MetadataQuorum, QuorumStatus, ReassignmentChange};
use crate::partitions::Partitions;
use crate::{BrokerConfig, BrokerError};
use chronik_client::{ConnConfig, Connection};

/// How often a topic-config change is computed again after losing to a concurrent one.
const CONFIG_CHANGE_ATTEMPTS: u32 = 10;
/// Pause before the session stream is opened again after it ended; doubled after each refusal
/// up to the longest.
const SESSION_STREAM_RETRY: Duration = Duration::from_millis(50);
const SESSION_STREAM_MAX_RETRY: Duration = Duration::from_secs(1);
/// How long a change the quorum accepted may take to show in this broker's metadata.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(20);

/// How this broker creates `__consumer_offsets` (Kafka's `offsets.topic.*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetsTopic {
    /// Replicas of each partition, as configured (the quorum may override it).
    pub replication_factor: i16,
    /// The topic's `segment.bytes` (`offsets.topic.segment.bytes`): small segments are
    /// sealed, and so cleaned, sooner.
    pub segment_bytes: u64,
}

/// Another broker's address for broker-to-broker connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerAddress {
    pub addr: std::net::SocketAddr,
    /// The host it registered, which its certificate must name.
    pub host: String,
}

/// The metadata side of a running broker.
pub(crate) struct Cluster {
    quorum: Box<dyn MetadataQuorum>,
    pub me: BrokerId,
    incarnation: Uuid,
    /// Replicas of each `__consumer_offsets` partition.
    offsets_replication: i16,
    /// `segment.bytes` of `__consumer_offsets`.
    offsets_segment_bytes: u64,
    /// TLS for gRPC to the quorum and Kafka connections to other brokers (`--cluster-tls`).
    peer_tls: Option<PeerTls>,
}

impl Cluster {
    /// Starts the embedded single-voter node with its data in `DATA/meta`, or connects to the
    /// meta nodes at `config.meta` when any are given (over TLS with `--cluster-tls`).
    pub async fn start(
        config: &BrokerConfig,
        offsets: OffsetsTopic,
    ) -> Result<Cluster, BrokerError> {
        let tls = peer_tls::load(config)?;
        let grpc_tls = tls.as_ref().map(|t| t.grpc.clone());
        let quorum: Box<dyn MetadataQuorum> = if config.meta.is_empty() {
            let data_dir = &config.data_dir;
            Box::new(
                EmbeddedQuorum::start(config.id, data_dir, config.meta_listen, grpc_tls).await?,
            )
        } else {
            let quorum = ExternalQuorum::connect(&config.meta, grpc_tls).await?;
            cluster_id::check(&config.data_dir, quorum.cluster_id(), &config.meta)?;
            Box::new(quorum)
        };
        let mut cluster = Cluster::with_quorum(config.id, quorum, offsets);
        cluster.peer_tls = tls;
        Ok(cluster)
    }

    /// Broker `me` on `quorum`, with a fresh incarnation.
    pub fn with_quorum(
        me: BrokerId,
        quorum: Box<dyn MetadataQuorum>,
        offsets: OffsetsTopic,
    ) -> Cluster {
        Cluster {
            offsets_replication: quorum.offsets_replication(offsets.replication_factor),
            offsets_segment_bytes: offsets.segment_bytes,
            quorum,
            me,
            incarnation: Uuid(rand::random::<[u8; 16]>()),
            peer_tls: None,
        }
    }

    /// Registers this broker with its listeners and unfences it, which makes it leader of the
    /// partitions it replicates again (with a new leader epoch after a restart). The first
    /// listener is where other brokers reach this one.
    pub async fn register(&self, listeners: &[BrokerEndpoint]) -> Result<(), BrokerError> {
        let first = listeners.first().ok_or_else(|| {
            BrokerError::Config("a broker needs at least one listener to register".into())
        })?;
        let (host, port) = (first.host.as_str(), first.port);
        let reg = BrokerRegistration {
            broker_id: self.me,
            incarnation: self.incarnation,
            host: host.to_owned(),
            port,
            rack: None,
            endpoints: listeners.to_vec(),
        };
        self.quorum.register(&reg).await?;
        self.heartbeat().await?;
        // Serving metadata without itself in it would send clients elsewhere.
        let me = self.me;
        let live = |s: &MetadataState| s.live_brokers().any(|b| b.id == me);
        self.wait_for("this broker live", live).await?;
        tracing::info!(
            broker = self.me,
            host,
            port,
            "broker registered and unfenced"
        );
        Ok(())
    }

    async fn heartbeat(&self) -> Result<bool, NodeError> {
        self.quorum.heartbeat(self.me, self.incarnation).await
    }

    /// Waits until this broker's metadata satisfies `done`.
    async fn wait_for(
        &self,
        what: &str,
        done: impl Fn(&MetadataState) -> bool,
    ) -> Result<(), NodeError> {
        let shown = quorum::view_shows(self.quorum.as_ref(), done, CATCH_UP_TIMEOUT);
        match shown.await {
            true => Ok(()),
            false => Err(NodeError::Unreachable(format!(
                "this broker's metadata did not show {what} within {CATCH_UP_TIMEOUT:?}"
            ))),
        }
    }

    /// Heartbeats well within the session so the controller never fences a live broker; a
    /// broker fenced anyway (its heartbeats could not get through in time) registers again.
    /// Beside them, holds the session stream that lets the controller see this process die.
    pub fn spawn_heartbeats(self: &Arc<Self>, listeners: Vec<BrokerEndpoint>) -> JoinHandle<()> {
        let cluster = self.clone();
        tokio::spawn(async move {
            tokio::join!(
                cluster.heartbeat_loop(listeners),
                cluster.hold_session_loop()
            );
        })
    }

    async fn heartbeat_loop(&self, listeners: Vec<BrokerEndpoint>) {
        let cluster = self;
        loop {
            // With an attempt bounded by half the session, a heartbeat still lands within
            // it when the first meta node tried does not answer.
            let period = (cluster.quorum.session_timeout() / 4).max(Duration::from_millis(100));
            tokio::time::sleep(period).await;
            let fenced = match cluster.heartbeat().await {
                Ok(fenced) => fenced,
                // Refused (say, a stale incarnation): the controller no longer knows us.
                Err(e) if e.kind().is_refusal() => {
                    tracing::warn!(broker = cluster.me, error = %e, "heartbeat refused");
                    true
                }
                Err(e) => {
                    tracing::warn!(broker = cluster.me, error = %e, "heartbeat failed");
                    false
                }
            };
            if fenced && let Err(e) = cluster.register(&listeners).await {
                tracing::warn!(broker = cluster.me, error = %e, "registering again failed");
            }
        }
    }

    /// Keeps the session stream open, opening it again on the controller of the moment
    /// whenever it ends.
    async fn hold_session_loop(&self) {
        let mut pause = SESSION_STREAM_RETRY;
        loop {
            match self.quorum.hold_session(self.me, self.incarnation).await {
                Ok(false) => return,
                Ok(true) => pause = SESSION_STREAM_RETRY,
                // Say, not registered yet or no controller elected: heartbeats report that.
                Err(e) => {
                    tracing::debug!(broker = self.me, error = %e, "session stream refused");
                    pause = (pause * 2).min(SESSION_STREAM_MAX_RETRY);
                }
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Reconciles the hosted logs after every applied metadata change, off the async
    /// threads (opening a log recovers it from disk).
    pub fn spawn_reconciler(self: &Arc<Self>, partitions: Arc<Partitions>) -> JoinHandle<()> {
        let cluster = self.clone();
        let mut applied = cluster.subscribe();
        tokio::spawn(async move {
            loop {
                let (c, p) = (cluster.clone(), partitions.clone());
                if let Err(e) = tokio::task::spawn_blocking(move || c.reconcile(&p)).await {
                    tracing::error!(error = %e, "reconciling the partition logs failed");
                }
                if applied.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    /// A receiver that changes whenever metadata is applied.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.quorum.subscribe()
    }

    /// Opens and removes logs to match the metadata as it is when this reconciliation has its
    /// turn; the metadata lock is released before any log is touched.
    pub fn reconcile(&self, partitions: &Partitions) {
        partitions.reconcile_latest(|| self.metadata(|s| partitions.wanted(s, self.me)));
    }

    /// Removes the data of topics deleted while this broker was down.
    pub fn remove_orphans(&self, partitions: &Partitions) {
        let wanted = self.metadata(|s| partitions.wanted(s, self.me));
        partitions.remove_orphans(&wanted);
    }

    /// Runs `f` on the current metadata state.
    pub fn metadata<R>(&self, f: impl FnOnce(&MetadataState) -> R) -> R {
        let (mut f, mut out) = (Some(f), None);
        self.quorum
            .with_metadata(&mut |s| out = f.take().map(|f| f(s)));
        out.expect("with_metadata calls back once")
    }

    /// Controlled shutdown: moves this broker's leaderships to other in-sync replicas before
    /// it stops, so clients retry there instead of failing. Heartbeats must have stopped (they
    /// would unfence it again).
    pub async fn controlled_shutdown(&self) {
        match self
            .quorum
            .controlled_shutdown(self.me, self.incarnation)
            .await
        {
            Ok(()) => tracing::info!(
                broker = self.me,
                "controlled shutdown: leaderships moved to other replicas"
            ),
            Err(e) => {
                tracing::warn!(broker = self.me, error = %e, "controlled shutdown failed; stopping anyway (clients fail over after the session expires)")
            }
        }
    }

    /// Asks the controller to change a partition's ISR (this broker leads it).
    pub async fn alter_partition(
        &self,
        req: controller::AlterPartitionRequest,
    ) -> Result<(), NodeError> {
        self.quorum.alter_partition(&req).await
    }

    /// Runs an operator's leader election for `partitions` (every one when `None`); returns
    /// each partition's outcome once this broker's metadata shows the new leaders.
    pub async fn elect_leaders(
        &self,
        kind: ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<ElectionResult>, NodeError> {
        let results = self.quorum.elect_leaders(kind, partitions).await?;
        let elected: Vec<&ElectionResult> = (results.iter())
            .filter(|r| r.outcome == ElectionOutcome::Elected)
            .collect();
        let shown = |s: &MetadataState| {
            elected.iter().all(|r| {
                let p = s
                    .topic_by_name(&r.topic)
                    .and_then(|t| t.partition(r.partition));
                p.is_some_and(|p| match kind {
                    ElectionType::Preferred => p.replicas.first() == Some(&p.leader),
                    ElectionType::Unclean => !p.is_offline(),
                })
            })
        };
        self.wait_for("the elected leaders", shown).await?;
        tracing::info!(?kind, elected = elected.len(), "leaders elected");
        Ok(results)
    }

    /// Starts or cancels replica reassignments; each one's outcome, in order, once this
    /// broker's metadata shows it.
    pub async fn alter_reassignments(
        &self,
        changes: &[ReassignmentChange],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        let outcomes = self.quorum.alter_reassignments(changes).await?;
        let applied: Vec<&ReassignmentChange> = (changes.iter().zip(&outcomes))
            .filter(|(_, o)| o.is_ok())
            .map(|(c, _)| c)
            .collect();
        let shown = |s: &MetadataState| {
            applied.iter().all(|c| {
                let p = s
                    .topic_by_name(&c.topic)
                    .and_then(|t| t.partition(c.partition));
                p.is_some_and(|p| match &c.target {
                    Some(target) => p.target_replicas() == target.as_slice(),
                    None => !p.is_reassigning(),
                })
            })
        };
        self.wait_for("the reassignments", shown).await?;
        tracing::info!(changes = applied.len(), "replica reassignments changed");
        Ok(outcomes)
    }

    /// The metadata quorum's leader, term, commit index and voters.
    pub async fn quorum_status(&self) -> Result<QuorumStatus, NodeError> {
        self.quorum.quorum_status().await
    }

    /// Where other brokers reach broker `id` while it is live: its first listener, resolved.
    pub async fn peer_address(&self, id: BrokerId) -> Option<PeerAddress> {
        let (host, port) = self.metadata(|s| {
            let b = s.broker(id).filter(|b| b.is_live())?;
            Some((b.host.clone(), b.port))
        })?;
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .ok()?
            .next()?;
        Some(PeerAddress { addr, host })
    }

    /// A Kafka connection to another broker, over TLS with this broker's certificate when
    /// the cluster's traffic is encrypted (`--cluster-tls`).
    pub async fn open_peer(
        &self,
        peer: &PeerAddress,
        config: ConnConfig,
    ) -> chronik_client::Result<Connection> {
        let config = ConnConfig {
            tls: self.peer_tls.as_ref().map(|t| t.kafka.current()),
            ..config
        };
        Connection::open_as(peer.addr, &peer.host, &config).await
    }

    /// The certificates of this broker's connections to the rest of the cluster, which SIGHUP
    /// reloads; `None` without `--cluster-tls`.
    pub fn peer_tls(&self) -> Option<PeerTls> {
        self.peer_tls.clone()
    }

    /// Stops what runs in this process for the quorum (the embedded node).
    pub async fn shutdown(&self) {
        self.quorum.shutdown().await;
    }

    /// Creates a topic; the controller places its replicas on live brokers, or as
    /// `assignment` says (replicas per partition) when it is not empty.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
        assignment: Vec<Vec<BrokerId>>,
    ) -> Result<(), NodeError> {
        let spec = NewTopicSpec {
            name: name.to_owned(),
            partitions,
            replication_factor,
            configs,
            assignment,
        };
        self.quorum.create_topic(spec).await?;
        tracing::info!(
            topic = name,
            partitions,
            replication_factor,
            "topic created"
        );
        Ok(())
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), NodeError> {
        self.quorum.delete_topic(name).await?;
        tracing::info!(topic = name, "topic deleted");
        Ok(())
    }

    /// Grows topic `name` to `total` partitions (placed by the controller, or as `assignment`
    /// says when it is not empty); with `validate_only` only checks that the controller would
    /// accept it.
    pub async fn create_partitions(
        &self,
        name: &str,
        total: i32,
        assignment: &[Vec<BrokerId>],
        validate_only: bool,
    ) -> Result<(), NodeError> {
        if validate_only {
            let decision =
                self.metadata(|s| controller::create_partitions(s, name, total, assignment));
            return decision.map(drop).map_err(NodeError::from);
        }
        self.quorum
            .create_partitions(name, total, assignment)
            .await?;
        tracing::info!(topic = name, partitions = total, "partitions added");
        Ok(())
    }

    /// Replaces the configs of `resource` (a topic or broker) by what `change` makes of the
    /// current ones; with `validate_only` nothing is written. The change is computed from this
    /// broker's metadata and written conditionally (applied only while the quorum's configs
    /// are the ones it was computed from), and computed again when another change got there
    /// first: a concurrent change is never overwritten.
    pub async fn alter_configs(
        &self,
        resource: &ConfigResource,
        validate_only: bool,
        change: impl Fn(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ControllerError>,
    ) -> Result<(), NodeError> {
        let mut attempt = 1;
        loop {
            let (computed, expected) = self.metadata(|s| {
                let current = resource.configs(s).cloned();
                config_change(s, resource, &change).map(|c| (c, current))
            })?;
            let Some((set, delete)) = computed.filter(|_| !validate_only) else {
                return Ok(());
            };
            let written = (self.quorum)
                .change_configs(resource, set.clone(), delete.clone(), expected.clone())
                .await;
            match written {
                Ok(()) => {
                    tracing::info!(%resource, ?set, deleted = ?delete, "configs changed");
                    return Ok(());
                }
                Err(e)
                    if e.kind() == ErrorKind::ConfigsChanged
                        && attempt < CONFIG_CHANGE_ATTEMPTS =>
                {
                    attempt += 1;
                    tracing::debug!(
                        %resource,
                        attempt,
                        "configs changed meanwhile; computing the change again"
                    );
                    // Recompute once this broker's metadata shows what got there first.
                    let moved = |s: &MetadataState| resource.configs(s) != expected.as_ref();
                    self.wait_for("the newer configs", moved).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sets the client quotas `set` of `entity` and removes those named in `remove`; with
    /// `validate_only` only checks that the controller would accept it. Returns once this
    /// broker's metadata shows the change.
    pub async fn alter_client_quota(
        &self,
        entity: &QuotaEntity,
        set: BTreeMap<String, f64>,
        remove: Vec<String>,
        validate_only: bool,
    ) -> Result<(), NodeError> {
        if validate_only {
            let decision =
                self.metadata(|s| controller::alter_client_quota(s, entity, &set, &remove));
            return decision.map(drop).map_err(NodeError::from);
        }
        let logged = (set.clone(), remove.clone());
        self.quorum.alter_client_quota(entity, set, remove).await?;
        tracing::info!(%entity, set = ?logged.0, removed = ?logged.1, "client quotas changed");
        Ok(())
    }

    /// Upserts and deletes SCRAM credentials, each on its own: each alteration's outcome, in
    /// order. Returns once this broker's metadata shows what succeeded.
    pub async fn alter_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        let outcomes = self.quorum.alter_scram_credentials(alterations).await?;
        for (a, outcome) in alterations.iter().zip(&outcomes) {
            // The user and mechanism only: a salt or key never reaches a log.
            match outcome {
                Ok(()) => tracing::info!(alteration = ?a, "SCRAM credential changed"),
                Err(e) => tracing::debug!(alteration = ?a, error = %e, "SCRAM credential refused"),
            }
        }
        Ok(outcomes)
    }

    /// Creates ACLs, each on its own (see [`MetadataQuorum::create_acls`]).
    pub async fn create_acls(
        &self,
        acls: &[chronik_auth::acl::AclBinding],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        self.quorum.create_acls(acls).await
    }

    /// Deletes what each filter matches, at once (see [`MetadataQuorum::delete_acls`]).
    pub async fn delete_acls(
        &self,
        filters: &[chronik_auth::acl::AclFilter],
    ) -> Result<Vec<Result<Vec<chronik_auth::acl::AclBinding>, NodeError>>, NodeError> {
        self.quorum.delete_acls(filters).await
    }

    /// The cluster id the metadata node was started with.
    pub fn cluster_id(&self) -> String {
        self.quorum.cluster_id().to_owned()
    }

    /// Records a step of one remote segment copy, as this broker.
    pub async fn change_remote_segment(
        &self,
        change: &RemoteSegmentChange,
    ) -> Result<(), NodeError> {
        self.quorum.change_remote_segment(self.me, change).await
    }

    /// Moves a partition's log start over both tiers forward, as its leader.
    pub async fn move_remote_log_start(
        &self,
        change: &RemoteLogStartChange,
    ) -> Result<(), NodeError> {
        self.quorum.move_remote_log_start(self.me, change).await
    }

    /// A block of producer ids for this broker: (first id, count).
    pub async fn allocate_producer_ids(&self) -> Result<(i64, i32), NodeError> {
        self.quorum.allocate_producer_ids(self.me).await
    }

    /// Whether the internal `__consumer_offsets` topic exists.
    pub fn offsets_topic_exists(&self) -> bool {
        self.metadata(|s| s.topic_by_name(crate::groups::OFFSETS_TOPIC).is_some())
    }

    /// Creates the internal `__consumer_offsets` topic: see [`Cluster::create_internal_topic`].
    pub async fn create_offsets_topic(&self, partitions: i32) -> Result<(), NodeError> {
        self.create_internal_topic(crate::groups::OFFSETS_TOPIC, partitions)
            .await
    }

    /// Creates an internal topic (`__consumer_offsets`, `__transaction_state`), whatever
    /// auto-creation says, once enough brokers are live for its replication factor. It is
    /// compacted, as Kafka's are: the latest record of every key stays, older ones go; its
    /// `segment.bytes` is `--offsets-topic-segment-bytes` (only sealed segments are cleaned).
    pub async fn create_internal_topic(
        &self,
        name: &str,
        partitions: i32,
    ) -> Result<(), NodeError> {
        let configs = BTreeMap::from([
            ("cleanup.policy".to_owned(), "compact".to_owned()),
            (
                "segment.bytes".to_owned(),
                self.offsets_segment_bytes.to_string(),
            ),
        ]);
        let live = self.metadata(|s| s.live_brokers().count());
        let replication = self.offsets_replication;
        if usize::try_from(replication).is_ok_and(|r| r > live) {
            return Err(NodeError::Controller(ControllerError::NotEnoughBrokers {
                replication_factor: i32::from(replication),
                live,
            }));
        }
        (self.create_topic(name, partitions, replication, configs, Vec::new())).await
    }
}

/// The configs to set and the keys to delete that take `resource` to what `change`
/// computes; `None` when nothing changes.
type ConfigDiff = Option<(BTreeMap<String, String>, Vec<String>)>;

fn config_change(
    state: &MetadataState,
    resource: &ConfigResource,
    change: impl Fn(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ControllerError>,
) -> Result<ConfigDiff, ControllerError> {
    let current = resource.configs(state).ok_or_else(|| match resource {
        ConfigResource::Topic(name) => ControllerError::UnknownTopic(name.clone()),
        ConfigResource::Broker(_) => {
            ControllerError::InvalidRequest(format!("{resource} has no configs"))
        }
    })?;
    let next = change(current)?;
    let delete: Vec<String> = (current.keys())
        .filter(|k| !next.contains_key(*k))
        .cloned()
        .collect();
    let set: BTreeMap<String, String> = (next.into_iter())
        .filter(|(k, v)| current.get(k) != Some(v))
        .collect();
    Ok((!set.is_empty() || !delete.is_empty()).then_some((set, delete)))
}
