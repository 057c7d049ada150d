//! How to run a broker.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chronik_types::FsyncPolicy;
use chronik_wal::Syncer;

/// Kafka's default `fetch.max.bytes` (55 MiB).
pub const DEFAULT_FETCH_MAX_BYTES: usize = 55 * 1024 * 1024;

/// Kafka's default `group.initial.rebalance.delay.ms` (3 s).
pub const DEFAULT_GROUP_INITIAL_REBALANCE_DELAY: Duration = Duration::from_secs(3);

/// How the partition logs are fsynced, when not with `fdatasync`: tests and the binary's
/// fault-injection hook put a failing [`Syncer`] here.
#[derive(Clone)]
pub struct PartitionSyncer(pub Arc<dyn Syncer>);

impl std::fmt::Debug for PartitionSyncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartitionSyncer(custom)")
    }
}

/// Settings of one broker; the binary fills them from flags and `CHRONIK_*` variables.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Broker id (Kafka's `node.id`), from 1.
    pub id: i32,
    /// Address the Kafka listener binds (port 0 picks one).
    pub listen: SocketAddr,
    /// `host:port` clients are told to connect to; defaults to the bound address.
    pub advertise: Option<String>,
    /// Root of the partition logs (`DIR/partitions`) and the embedded metadata node (`DIR/meta`).
    pub data_dir: PathBuf,
    pub fsync: FsyncPolicy,
    /// Partitions of a topic created without a count (auto-created or `num_partitions = -1`).
    pub num_partitions: i32,
    /// Whether Metadata and Produce create unknown topics.
    pub auto_create_topics: bool,
    /// Largest request frame accepted; a bigger one closes the connection.
    pub max_request_bytes: usize,
    /// Largest record batch accepted (Kafka's `max.message.bytes`).
    pub max_message_bytes: usize,
    /// Connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// A connection that completes no request for this long is closed, whether it is silent
    /// or trickles a request too slowly (Kafka's `connections.max.idle.ms`).
    pub idle_timeout: Duration,
    /// Most record bytes one Fetch response carries, whatever the client asks (Kafka's
    /// `fetch.max.bytes`); a first batch larger than that is still returned whole.
    pub fetch_max_bytes: usize,
    /// Incremental fetch sessions (KIP-227) kept at once (Kafka's
    /// `max.incremental.fetch.session.cache.slots`); 0 keeps none, so every fetch is full.
    pub fetch_session_cache_slots: usize,
    /// A fetch session unused this long gives its slot to a new one when the cache is full,
    /// and a consumer's session older than this may give it to a larger one (Kafka's
    /// `min.incremental.fetch.session.eviction.ms`).
    pub fetch_session_eviction: Duration,
    /// Replaces `fdatasync` for the partition logs (not the metadata log); `None` in
    /// production.
    pub partition_syncer: Option<PartitionSyncer>,
    /// Address the embedded metadata node's gRPC server binds.
    pub meta_listen: SocketAddr,
    /// `host:port` of the meta nodes of an external quorum; empty runs the embedded one.
    pub meta: Vec<String>,
    /// Replication factor of a topic created without one (Kafka's `default.replication.factor`).
    pub default_replication_factor: i16,
    /// Default `retention.ms` of topics (Kafka's `log.retention.ms`); `None` keeps data forever.
    pub retention_ms: Option<u64>,
    /// Default `retention.bytes` of a partition (`log.retention.bytes`); `None` means no limit.
    pub retention_bytes: Option<u64>,
    /// Default `segment.bytes` (Kafka's `log.segment.bytes`): a segment rolls past this size.
    pub segment_bytes: u64,
    /// Default `segment.ms` (Kafka's `log.roll.ms`): a segment rolls once this old.
    pub segment_ms: Duration,
    /// Default `min.insync.replicas`: acks=all produce needs an ISR at least this large.
    pub min_insync_replicas: i32,
    /// How often retention deletes expired segments (`log.retention.check.interval.ms`).
    pub retention_check_interval: Duration,
    /// How long the committed offsets of an empty consumer group are kept (Kafka's
    /// `offsets.retention.minutes`, default 7 days); then they and the group are deleted.
    pub offsets_retention: Duration,
    /// How long the first rebalance of an empty consumer group waits for more members, and
    /// again while members keep arriving, up to the rebalance timeout (Kafka's
    /// `group.initial.rebalance.delay.ms`, default 3 s): consumers starting together share
    /// one generation instead of rebalancing once per arrival.
    pub group_initial_rebalance_delay: Duration,
    /// How long a consumer-protocol group member lives without a heartbeat (Kafka's
    /// `group.consumer.session.timeout.ms`, 45 s); then its partitions go to the others.
    pub group_consumer_session_timeout: Duration,
    /// How often consumer-protocol members are told to heartbeat (Kafka's
    /// `group.consumer.heartbeat.interval.ms`, 5 s): it bounds how fast they learn of changes.
    pub group_consumer_heartbeat_interval: Duration,
    /// The server-side assignors offered to consumer-protocol groups, the default first
    /// (Kafka's `group.consumer.assignors`: uniform, range).
    pub group_consumer_assignors: Vec<String>,
    /// A follower that has not caught up with its leader for this long leaves the ISR
    /// (Kafka's `replica.lag.time.max.ms`).
    pub replica_lag_time_max: Duration,
    /// Replicas of each `__consumer_offsets` partition on an external quorum (Kafka's
    /// `offsets.topic.replication.factor`): the topic is created once that many brokers are
    /// live. Under the embedded quorum there is one broker, so it is 1.
    pub offsets_topic_replication_factor: i16,
    /// `segment.bytes` of `__consumer_offsets` when this broker creates it (Kafka's
    /// `offsets.topic.segment.bytes`, 100 MiB): the cleaner compacts only sealed segments.
    pub offsets_topic_segment_bytes: u64,
    /// The log cleaner of compacted topics (threads, key-map memory, I/O rate, backoff).
    pub cleaner: crate::CleanerConfig,
    /// The remote tier (`--remote-storage`) that topics with `remote.storage.enable=true`
    /// copy their sealed segments to; `None`: no remote tier.
    pub remote_storage: Option<crate::RemoteTierConfig>,
    /// The longest `transaction.timeout.ms` a transactional producer may ask for (Kafka's
    /// `transaction.max.timeout.ms`, 15 minutes); longer gets INVALID_TRANSACTION_TIMEOUT.
    pub transaction_max_timeout: Duration,
    /// Listeners in Kafka's format; empty means one PLAINTEXT listener on `listen`,
    /// advertised as `advertise`.
    pub listeners: Vec<crate::ListenerConfig>,
    /// Certificate, key and client CAs of the SSL and SASL_SSL listeners.
    pub tls: Option<chronik_auth::tls::TlsFiles>,
    /// Connections to the rest of the cluster (gRPC to the meta quorum, replication and
    /// transaction markers to other brokers) go over TLS, presenting `tls`'s certificate and
    /// trusting its client CAs; the first listener must then be SSL.
    pub cluster_tls: bool,
    /// Mechanisms the SASL listeners offer (Kafka's `sasl.enabled.mechanisms`).
    pub sasl_mechanisms: Vec<crate::SaslMechanism>,
    /// How long a SASL session lasts before the client must re-authenticate (Kafka's
    /// `connections.max.reauth.ms`); `None`: for the connection's life.
    pub connections_max_reauth: Option<Duration>,
    /// ACL authorization (`--authorizer acl`): super users and the no-ACL rule; `None`
    /// authorizes everything, and the ACL APIs answer SECURITY_DISABLED, as in Kafka.
    pub authorizer: Option<chronik_auth::acl::AuthorizerConfig>,
}

impl BrokerConfig {
    /// Defaults for a broker storing its data in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        BrokerConfig {
            id: 1,
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertise: None,
            data_dir,
            fsync: FsyncPolicy::Always,
            num_partitions: 1,
            auto_create_topics: true,
            max_request_bytes: 100 * 1024 * 1024,
            max_message_bytes: 8 * 1024 * 1024,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(600),
            fetch_max_bytes: DEFAULT_FETCH_MAX_BYTES,
            fetch_session_cache_slots: 1000,
            fetch_session_eviction: Duration::from_secs(120),
            partition_syncer: None,
            meta_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            meta: Vec::new(),
            default_replication_factor: 1,
            retention_ms: Some(7 * 24 * 3600 * 1000),
            retention_bytes: None,
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: Duration::from_secs(7 * 24 * 3600),
            min_insync_replicas: 1,
            retention_check_interval: Duration::from_secs(30),
            offsets_retention: Duration::from_secs(7 * 24 * 3600),
            group_initial_rebalance_delay: DEFAULT_GROUP_INITIAL_REBALANCE_DELAY,
            group_consumer_session_timeout: Duration::from_secs(45),
            group_consumer_heartbeat_interval: Duration::from_secs(5),
            group_consumer_assignors: vec!["uniform".into(), "range".into()],
            replica_lag_time_max: Duration::from_secs(10),
            offsets_topic_replication_factor: 3,
            offsets_topic_segment_bytes: 100 * 1024 * 1024,
            cleaner: crate::CleanerConfig::default(),
            remote_storage: None,
            transaction_max_timeout: Duration::from_secs(15 * 60),
            listeners: Vec::new(),
            tls: None,
            cluster_tls: false,
            sasl_mechanisms: vec![
                crate::SaslMechanism::Scram(chronik_auth::ScramMechanism::Sha512),
                crate::SaslMechanism::Scram(chronik_auth::ScramMechanism::Sha256),
            ],
            connections_max_reauth: None,
            authorizer: None,
        }
    }
}
