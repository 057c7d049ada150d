//! Glue to the embedded metadata node: start it, register this broker and keep its session
//! alive, create topics, and keep the hosted partition logs in step with the metadata.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chronik_metadata::controller::{self, BrokerRegistration, Decision};
use chronik_metadata::node::{MetaNode, NewTopicSpec, NodeConfig, NodeError};
use chronik_metadata::proto::ConfigChange;
use chronik_metadata::{BrokerId, ControllerError, MetadataRecord, MetadataState, Record, Uuid};
use tokio::task::JoinHandle;

use crate::BrokerError;
use crate::partitions::Partitions;

/// How long a fresh single-voter node may take to elect itself.
const LEADER_WAIT: Duration = Duration::from_secs(15);

/// The metadata side of a running broker.
pub(crate) struct Cluster {
    pub node: MetaNode,
    pub me: BrokerId,
    incarnation: Uuid,
}

impl Cluster {
    /// Starts the embedded single-voter node with its data in `DATA/meta`.
    pub async fn start(
        me: BrokerId,
        data_dir: &std::path::Path,
        listen: std::net::SocketAddr,
    ) -> Result<Cluster, BrokerError> {
        let voter = u64::try_from(me)
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| BrokerError::Config(format!("broker id {me} must be positive")))?;
        let cfg = NodeConfig::new(voter, listen, data_dir.join("meta"));
        let node = MetaNode::start(cfg).await?;
        let deadline = tokio::time::Instant::now() + LEADER_WAIT;
        while node.ensure_leader().await.is_err() {
            if tokio::time::Instant::now() >= deadline {
                return Err(BrokerError::NoMetaLeader(LEADER_WAIT));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Cluster {
            node,
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
        match self.node.register_broker(reg.clone()).await {
            Ok(()) => {}
            Err(chronik_metadata::node::NodeError::DuplicateRegistration(_)) => {
                // The embedded quorum lives in this data dir, whose lock we hold: the
                // incarnation it still counts as live is this broker before a restart.
                self.node
                    .decide(|s| chronik_metadata::controller::fence_broker(s, self.me))
                    .await?;
                self.node.register_broker(reg).await?;
            }
            Err(e) => return Err(e.into()),
        }
        self.node.heartbeat(self.me, self.incarnation).await?;
        tracing::info!(
            broker = self.me,
            host,
            port,
            "broker registered and unfenced"
        );
        Ok(())
    }

    /// Heartbeats well within the session so the controller never fences a live broker.
    pub fn spawn_heartbeats(self: &Arc<Self>) -> JoinHandle<()> {
        let cluster = self.clone();
        let period = (cluster.node.session_timeout() / 3).max(Duration::from_millis(100));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                ticker.tick().await;
                let beat = cluster.node.heartbeat(cluster.me, cluster.incarnation);
                if let Err(e) = beat.await {
                    tracing::warn!(broker = cluster.me, error = %e, "heartbeat failed");
                }
            }
        })
    }

    /// Reconciles the hosted logs after every applied metadata change.
    pub fn spawn_reconciler(self: &Arc<Self>, partitions: Arc<Partitions>) -> JoinHandle<()> {
        let cluster = self.clone();
        let mut applied = cluster.node.state().subscribe();
        tokio::spawn(async move {
            loop {
                cluster.reconcile(&partitions);
                if applied.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    pub fn reconcile(&self, partitions: &Partitions) {
        (self.node.state()).metadata(|s| partitions.reconcile(s, self.me));
    }

    /// Runs `f` on the current metadata state.
    pub fn metadata<R>(&self, f: impl FnOnce(&MetadataState) -> R) -> R {
        self.node.state().metadata(f)
    }

    /// Creates a topic with `partitions` partitions and replication factor 1.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<(), NodeError> {
        let spec = NewTopicSpec {
            name: name.to_owned(),
            partitions,
            replication_factor: 1,
            configs,
        };
        self.node.create_topic(spec).await?;
        tracing::info!(topic = name, partitions, "topic created");
        Ok(())
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), NodeError> {
        self.node.delete_topic(name).await?;
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
        self.node.create_partitions(name, total).await?;
        tracing::info!(topic = name, partitions = total, "partitions added");
        Ok(())
    }

    /// Replaces the configs of topic `name` by what `change` makes of the current ones, as one
    /// `ConfigChange` record decided against the projected state (so concurrent changes do not
    /// overwrite each other); with `validate_only` nothing is proposed.
    pub async fn alter_topic_configs(
        &self,
        name: &str,
        validate_only: bool,
        change: impl FnOnce(
            &BTreeMap<String, String>,
        ) -> Result<BTreeMap<String, String>, ControllerError>,
    ) -> Result<(), NodeError> {
        let decide = |s: &MetadataState| config_change(s, name, change);
        if validate_only {
            return self.metadata(decide).map(drop).map_err(NodeError::from);
        }
        for record in self.node.decide(decide).await? {
            if let Some(Record::ConfigChange(c)) = &record.record {
                tracing::info!(topic = name, set = ?c.set, deleted = ?c.delete, "topic configs changed");
            }
        }
        Ok(())
    }

    /// The cluster id the metadata node was started with.
    pub fn cluster_id(&self) -> String {
        self.node.cluster_id().to_owned()
    }

    /// A block of producer ids for this broker: (first id, count).
    pub async fn allocate_producer_ids(&self) -> Result<(i64, i32), NodeError> {
        self.node.allocate_producer_ids(self.me).await
    }

    /// Whether the internal `__consumer_offsets` topic exists.
    pub fn offsets_topic_exists(&self) -> bool {
        self.metadata(|s| s.topic_by_name(crate::groups::OFFSETS_TOPIC).is_some())
    }

    /// Creates the internal `__consumer_offsets` topic (whatever auto-creation says). Its
    /// records are kept forever: without compaction, retention would delete live offsets.
    pub async fn create_offsets_topic(&self, partitions: i32) -> Result<(), NodeError> {
        let configs = BTreeMap::from([
            ("retention.ms".to_owned(), "-1".to_owned()),
            ("retention.bytes".to_owned(), "-1".to_owned()),
        ]);
        self.create_topic(crate::groups::OFFSETS_TOPIC, partitions, configs)
            .await
    }
}

/// The record taking topic `name` to the configs `change` computes; none when nothing changes.
fn config_change(
    state: &MetadataState,
    name: &str,
    change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ControllerError>,
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
