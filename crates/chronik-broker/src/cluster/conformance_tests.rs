//! One suite, run against both [`MetadataQuorum`] implementations: the embedded single voter
//! in a temp dir, and an external quorum of one and of three meta nodes in this process,
//! reached over loopback gRPC. Whatever a broker relies on must hold for both.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chronik_metadata::controller::{AlterPartitionRequest, BrokerRegistration};
use chronik_metadata::node::{MetaNode, NewTopicSpec, NodeConfig, NodeError};
use chronik_metadata::quotas::{
    CLIENT_ID, CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, USER,
};
use chronik_metadata::{
    BrokerId, ConfigResource, ErrorKind, MetadataState, PartitionState, QuotaEntity, TopicId, Uuid,
};
use tokio::task::JoinHandle;

mod acls;
mod endpoints;
mod remote_segments;
mod scram;

use acls::acls_are_created_and_deleted;
use endpoints::every_listener_is_registered;
use remote_segments::{
    remote_segment_steps_come_from_the_leader,
    the_log_start_over_both_tiers_moves_forward_by_the_leader,
};
use scram::scram_credentials_are_set_and_deleted;

use super::embedded::EmbeddedQuorum;
use super::external::ExternalQuorum;
use super::{Cluster, MetadataQuorum, OffsetsTopic};

/// Session of the brokers in these tests; the fencing test waits it out.
const SESSION: Duration = Duration::from_secs(2);
const OFFSETS: OffsetsTopic = OffsetsTopic {
    replication_factor: 3,
    segment_bytes: 100 * 1024 * 1024,
};

struct Fixture {
    cluster: Arc<Cluster>,
    /// The meta nodes of an external quorum.
    nodes: Vec<MetaNode>,
    cluster_id: String,
    heartbeats: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

fn node_config(id: u64, listen: &str, dir: &tempfile::TempDir) -> NodeConfig {
    let listen = listen.parse().expect("loopback address");
    let mut cfg = NodeConfig::new(id, listen, dir.path().join(format!("meta{id}")));
    cfg.session_timeout = SESSION;
    cfg
}

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("bound address").to_string()
}

impl Fixture {
    async fn embedded() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let quorum = EmbeddedQuorum::start_with(node_config(1, "127.0.0.1:0", &dir))
            .await
            .expect("embedded quorum starts");
        Fixture::new(Box::new(quorum), Vec::new(), dir)
    }

    /// A single meta node voter.
    async fn external() -> Fixture {
        Fixture::external_of(1).await
    }

    /// Three voters: writes go to the leader, the watch may follow another node.
    async fn external_three() -> Fixture {
        Fixture::external_of(3).await
    }

    async fn external_of(voters: u64) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let peers: BTreeMap<u64, String> = (1..=voters).map(|id| (id, free_address())).collect();
        let mut nodes = Vec::new();
        for (id, address) in &peers {
            let mut cfg = node_config(*id, address, &dir);
            if voters > 1 {
                cfg.peers = peers.clone();
                cfg.cluster_id = Some("conformance".to_owned());
            }
            nodes.push(MetaNode::start(cfg).await.expect("meta node starts"));
        }
        let addresses: Vec<String> = peers.into_values().collect();
        let quorum = ExternalQuorum::connect(&addresses, None)
            .await
            .expect("external quorum reachable");
        Fixture::new(Box::new(quorum), nodes, dir)
    }

    fn new(
        quorum: Box<dyn MetadataQuorum>,
        nodes: Vec<MetaNode>,
        dir: tempfile::TempDir,
    ) -> Fixture {
        // What the (first) meta node stored when it joined the cluster.
        let stored = std::fs::read_to_string(dir.path().join("meta1").join("cluster.id"));
        let cluster_id = stored.expect("cluster.id stored").trim().to_owned();
        Fixture {
            cluster: Arc::new(Cluster::with_quorum(1, quorum, OFFSETS)),
            nodes,
            cluster_id,
            heartbeats: Vec::new(),
            _dir: dir,
        }
    }

    fn quorum(&self) -> &dyn MetadataQuorum {
        self.cluster.quorum.as_ref()
    }

    /// Registers brokers `ids` and keeps them live with heartbeats until the end of the test.
    async fn live_brokers(&mut self, ids: &[BrokerId]) -> Vec<Uuid> {
        let mut incarnations = Vec::new();
        for &id in ids {
            let incarnation = incarnation(id as u8);
            self.quorum()
                .register(&registration(id, incarnation))
                .await
                .expect("registered");
            assert_eq!(
                self.quorum().heartbeat(id, incarnation).await.ok(),
                Some(false)
            );
            incarnations.push(incarnation);
        }
        let (cluster, brokers) = (self.cluster.clone(), ids.to_vec());
        let pairs: Vec<(BrokerId, Uuid)> = brokers.into_iter().zip(incarnations.clone()).collect();
        self.heartbeats.push(tokio::spawn(async move {
            loop {
                for (id, incarnation) in &pairs {
                    let _ = cluster.quorum.heartbeat(*id, *incarnation).await;
                }
                tokio::time::sleep(SESSION / 8).await;
            }
        }));
        let all_live = |s: &MetadataState| ids.iter().all(|id| is_live(s, *id));
        self.wait_for("the brokers live", all_live).await;
        incarnations
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&MetadataState) -> bool) {
        (self.cluster.wait_for(what, done).await).unwrap_or_else(|e| panic!("{e}"));
    }

    async fn create_topic(&self, name: &str, partitions: i32, replication_factor: i16) {
        let spec = topic(name, partitions, replication_factor);
        self.quorum()
            .create_topic(spec)
            .await
            .expect("topic created");
    }

    fn partition(&self, name: &str, index: i32) -> (TopicId, PartitionState) {
        self.cluster.metadata(|s| {
            let topic = s.topic_by_name(name).expect("topic exists");
            (topic.id, topic.partition(index).expect("partition").clone())
        })
    }

    async fn stop(self) {
        self.heartbeats.iter().for_each(JoinHandle::abort);
        self.cluster.shutdown().await;
        for node in self.nodes {
            node.shutdown().await;
        }
    }
}

fn incarnation(n: u8) -> Uuid {
    Uuid([n.max(1); 16])
}

fn registration(id: BrokerId, incarnation: Uuid) -> BrokerRegistration {
    BrokerRegistration {
        broker_id: id,
        incarnation,
        host: "127.0.0.1".to_owned(),
        port: 9092,
        rack: None,
        endpoints: Vec::new(),
    }
}

fn topic(name: &str, partitions: i32, replication_factor: i16) -> NewTopicSpec {
    NewTopicSpec {
        name: name.to_owned(),
        partitions,
        replication_factor,
        configs: BTreeMap::new(),
        assignment: Vec::new(),
    }
}

fn is_live(s: &MetadataState, id: BrokerId) -> bool {
    s.live_brokers().any(|b| b.id == id)
}

fn kind<T: std::fmt::Debug>(outcome: Result<T, NodeError>) -> ErrorKind {
    outcome.expect_err("refused").kind()
}

/// Generates one test per check and implementation.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::run(super::Fixture::embedded(), super::$check).await;
                }
            )*
        }
        mod external {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::run(super::Fixture::external(), super::$check).await;
                }
            )*
        }
        mod external_three_voters {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::run(super::Fixture::external_three(), super::$check).await;
                }
            )*
        }
    };
}

conformance!(
    identity_and_session,
    registration_heartbeats_and_fencing,
    topics_are_created_grown_and_deleted,
    config_changes_are_conditional_and_none_is_lost,
    stale_isr_changes_are_refused,
    producer_id_blocks_never_overlap,
    subscribers_see_every_change,
    client_quotas_are_set_and_removed,
    scram_credentials_are_set_and_deleted,
    every_listener_is_registered,
    acls_are_created_and_deleted,
    remote_segment_steps_come_from_the_leader,
    the_log_start_over_both_tiers_moves_forward_by_the_leader,
);

async fn run<C, F>(fixture: impl Future<Output = Fixture>, check: C)
where
    C: FnOnce(Fixture) -> F,
    F: Future<Output = Fixture>,
{
    check(fixture.await).await.stop().await;
}

async fn identity_and_session(f: Fixture) -> Fixture {
    assert_eq!(f.cluster.cluster_id(), f.cluster_id);
    assert_eq!(f.quorum().session_timeout(), SESSION);
    f
}

async fn registration_heartbeats_and_fencing(f: Fixture) -> Fixture {
    let (first, second) = (incarnation(1), incarnation(2));
    let q = f.quorum();
    q.register(&registration(1, first))
        .await
        .expect("registered");
    assert!(f.cluster.metadata(|s| !is_live(s, 1)), "starts fenced");
    assert_eq!(q.heartbeat(1, first).await.ok(), Some(false), "unfenced");
    f.wait_for("broker 1 live", |s| is_live(s, 1)).await;
    assert_eq!(
        kind(q.heartbeat(1, second).await),
        ErrorKind::StaleIncarnation
    );
    assert_eq!(kind(q.heartbeat(7, first).await), ErrorKind::BrokerNotLive);

    // Silent for a session: fenced; the next heartbeat unfences it.
    f.wait_for("broker 1 fenced", |s| !is_live(s, 1)).await;
    assert_eq!(q.heartbeat(1, first).await.ok(), Some(false));
    f.wait_for("broker 1 live again", |s| is_live(s, 1)).await;

    // A restarted broker (new incarnation) gets in, and the old one is refused.
    q.register(&registration(1, second))
        .await
        .expect("re-registered");
    assert_eq!(q.heartbeat(1, second).await.ok(), Some(false));
    assert_eq!(
        kind(q.heartbeat(1, first).await),
        ErrorKind::StaleIncarnation
    );
    f
}

async fn topics_are_created_grown_and_deleted(mut f: Fixture) -> Fixture {
    f.live_brokers(&[1]).await;
    f.create_topic("t", 2, 1).await;
    let (_, p) = f.partition("t", 1);
    assert_eq!((p.leader, p.isr), (1, vec![1]));
    let q = f.quorum();
    assert_eq!(
        kind(q.create_topic(topic("t", 1, 1)).await),
        ErrorKind::TopicExists
    );
    let too_wide = q.create_topic(topic("u", 1, 2)).await;
    assert_eq!(kind(too_wide), ErrorKind::InvalidReplicationFactor);
    let bad_name = q.create_topic(topic("a/b", 1, 1)).await;
    assert_eq!(kind(bad_name), ErrorKind::InvalidTopicName);

    q.create_partitions("t", 4, &[]).await.expect("grown");
    let count = f
        .cluster
        .metadata(|s| s.topic_by_name("t").map(|t| t.partitions.len()));
    assert_eq!(count, Some(4));
    assert_eq!(
        kind(q.create_partitions("t", 3, &[]).await),
        ErrorKind::InvalidPartitions
    );

    q.delete_topic("t").await.expect("deleted");
    assert!(f.cluster.metadata(|s| s.topic_by_name("t").is_none()));
    assert_eq!(kind(q.delete_topic("t").await), ErrorKind::UnknownTopic);
    f
}

async fn config_changes_are_conditional_and_none_is_lost(mut f: Fixture) -> Fixture {
    f.live_brokers(&[1]).await;
    f.create_topic("t", 1, 1).await;
    let configs = |f: &Fixture| {
        f.cluster
            .metadata(|s| s.topic_by_name("t").unwrap().configs.clone())
    };
    let set = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    let q = f.quorum();
    let topic = ConfigResource::Topic("t".into());
    let original = configs(&f);
    let first = set("retention.ms", "1000");
    (q.change_configs(&topic, first, vec![], Some(original.clone())))
        .await
        .expect("applies while the configs are the expected ones");
    let stale =
        (q.change_configs(&topic, set("segment.ms", "60000"), vec![], Some(original))).await;
    assert_eq!(kind(stale), ErrorKind::ConfigsChanged);
    assert_eq!(
        configs(&f),
        set("retention.ms", "1000"),
        "the refused change left nothing"
    );

    // Two changes computed from the same configs: one is refused, computed again, and lands.
    let computed = AtomicUsize::new(0);
    let adding = |key: &'static str| {
        let computed = &computed;
        move |current: &BTreeMap<String, String>| {
            computed.fetch_add(1, Ordering::Relaxed);
            let mut next = current.clone();
            next.insert(key.to_owned(), "7".to_owned());
            Ok(next)
        }
    };
    let (a, b) = tokio::join!(
        f.cluster.alter_configs(&topic, false, adding("segment.ms")),
        f.cluster
            .alter_configs(&topic, false, adding("retention.bytes")),
    );
    a.expect("first change");
    b.expect("second change");
    let after = configs(&f);
    let keys: Vec<&str> = after.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["retention.bytes", "retention.ms", "segment.ms"],
        "{after:?}"
    );
    assert!(
        computed.into_inner() > 2,
        "the losing change was computed again"
    );

    // Broker configs, cluster-wide and of one broker, take the same path.
    let (cluster_wide, one) = (
        ConfigResource::Broker(None),
        ConfigResource::Broker(Some(1)),
    );
    let none_set = Some(BTreeMap::new());
    (q.change_configs(
        &cluster_wide,
        set("log.retention.ms", "5000"),
        vec![],
        none_set,
    ))
    .await
    .expect("cluster-wide broker config");
    (q.change_configs(&one, set("log.retention.ms", "6000"), vec![], None))
        .await
        .expect("broker 1's config");
    let stored = (f.cluster).metadata(|s| {
        (
            s.broker_configs(None).clone(),
            s.broker_configs(Some(1)).clone(),
        )
    });
    assert_eq!(
        stored,
        (
            set("log.retention.ms", "5000"),
            set("log.retention.ms", "6000")
        )
    );
    let unknown = ConfigResource::Broker(Some(9));
    let refused = (q.change_configs(&unknown, set("log.retention.ms", "1"), vec![], None)).await;
    assert_eq!(kind(refused), ErrorKind::BrokerNotLive);
    f
}

async fn stale_isr_changes_are_refused(mut f: Fixture) -> Fixture {
    f.live_brokers(&[1, 2]).await;
    f.create_topic("r", 1, 2).await;
    let (topic_id, p) = f.partition("r", 0);
    assert_eq!(p.isr.len(), 2, "{p:?}");
    let follower = *p.isr.iter().find(|b| **b != p.leader).expect("a follower");
    let request = |broker, leader_epoch, partition_epoch| AlterPartitionRequest {
        broker_id: broker,
        topic_id,
        partition: 0,
        leader_epoch,
        partition_epoch,
        new_isr: vec![p.leader],
    };
    let q = f.quorum();
    let not_leader = request(follower, p.leader_epoch, p.partition_epoch);
    assert_eq!(
        kind(q.alter_partition(&not_leader).await),
        ErrorKind::NotPartitionLeader
    );
    let old_leader_epoch = request(p.leader, p.leader_epoch - 1, p.partition_epoch);
    let fenced = q.alter_partition(&old_leader_epoch).await;
    assert_eq!(kind(fenced), ErrorKind::FencedLeaderEpoch);

    let shrink = request(p.leader, p.leader_epoch, p.partition_epoch);
    q.alter_partition(&shrink).await.expect("ISR shrinks");
    let shrunk = |s: &MetadataState| {
        let topic = s.topic_by_name("r");
        topic
            .and_then(|t| t.partition(0))
            .is_some_and(|n| n.isr == [p.leader])
    };
    f.wait_for("the shrunk ISR", shrunk).await;
    // The same change again, computed against the partition epoch it already moved past.
    assert_eq!(
        kind(q.alter_partition(&shrink).await),
        ErrorKind::StalePartitionEpoch
    );
    f
}

async fn producer_id_blocks_never_overlap(mut f: Fixture) -> Fixture {
    f.live_brokers(&[1, 2]).await;
    let q = f.quorum();
    let (a, b, c) = tokio::join!(
        q.allocate_producer_ids(1),
        q.allocate_producer_ids(2),
        q.allocate_producer_ids(1),
    );
    let mut blocks = [a, b, c].map(|r| r.expect("a block"));
    blocks.sort();
    for pair in blocks.windows(2) {
        let ((first, count), (next, _)) = (pair[0], pair[1]);
        assert!(count > 0 && first + i64::from(count) <= next, "{blocks:?}");
    }
    assert_eq!(
        kind(q.allocate_producer_ids(9).await),
        ErrorKind::BrokerNotLive
    );
    f
}

async fn subscribers_see_every_change(mut f: Fixture) -> Fixture {
    f.live_brokers(&[1]).await;
    let mut changes = f.quorum().subscribe();
    changes.mark_unchanged();
    f.create_topic("s", 1, 1).await;
    assert!(changes.has_changed().expect("open"), "topic creation");
    changes.mark_unchanged();
    f.quorum().delete_topic("s").await.expect("deleted");
    assert!(changes.has_changed().expect("open"), "topic deletion");
    f
}

async fn client_quotas_are_set_and_removed(f: Fixture) -> Fixture {
    let alice = Some("alice".to_owned());
    let entity = QuotaEntity::new([(USER.to_owned(), alice), (CLIENT_ID.to_owned(), None)])
        .expect("a valid entity");
    let rates = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let shown = |f: &Fixture| {
        let values = f.cluster.metadata(|s| s.client_quota(&entity).cloned());
        values.map(|v| v.into_iter().map(|(k, v)| (k, v.0)).collect::<Vec<_>>())
    };
    let q = f.quorum();
    let set = rates(&[(PRODUCER_BYTE_RATE, 1024.0), (REQUEST_PERCENTAGE, 12.5)]);
    (q.alter_client_quota(&entity, set.clone(), vec![]))
        .await
        .expect("quotas set");
    let expected: Vec<(String, f64)> = set.into_iter().collect();
    assert_eq!(shown(&f), Some(expected.clone()), "read back at once");

    for bad in [
        rates(&[(PRODUCER_BYTE_RATE, 0.5)]),
        rates(&[("connection_creation_rate", 10.0)]),
    ] {
        let refused = q.alter_client_quota(&entity, bad, vec![]).await;
        assert_eq!(kind(refused), ErrorKind::InvalidRequest);
    }
    let consume = rates(&[(CONSUMER_BYTE_RATE, 2048.0)]);
    let checked = f.cluster.alter_client_quota(&entity, consume, vec![], true);
    checked.await.expect("a valid change");
    assert_eq!(
        shown(&f),
        Some(expected),
        "nothing refused or validated written"
    );

    let all = vec![PRODUCER_BYTE_RATE.to_owned(), REQUEST_PERCENTAGE.to_owned()];
    let removed = (f.cluster).alter_client_quota(&entity, BTreeMap::new(), all, false);
    removed.await.expect("quotas removed");
    assert!(f.cluster.metadata(|s| s.client_quotas().is_empty()));
    f
}
