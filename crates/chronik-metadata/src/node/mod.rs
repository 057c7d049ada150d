//! A metadata quorum voter: durable Raft log, the metadata state machine, the gRPC services,
//! and (while it leads) the controller.
//!
//! [`MetaNode::start`] opens the data dir, bootstraps a brand-new initial voter, spawns the Raft
//! driver, serves gRPC, and runs the controller loop that only acts on the leader.

mod batch;
mod controller;
mod error;
mod machine;
mod sessions;

#[cfg(test)]
mod acl_tests;
#[cfg(test)]
mod bad_input_tests;
#[cfg(test)]
mod endpoint_tests;
#[cfg(test)]
mod remote_segment_tests;
#[cfg(test)]
mod scram_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chronik_raft::{
    DriverConfig, LogStore, NodeHandle, Replica, ReplicaConfig, Role, TickSource,
    bootstrap_snapshot, spawn_node,
};
use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, WalOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

use crate::grpc::pb::controller_server::ControllerServer;
use crate::grpc::pb::raft_peer_server::RaftPeerServer;
use crate::grpc::{
    ClusterTls, ControllerService, GrpcTransport, MAX_RAFT_MESSAGE, RaftPeerService,
};
use crate::raft_store::WalLogStore;

pub use controller::{NewTopicSpec, SessionHold};
pub use error::NodeError;
pub use machine::{CommittedBatch, MetaMachine, SharedState, WatchBatch, bootstrap_state};

/// File in the data dir holding the cluster id given on first start.
pub const CLUSTER_ID_FILE: &str = "cluster.id";

/// How to run one meta node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This voter's id (from 1).
    pub id: u64,
    /// Address to serve gRPC on (port 0 picks one).
    pub listen: SocketAddr,
    /// Address peers and clients reach this node at; defaults to the bound address.
    pub advertise: Option<String>,
    pub data_dir: PathBuf,
    /// Initial voters and their addresses. Empty: a single-voter cluster of this node. A node
    /// not listed joins an existing cluster (after `AddVoter` on the leader).
    pub peers: BTreeMap<u64, String>,
    /// Required to create a multi-voter cluster; checked against the stored id afterwards.
    pub cluster_id: Option<String>,
    /// A broker that has not heartbeated for this long is fenced.
    pub session_timeout: Duration,
    /// How often the leader restores preferred partition leaders.
    pub preferred_leader_interval: Duration,
    /// Whether the leader evens out replicas across live brokers (a joining broker gets its
    /// share), one partition move at a time.
    pub auto_balance: bool,
    /// Raft tick (heartbeat = 1 tick, election timeout = 10 to 20 ticks).
    pub tick: Duration,
    /// Applied entries that trigger a snapshot and log compaction. Small values make a
    /// lagging voter catch up through a snapshot instead of the log (and let tests prove it).
    pub snapshot_entries: u64,
    /// This node's certificate and the cluster CA: gRPC (served and called) goes over TLS
    /// with client certificates. `None` speaks in the clear.
    pub tls: Option<ClusterTls>,
}

/// The voters of the Raft configuration stored in the meta node data dir `data_dir`, read
/// offline (empty when nothing was ever stored there). Takes the dir's lock for the read, so
/// it fails with the holder named while a node runs on it.
pub fn stored_voters(data_dir: &Path) -> Result<Vec<u64>, NodeError> {
    if !data_dir.join(crate::raft_store::RAFT_LOG_DIR).exists() {
        return Ok(Vec::new());
    }
    let data = DataDir::open(data_dir, WalOptions::new(FsyncPolicy::Always))?;
    let store = WalLogStore::open(&data).map_err(|e| NodeError::raft_log(data_dir, e))?;
    let state = raft::Storage::initial_state(&store).map_err(|e| {
        NodeError::raft_log(
            data_dir,
            chronik_raft::RaftError::storage("read the Raft state", e),
        )
    })?;
    Ok(state.conf_state.voters)
}

/// Default for [`NodeConfig::session_timeout`].
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(2);

/// Default for [`NodeConfig::snapshot_entries`].
pub const DEFAULT_SNAPSHOT_ENTRIES: u64 = 10_000;

impl NodeConfig {
    /// Defaults for node `id` storing its state in `data_dir`.
    pub fn new(id: u64, listen: SocketAddr, data_dir: PathBuf) -> Self {
        NodeConfig {
            id,
            listen,
            advertise: None,
            data_dir,
            peers: BTreeMap::new(),
            cluster_id: None,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            preferred_leader_interval: Duration::from_secs(30),
            auto_balance: true,
            tick: Duration::from_millis(100),
            snapshot_entries: DEFAULT_SNAPSHOT_ENTRIES,
            tls: None,
        }
    }
}

pub(crate) struct NodeInner {
    id: u64,
    cluster_id: String,
    address: String,
    local_addr: SocketAddr,
    raft: NodeHandle,
    shared: Arc<SharedState>,
    transport: GrpcTransport,
    /// For calls this node makes to its peers outside the Raft transport.
    tls: Option<ClusterTls>,
    write_lock: tokio::sync::Mutex<()>,
    /// Controller decisions gathered into one Raft entry per commit.
    batches: Mutex<batch::Batches>,
    /// Broker sessions; judged only while this node leads.
    sessions: Mutex<sessions::Sessions>,
    /// Names the next session stream a broker opens.
    next_stream: AtomicU64,
    /// Wakes the controller loop when a session is about to run out before its next pass.
    session_check: tokio::sync::Notify,
    /// Leader id last seen (0: none), for the leader-change counter.
    last_leader: AtomicU64,
    preferred_leader_interval: Duration,
    auto_balance: bool,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Holds the data dir's lock and flusher for as long as the node runs.
    _data: DataDir,
}

/// A running meta node; cheap to clone.
#[derive(Clone)]
pub struct MetaNode {
    inner: Arc<NodeInner>,
}

impl MetaNode {
    /// Opens the node's data dir and starts it.
    pub async fn start(cfg: NodeConfig) -> Result<MetaNode, NodeError> {
        if cfg.id == 0 {
            return Err(NodeError::Config(
                "node id 0 is reserved; use ids from 1".into(),
            ));
        }
        if cfg.snapshot_entries == 0 {
            return Err(NodeError::Config(
                "snapshot entries must be positive".into(),
            ));
        }
        std::fs::create_dir_all(&cfg.data_dir)
            .map_err(|e| NodeError::io(format!("create {}", cfg.data_dir.display()), e))?;
        let cluster_id = resolve_cluster_id(&cfg)?;
        // Stored before any Raft state, so no data dir ever holds state of an unknown cluster.
        store_cluster_id(&cfg.data_dir, &cluster_id)?;
        let data = DataDir::open(&cfg.data_dir, WalOptions::new(FsyncPolicy::Always))?;
        let mut store =
            WalLogStore::open(&data).map_err(|e| NodeError::raft_log(&cfg.data_dir, e))?;
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| NodeError::io(format!("listen on {}", cfg.listen), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| NodeError::io("read the bound address", e))?;
        let address = cfg
            .advertise
            .clone()
            .unwrap_or_else(|| local_addr.to_string());
        let initial = match cfg.peers.is_empty() {
            true => BTreeMap::from([(cfg.id, address.clone())]),
            false => cfg.peers.clone(),
        };
        if !store.is_initialized() && !initial.contains_key(&cfg.id) {
            tracing::info!(
                node = cfg.id,
                "not an initial voter: waiting for the leader to add this node (members add)"
            );
        }
        if !store.is_initialized() && initial.contains_key(&cfg.id) {
            let voters: Vec<u64> = initial.keys().copied().collect();
            let state = bootstrap_state(&cluster_id, &initial)
                .map_err(|e| NodeError::Config(e.to_string()))?;
            store.apply_snapshot(bootstrap_snapshot(&voters, state))?;
            store.sync()?;
        }

        let (transport, mut unreachable) = GrpcTransport::new(&cluster_id, cfg.id, cfg.tls.clone());
        for (peer, peer_address) in &initial {
            transport.set_peer(*peer, peer_address);
        }
        let hook = transport.clone();
        let machine = MetaMachine::new(Box::new(move |id, addr| hook.set_peer(id, addr)));
        let shared = machine.shared();
        let mut replica_cfg = ReplicaConfig::new(cfg.id);
        replica_cfg.snapshot_interval = cfg.snapshot_entries;
        // Entries kept below a snapshot never exceed the snapshot interval, or a small
        // interval would never compact anything.
        replica_cfg.retained_entries = replica_cfg.retained_entries.min(cfg.snapshot_entries);
        let replica = Replica::new(replica_cfg, store, machine)?;
        // The restore of this node's own stored snapshot is not a snapshot received.
        shared.reset_installed();
        // The Raft log's sync is an fsync: the driver gets a thread of its own.
        let driver = DriverConfig {
            tick: TickSource::Interval(cfg.tick),
            own_thread: true,
            ..DriverConfig::default()
        };
        let raft = spawn_node(replica, transport.clone(), driver)?;
        let (stop, stopped) = watch::channel(false);
        let node = MetaNode {
            inner: Arc::new(NodeInner {
                id: cfg.id,
                cluster_id: cluster_id.clone(),
                address,
                local_addr,
                raft: raft.clone(),
                shared,
                transport,
                tls: cfg.tls.clone(),
                write_lock: tokio::sync::Mutex::new(()),
                batches: Mutex::new(batch::Batches::default()),
                sessions: Mutex::new(sessions::Sessions::new(cfg.session_timeout)),
                next_stream: AtomicU64::new(0),
                session_check: tokio::sync::Notify::new(),
                last_leader: AtomicU64::new(0),
                preferred_leader_interval: cfg.preferred_leader_interval,
                auto_balance: cfg.auto_balance,
                stop,
                tasks: Mutex::new(Vec::new()),
                _data: data,
            }),
        };

        let reporter = raft.clone();
        let report = tokio::spawn(async move {
            while let Some(peer) = unreachable.recv().await {
                if reporter.report_unreachable(peer).await.is_err() {
                    break;
                }
            }
        });
        let peer_service = RaftPeerService::new(
            &cluster_id,
            cfg.id,
            raft.clone(),
            node.inner.stop.subscribe(),
        );
        let router = tonic::transport::Server::builder()
            .add_service(
                RaftPeerServer::new(peer_service).max_decoding_message_size(MAX_RAFT_MESSAGE),
            )
            .add_service(ControllerServer::new(ControllerService::new(node.clone())));
        let shutdown = wait_stop(stopped);
        let serve = match &cfg.tls {
            None => tokio::spawn(log_failure(
                router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown),
            )),
            Some(tls) => tokio::spawn(log_failure(router.serve_with_incoming_shutdown(
                crate::grpc::tls_incoming(listener, tls.clone()),
                shutdown,
            ))),
        };
        let control = tokio::spawn(controller::run(node.clone()));
        node.tasks().extend([report, serve, control]);
        if initial.len() == 1 && initial.contains_key(&cfg.id) {
            // A single voter need not wait out an election timeout.
            let _ = raft.campaign().await;
        }
        tracing::info!(node = cfg.id, address = %node.inner.address, cluster = %cluster_id, "meta node started");
        Ok(node)
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        (self.inner.tasks.lock()).unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// The address this node advertises.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// The socket address the gRPC server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// The Raft node (status, proposals).
    pub fn raft(&self) -> &NodeHandle {
        &self.inner.raft
    }

    /// The applied state.
    pub fn state(&self) -> &Arc<SharedState> {
        &self.inner.shared
    }

    /// Known peer addresses (from `--peers` and the replicated voter addresses).
    pub fn peers(&self) -> BTreeMap<u64, String> {
        self.inner.transport.peers()
    }

    /// Resolves when the node is asked to stop.
    pub async fn stopping(&self) {
        wait_stop(self.inner.stop.subscribe()).await;
    }

    /// Stops the node. A leader first hands leadership to another voter, so the cluster does
    /// not wait out an election timeout.
    pub async fn shutdown(&self) {
        self.hand_over_leadership().await;
        self.inner.stop.send_replace(true);
        self.inner.raft.shutdown();
        self.inner.raft.stopped().await;
        let tasks: Vec<JoinHandle<()>> = self.tasks().drain(..).collect();
        // In-flight requests get a moment; whatever still runs is then cut.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
            }
        }
        tracing::info!(node = self.inner.id, "meta node stopped");
    }

    async fn hand_over_leadership(&self) {
        let raft = &self.inner.raft;
        let Ok(status) = raft.status().await else {
            return;
        };
        if status.role != Role::Leader {
            return;
        }
        let Some(target) = self.transfer_target(&status.voters).await else {
            tracing::info!(
                node = self.inner.id,
                "no reachable voter to hand leadership to"
            );
            return;
        };
        if raft.transfer_leader(target).await.is_err() {
            return;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while tokio::time::Instant::now() < deadline {
            match raft.status().await {
                Ok(s) if s.role == Role::Leader => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                _ => {
                    tracing::info!(node = self.inner.id, to = target, "leadership handed over");
                    return;
                }
            }
        }
    }
}

impl MetaNode {
    /// The reachable voter (other than this one) that has applied the most: it catches up
    /// fastest, so the transfer completes before this node stops.
    async fn transfer_target(&self, voters: &[u64]) -> Option<u64> {
        let mut best: Option<(u64, u64)> = None;
        for &id in voters.iter().filter(|id| **id != self.inner.id) {
            let Some(address) = self.leader_address(id) else {
                continue;
            };
            let Ok(status) = crate::grpc::status_of(
                &address,
                self.inner.tls.as_ref(),
                Duration::from_millis(300),
            )
            .await
            else {
                continue;
            };
            if best.is_none_or(|(_, applied)| status.applied_index > applied) {
                best = Some((id, status.applied_index));
            }
        }
        best.map(|(id, _)| id)
    }
}

async fn log_failure(
    server: impl std::future::Future<Output = Result<(), tonic::transport::Error>>,
) {
    if let Err(e) = server.await {
        tracing::error!(error = %e, "gRPC server failed");
    }
}

async fn wait_stop(mut stopped: watch::Receiver<bool>) {
    // An error means the sender is gone: the node is gone too.
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The cluster id to run with: the stored one, which a given one must match; on first start
/// the given one, or a fresh random one for a single voter.
fn resolve_cluster_id(cfg: &NodeConfig) -> Result<String, NodeError> {
    let path = cfg.data_dir.join(CLUSTER_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(stored) => {
            let stored = stored.trim().to_owned();
            match &cfg.cluster_id {
                Some(given) if *given != stored => Err(NodeError::ClusterIdMismatch {
                    stored,
                    given: given.clone(),
                }),
                _ => Ok(stored),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match &cfg.cluster_id {
            Some(given) if given.is_empty() || given.len() > crate::MAX_NAME_LEN => {
                Err(NodeError::Config(format!(
                    "cluster id must be 1 to {} bytes",
                    crate::MAX_NAME_LEN
                )))
            }
            Some(given) => Ok(given.clone()),
            None if !cfg.peers.is_empty() => Err(NodeError::ClusterIdRequired),
            None => Ok(random_cluster_id()),
        },
        Err(e) => Err(NodeError::io(format!("read {}", path.display()), e)),
    }
}

fn store_cluster_id(dir: &Path, cluster_id: &str) -> Result<(), NodeError> {
    let path = dir.join(CLUSTER_ID_FILE);
    if path.exists() {
        return Ok(());
    }
    let tmp = dir.join(format!("{CLUSTER_ID_FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut file, format!("{cluster_id}\n").as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| NodeError::io(format!("write {}", path.display()), e))
}

/// 22 URL-safe base64 characters of randomness, like Kafka's cluster ids.
fn random_cluster_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..22)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}
