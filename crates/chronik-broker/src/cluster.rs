//! The metadata side of a broker: the embedded single-voter node, or an external quorum
//! (`--meta`); registering this broker and keeping its session alive; topic changes; and
//! keeping the hosted partition logs in step with the metadata.

mod external;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chronik_metadata::controller::{self, BrokerRegistration, Decision};
use chronik_metadata::node::{MetaNode, NewTopicSpec, NodeConfig, NodeError};
use chronik_metadata::proto::ConfigChange;
use chronik_metadata::{
    BrokerId, CONFIGS_CHANGED_CODE, ControllerError, MetadataRecord, MetadataState, Record, Uuid,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::external::ExternalQuorum;
use crate::BrokerError;
use crate::partitions::Partitions;

/// Session of the broker under the embedded quorum.
const EMBEDDED_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fresh single-voter node may take to elect itself.
const LEADER_WAIT: Duration = Duration::from_secs(15);
/// Kafka's DUPLICATE_BROKER_REGISTRATION: a previous incarnation's session is still live.
const DUPLICATE_REGISTRATION: i16 = 101;
/// How often a topic-config change is computed again after losing to a concurrent one.
const CONFIG_CHANGE_ATTEMPTS: u32 = 10;

/// Where the metadata lives.
enum Quorum {
    /// An in-process single voter with its data in `DATA/meta`.
    Embedded(MetaNode),
    /// Meta nodes reached over gRPC.
    External(Box<ExternalQuorum>),
}

/// The metadata side of a running broker.
pub(crate) struct Cluster {
    quorum: Quorum,
    pub me: BrokerId,
    incarnation: Uuid,
    /// Replicas of each `__consumer_offsets` partition (1 under the embedded quorum).
    offsets_replication: i16,
}

impl Cluster {
    /// Starts the embedded single-voter node with its data in `DATA/meta`, or connects to the
    /// meta nodes at `meta` when any are given.
    pub async fn start(
        me: BrokerId,
        data_dir: &std::path::Path,
        listen: std::net::SocketAddr,
        meta: &[String],
        offsets_replication: i16,
    ) -> Result<Cluster, BrokerError> {
        let quorum = if meta.is_empty() {
            Quorum::Embedded(start_embedded(me, data_dir, listen).await?)
        } else {
            Quorum::External(Box::new(ExternalQuorum::connect(meta).await?))
        };
        let offsets_replication = match quorum {
            Quorum::Embedded(_) => 1,
            Quorum::External(_) => offsets_replication,
        };
        Ok(Cluster {
            quorum,
            offsets_replication,
            me,
            incarnation: Uuid(rand::random::<[u8; 16]>()),
        })
    }

    /// Registers this broker at `host:port` and unfences it, which makes it leader of the
    /// partitions it replicates again (with a new leader epoch after a restart).
    pub async fn register(&self, host: &str, port: u16) -> Result<(), BrokerError> {
        let reg = BrokerRegistration {
            broker_id: self.me,
            incarnation: self.incarnation,
            host: host.to_owned(),
            port,
            rack: None,
        };
        match &self.quorum {
            Quorum::Embedded(node) => register_embedded(node, reg).await?,
            Quorum::External(quorum) => register_external(quorum, &reg).await?,
        }
        self.heartbeat().await?;
        if let Quorum::External(q) = &self.quorum {
            q.wait_until_live(self.me).await?;
        }
        tracing::info!(
            broker = self.me,
            host,
            port,
            "broker registered and unfenced"
        );
        Ok(())
    }

    async fn heartbeat(&self) -> Result<bool, NodeError> {
        match &self.quorum {
            Quorum::Embedded(node) => node.heartbeat(self.me, self.incarnation).await,
            Quorum::External(q) => q.heartbeat(self.me, self.incarnation).await,
        }
    }

    fn session_timeout(&self) -> Duration {
        match &self.quorum {
            Quorum::Embedded(node) => node.session_timeout(),
            Quorum::External(q) => q.session_timeout(),
        }
    }

    /// Heartbeats well within the session so the controller never fences a live broker; a
    /// broker fenced anyway (its heartbeats could not get through in time) registers again.
    pub fn spawn_heartbeats(self: &Arc<Self>, host: String, port: u16) -> JoinHandle<()> {
        let cluster = self.clone();
        tokio::spawn(async move {
            loop {
                // With an attempt bounded by half the session, a heartbeat still lands within
                // it when the first meta node tried does not answer.
                let period = (cluster.session_timeout() / 4).max(Duration::from_millis(100));
                tokio::time::sleep(period).await;
                let fenced = match cluster.heartbeat().await {
                    Ok(fenced) => fenced,
                    Err(e @ (NodeError::StaleIncarnation(_) | NodeError::Remote { .. })) => {
                        tracing::warn!(broker = cluster.me, error = %e, "heartbeat refused");
                        true
                    }
                    Err(e) => {
                        tracing::warn!(broker = cluster.me, error = %e, "heartbeat failed");
                        false
                    }
                };
                if fenced && let Err(e) = cluster.register(&host, port).await {
                    tracing::warn!(broker = cluster.me, error = %e, "registering again failed");
                }
            }
        })
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
        match &self.quorum {
            Quorum::Embedded(node) => node.state().subscribe(),
            Quorum::External(q) => q.image().subscribe(),
        }
    }

    /// Opens and removes logs to match the metadata; the metadata lock is released before
    /// any log is touched.
    pub fn reconcile(&self, partitions: &Partitions) {
        let wanted = self.metadata(|s| partitions.wanted(s, self.me));
        partitions.reconcile(&wanted);
    }

    /// Removes the data of topics deleted while this broker was down.
    pub fn remove_orphans(&self, partitions: &Partitions) {
        let wanted = self.metadata(|s| partitions.wanted(s, self.me));
        partitions.remove_orphans(&wanted);
    }

    /// Runs `f` on the current metadata state.
    pub fn metadata<R>(&self, f: impl FnOnce(&MetadataState) -> R) -> R {
        match &self.quorum {
            Quorum::Embedded(node) => node.state().metadata(f),
            Quorum::External(q) => q.image().metadata(f),
        }
    }

    /// Controlled shutdown on an external quorum: moves this broker's leaderships to other
    /// in-sync replicas before it stops, so clients retry there instead of failing. Heartbeats
    /// must have stopped (they would unfence it again). The embedded quorum has no other
    /// broker to hand anything to.
    pub async fn controlled_shutdown(&self) {
        let Quorum::External(q) = &self.quorum else {
            return;
        };
        match q.shutdown_broker(self.me, self.incarnation).await {
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
        match &self.quorum {
            Quorum::Embedded(node) => node.alter_partition(req).await,
            Quorum::External(q) => q.alter_partition(&req).await,
        }
    }

    /// The `host:port` broker `id` registered, while it is live.
    pub fn broker_address(&self, id: BrokerId) -> Option<String> {
        self.metadata(|s| {
            let b = s.broker(id).filter(|b| b.is_live())?;
            Some(format!("{}:{}", b.host, b.port))
        })
    }

    /// Stops the embedded node (handing nothing over: it is the only voter).
    pub async fn shutdown(&self) {
        if let Quorum::Embedded(node) = &self.quorum {
            node.shutdown().await;
        }
    }

    /// Creates a topic; the controller places its replicas on live brokers.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<(), NodeError> {
        let spec = NewTopicSpec {
            name: name.to_owned(),
            partitions,
            replication_factor,
            configs,
        };
        match &self.quorum {
            Quorum::Embedded(node) => node.create_topic(spec).await.map(drop)?,
            Quorum::External(q) => q.create_topic(spec).await?,
        }
        tracing::info!(
            topic = name,
            partitions,
            replication_factor,
            "topic created"
        );
        Ok(())
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), NodeError> {
        match &self.quorum {
            Quorum::Embedded(node) => node.delete_topic(name).await?,
            Quorum::External(q) => q.delete_topic(name).await?,
        }
        tracing::info!(topic = name, "topic deleted");
        Ok(())
    }

    /// Grows topic `name` to `total` partitions; with `validate_only` only checks that the
    /// controller would accept it.
    pub async fn create_partitions(
        &self,
        name: &str,
        total: i32,
        validate_only: bool,
    ) -> Result<(), NodeError> {
        if validate_only {
            let decision = self.metadata(|s| controller::create_partitions(s, name, total));
            return decision.map(drop).map_err(NodeError::from);
        }
        match &self.quorum {
            Quorum::Embedded(node) => node.create_partitions(name, total).await?,
            Quorum::External(q) => q.create_partitions(name, total).await?,
        }
        tracing::info!(topic = name, partitions = total, "partitions added");
        Ok(())
    }

    /// Replaces the configs of topic `name` by what `change` makes of the current ones, as one
    /// `ConfigChange` record; with `validate_only` nothing is proposed. The embedded node decides
    /// it against its projected state; on an external quorum it is computed from the local
    /// image and sent as a conditional write (applied only while the quorum's configs are the
    /// image's), recomputed when another change got there first. Either way a concurrent change
    /// is never overwritten.
    pub async fn alter_topic_configs(
        &self,
        name: &str,
        validate_only: bool,
        change: impl Fn(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ControllerError>,
    ) -> Result<(), NodeError> {
        let decide = |s: &MetadataState| config_change(s, name, &change);
        if validate_only {
            return self.metadata(decide).map(drop).map_err(NodeError::from);
        }
        let records = match &self.quorum {
            Quorum::Embedded(node) => node.decide(decide).await?,
            Quorum::External(q) => {
                let mut attempt = 1;
                loop {
                    let (records, expected) = self.metadata(|s| {
                        let current = s.topic_by_name(name).map(|t| t.configs.clone());
                        decide(s).map(|records| (records, current))
                    })?;
                    let Some(c) = records.iter().find_map(|r| match &r.record {
                        Some(Record::ConfigChange(c)) => Some(c),
                        _ => None,
                    }) else {
                        break records;
                    };
                    let (set, delete) = (c.set.clone(), c.delete.clone());
                    match q
                        .change_topic_configs(name, set, delete, expected.clone())
                        .await
                    {
                        Ok(()) => break records,
                        Err(NodeError::Remote { code, .. })
                            if code == CONFIGS_CHANGED_CODE && attempt < CONFIG_CHANGE_ATTEMPTS =>
                        {
                            attempt += 1;
                            tracing::debug!(
                                topic = name,
                                attempt,
                                "topic configs changed meanwhile; computing the change again"
                            );
                            // Recompute once this broker's image shows what got there first.
                            q.wait_for_topic_configs_other_than(name, expected.as_ref())
                                .await?;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        for record in records {
            if let Some(Record::ConfigChange(c)) = &record.record {
                tracing::info!(topic = name, set = ?c.set, deleted = ?c.delete, "topic configs changed");
            }
        }
        Ok(())
    }

    /// The cluster id the metadata node was started with.
    pub fn cluster_id(&self) -> String {
        match &self.quorum {
            Quorum::Embedded(node) => node.cluster_id().to_owned(),
            Quorum::External(q) => q.cluster_id().to_owned(),
        }
    }

    /// A block of producer ids for this broker: (first id, count).
    pub async fn allocate_producer_ids(&self) -> Result<(i64, i32), NodeError> {
        match &self.quorum {
            Quorum::Embedded(node) => node.allocate_producer_ids(self.me).await,
            Quorum::External(q) => q.allocate_producer_ids(self.me).await,
        }
    }

    /// Whether the internal `__consumer_offsets` topic exists.
    pub fn offsets_topic_exists(&self) -> bool {
        self.metadata(|s| s.topic_by_name(crate::groups::OFFSETS_TOPIC).is_some())
    }

    /// Creates the internal `__consumer_offsets` topic (whatever auto-creation says) once
    /// enough brokers are live for its replication factor. Its records are kept forever:
    /// without compaction, retention would delete live offsets.
    pub async fn create_offsets_topic(&self, partitions: i32) -> Result<(), NodeError> {
        let configs = BTreeMap::from([
            ("retention.ms".to_owned(), "-1".to_owned()),
            ("retention.bytes".to_owned(), "-1".to_owned()),
        ]);
        let live = self.metadata(|s| s.live_brokers().count());
        let replication = self.offsets_replication;
        if usize::try_from(replication).is_ok_and(|r| r > live) {
            return Err(NodeError::Controller(ControllerError::NotEnoughBrokers {
                replication_factor: i32::from(replication),
                live,
            }));
        }
        (self.create_topic(
            crate::groups::OFFSETS_TOPIC,
            partitions,
            replication,
            configs,
        ))
        .await
    }
}

/// The record taking topic `name` to the configs `change` computes; none when nothing changes.
fn config_change(
    state: &MetadataState,
    name: &str,
    change: impl Fn(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ControllerError>,
) -> Decision {
    let topic = (state.topic_by_name(name))
        .ok_or_else(|| ControllerError::UnknownTopic(name.to_owned()))?;
    let next = change(&topic.configs)?;
    let delete: Vec<String> = (topic.configs.keys())
        .filter(|k| !next.contains_key(*k))
        .cloned()
        .collect();
    let set: BTreeMap<String, String> = (next.into_iter())
        .filter(|(k, v)| topic.configs.get(k) != Some(v))
        .collect();
    if set.is_empty() && delete.is_empty() {
        return Ok(Vec::new());
    }
    let record = ConfigChange {
        topic_id: topic.id.to_vec(),
        set,
        delete,
    };
    Ok(vec![MetadataRecord::new(Record::ConfigChange(record))])
}

async fn start_embedded(
    me: BrokerId,
    data_dir: &std::path::Path,
    listen: std::net::SocketAddr,
) -> Result<MetaNode, BrokerError> {
    let voter = u64::try_from(me)
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| BrokerError::Config(format!("broker id {me} must be positive")))?;
    let mut cfg = NodeConfig::new(voter, listen, data_dir.join("meta"));
    // The only broker has no one to fail over to: a long session keeps a broker stalled
    // under load (its heartbeat task starved) from fencing itself for nothing.
    cfg.session_timeout = EMBEDDED_SESSION_TIMEOUT;
    let node = MetaNode::start(cfg).await?;
    let deadline = tokio::time::Instant::now() + LEADER_WAIT;
    while node.ensure_leader().await.is_err() {
        if tokio::time::Instant::now() >= deadline {
            return Err(BrokerError::NoMetaLeader(LEADER_WAIT));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(node)
}

async fn register_embedded(node: &MetaNode, reg: BrokerRegistration) -> Result<(), NodeError> {
    match node.register_broker(reg.clone()).await {
        Err(NodeError::DuplicateRegistration(_)) => {
            // The embedded quorum lives in this data dir, whose lock we hold: the
            // incarnation it still counts as live is this broker before a restart.
            node.decide(|s| controller::fence_broker(s, reg.broker_id))
                .await?;
            node.register_broker(reg).await
        }
        other => other,
    }
}

/// Registers with an external controller. A previous incarnation of this broker (before a
/// restart) keeps its session until it expires, so a duplicate registration is retried until
/// then; another live broker with the same id keeps refusing us, and we give up.
async fn register_external(
    quorum: &ExternalQuorum,
    reg: &BrokerRegistration,
) -> Result<(), NodeError> {
    let deadline = tokio::time::Instant::now() + quorum.session_timeout() * 3;
    loop {
        match quorum.register(reg).await {
            Err(NodeError::Remote { code, .. })
                if code == DUPLICATE_REGISTRATION && tokio::time::Instant::now() < deadline =>
            {
                tracing::info!(
                    broker = reg.broker_id,
                    "waiting for this broker's previous session to expire"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}
