//! The client handle: bootstrap, the metadata cache, and one pipelined connection per broker.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};

use crate::conn::{ConnConfig, Connection};
use crate::pool::Pool;
use crate::{ClientError, Result, SaslConfig};

/// How a client connects.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` addresses to learn the cluster from.
    pub bootstrap: Vec<String>,
    pub client_id: String,
    /// Every request fails after this long without an answer (the connection is then closed).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_response_bytes: usize,
    /// TLS (SSL and SASL_SSL listeners); brokers' certificates must name their IP address.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// SASL (SASL_PLAINTEXT and SASL_SSL listeners).
    pub sasl: Option<SaslConfig>,
}

impl ClientConfig {
    /// Defaults for `bootstrap` (a comma-separated list is accepted).
    pub fn new(bootstrap: &str) -> Self {
        Self {
            bootstrap: bootstrap
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            client_id: "chronik-client".into(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_response_bytes: 100 * 1024 * 1024,
            tls: None,
            sasl: None,
        }
    }
}

/// One partition as metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMeta {
    pub partition: i32,
    /// -1 when there is no leader.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error_code: i16,
}

/// What the client knows about the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterMeta {
    pub cluster_id: Option<String>,
    pub controller: i32,
    pub brokers: HashMap<i32, SocketAddr>,
    pub topics: HashMap<String, Vec<PartitionMeta>>,
}

/// A cheap-to-clone handle to a cluster.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ClientConfig,
    conn_cfg: ConnConfig,
    conns: Pool,
    meta: RwLock<ClusterMeta>,
    /// Metadata requests begun so far (see [`Client::refresh_topic_after`]).
    refreshes_begun: AtomicU64,
    /// The number (in `refreshes_begun`) of the latest refresh that completed.
    refreshed: AtomicU64,
    /// Held by [`Client::refresh_topic_after`] while it refreshes, so that callers who found
    /// the cache stale at the same moment share one request.
    refreshing: tokio::sync::Mutex<()>,
}

impl Client {
    /// Connects to the first reachable bootstrap broker and loads the broker list.
    pub async fn connect(cfg: ClientConfig) -> Result<Client> {
        if cfg.bootstrap.is_empty() {
            return Err(ClientError::InvalidInput(
                "no bootstrap address given; pass host:port".into(),
            ));
        }
        let conn_cfg = ConnConfig {
            client_id: cfg.client_id.clone(),
            request_timeout: cfg.request_timeout,
            connect_timeout: cfg.connect_timeout,
            max_response_bytes: cfg.max_response_bytes,
            tls: cfg.tls.clone(),
            sasl: cfg.sasl.clone(),
        };
        let client = Client {
            inner: Arc::new(Inner {
                cfg,
                conn_cfg,
                conns: Default::default(),
                meta: Default::default(),
                refreshes_begun: AtomicU64::new(0),
                refreshed: AtomicU64::new(0),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        };
        client.refresh_metadata(&[]).await?;
        Ok(client)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// A snapshot of the cached metadata.
    pub fn metadata(&self) -> ClusterMeta {
        self.inner
            .meta
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The live connection to `addr`, opening one if needed (without blocking calls to other
    /// brokers: see [`Pool`]).
    pub(crate) async fn conn(&self, addr: SocketAddr) -> Result<Arc<Connection>> {
        self.inner.conns.get(addr, &self.inner.conn_cfg).await
    }

    /// Sends `req` to broker `node` (as named by metadata).
    pub async fn call_node<R: Request>(&self, node: i32, req: &R) -> Result<R::Response> {
        let conn = self.conn(self.broker_addr(node)?).await?;
        conn.call(req, &self.inner.cfg.client_id).await
    }

    pub(crate) fn client_id(&self) -> &str {
        &self.inner.cfg.client_id
    }

    pub fn broker_addr(&self, node: i32) -> Result<SocketAddr> {
        let meta = self.inner.meta.read().unwrap_or_else(|p| p.into_inner());
        meta.brokers
            .get(&node)
            .copied()
            .ok_or_else(|| ClientError::NoLeader {
                what: format!("broker {node} is not in the cached metadata"),
            })
    }

    /// Sends `req` to the controller, or any broker when none is known.
    pub async fn call_any<R: Request>(&self, req: &R) -> Result<R::Response> {
        self.any_conn()
            .await?
            .call(req, &self.inner.cfg.client_id)
            .await
    }

    /// A connection to the controller, or to the first reachable known or bootstrap broker.
    pub(crate) async fn any_conn(&self) -> Result<Arc<Connection>> {
        let mut last = None;
        for addr in self.candidate_addrs().await {
            match self.conn(addr).await {
                Ok(conn) => return Ok(conn),
                Err(e) => last = Some(e),
            }
        }
        Err(ClientError::Bootstrap {
            tried: self.inner.cfg.bootstrap.join(","),
            last: Box::new(last.unwrap_or(ClientError::InvalidInput("no addresses".into()))),
        })
    }

    /// Controller first, then other known brokers, then the bootstrap list.
    async fn candidate_addrs(&self) -> Vec<SocketAddr> {
        let mut out = Vec::new();
        {
            let meta = self.inner.meta.read().unwrap_or_else(|p| p.into_inner());
            out.extend(meta.brokers.get(&meta.controller).copied());
            out.extend(meta.brokers.values().copied());
        }
        for b in &self.inner.cfg.bootstrap {
            if let Ok(addrs) = tokio::net::lookup_host(b.as_str()).await {
                out.extend(addrs);
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|a| seen.insert(*a));
        out
    }

    /// Reloads metadata for `topics` (the broker list only when empty).
    pub async fn refresh_metadata(&self, topics: &[String]) -> Result<()> {
        let number = self.inner.refreshes_begun.fetch_add(1, Ordering::SeqCst) + 1;
        let req = MetadataRequest::default()
            .with_topics(Some(
                topics
                    .iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect(),
            ))
            .with_allow_auto_topic_creation(false);
        let resp: MetadataResponse = self.call_any(&req).await?;
        let fresh = parse_metadata(resp).await?;
        let mut meta = self.inner.meta.write().unwrap_or_else(|p| p.into_inner());
        meta.cluster_id = fresh.cluster_id;
        meta.controller = fresh.controller;
        meta.brokers = fresh.brokers;
        for t in topics {
            // A requested topic missing from the answer is gone (or not created yet).
            if !fresh.topics.contains_key(t) {
                meta.topics.remove(t);
            }
        }
        meta.topics.extend(fresh.topics);
        self.inner.refreshed.fetch_max(number, Ordering::SeqCst);
        Ok(())
    }

    /// How many metadata refreshes have begun: taken when a cached answer turns out stale, and
    /// passed to [`Client::refresh_topic_after`].
    pub fn metadata_epoch(&self) -> u64 {
        self.inner.refreshes_begun.load(Ordering::SeqCst)
    }

    /// Refreshes `topic`'s metadata unless a refresh begun after `epoch` (a
    /// [`Client::metadata_epoch`]) has completed meanwhile. A producer's first batches to
    /// thousands of partitions, or their retries after a leader moved, all find the cache stale
    /// at once; they then share a request or two instead of sending one each (with 10,000
    /// partitions, each answer is about half a megabyte).
    pub async fn refresh_topic_after(&self, topic: &str, epoch: u64) -> Result<()> {
        let _one = self.inner.refreshing.lock().await;
        if self.inner.refreshed.load(Ordering::SeqCst) > epoch {
            return Ok(());
        }
        self.refresh_metadata(&[topic.to_owned()]).await
    }

    /// Whether the cached metadata holds `topic`.
    pub fn knows_topic(&self, topic: &str) -> bool {
        (self.inner.meta.read().unwrap_or_else(|p| p.into_inner()))
            .topics
            .contains_key(topic)
    }

    /// Partitions of `topic`, refreshing metadata once if it is unknown.
    pub async fn partitions(&self, topic: &str) -> Result<Vec<PartitionMeta>> {
        let epoch = self.metadata_epoch();
        if let Some(p) = self.metadata().topics.get(topic) {
            return Ok(p.clone());
        }
        self.refresh_topic_after(topic, epoch).await?;
        self.metadata()
            .topics
            .get(topic)
            .cloned()
            .ok_or_else(|| ClientError::NoLeader {
                what: format!("topic {topic} is not in the metadata"),
            })
    }

    /// The leader node of a partition from the cache.
    pub fn leader(&self, topic: &str, partition: i32) -> Result<i32> {
        let meta = self.inner.meta.read().unwrap_or_else(|p| p.into_inner());
        let leader = meta
            .topics
            .get(topic)
            .and_then(|ps| partition_meta(ps, partition))
            .map(|p| p.leader)
            .unwrap_or(-1);
        if leader < 0 || !meta.brokers.contains_key(&leader) {
            return Err(ClientError::NoLeader {
                what: format!("no known leader for {topic}-{partition}"),
            });
        }
        Ok(leader)
    }

    /// The negotiated version of `key` on `node`'s connection.
    pub async fn version_on(&self, node: i32, key: ApiKey) -> Result<i16> {
        self.conn(self.broker_addr(node)?).await?.version(key)
    }
}

/// `partition` of a topic's partitions, which [`parse_metadata`] keeps sorted.
fn partition_meta(partitions: &[PartitionMeta], partition: i32) -> Option<&PartitionMeta> {
    (partitions.binary_search_by_key(&partition, |p| p.partition))
        .ok()
        .map(|i| &partitions[i])
}

async fn parse_metadata(resp: MetadataResponse) -> Result<ClusterMeta> {
    ClientError::check(resp.error_code, || "Metadata".into())?;
    let mut meta = ClusterMeta {
        cluster_id: resp.cluster_id.map(|s| s.to_string()),
        controller: resp.controller_id.0,
        ..Default::default()
    };
    for b in resp.brokers {
        let port = u16::try_from(b.port).map_err(|_| {
            ClientError::InvalidInput(format!("broker {} advertises port {}", b.node_id.0, b.port))
        })?;
        let host = b.host.to_string();
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .ok()
            .and_then(|mut a| a.next());
        match addr {
            Some(addr) => {
                meta.brokers.insert(b.node_id.0, addr);
            }
            None => tracing::warn!(node = b.node_id.0, %host, "cannot resolve broker host"),
        }
    }
    for t in resp.topics {
        let Some(name) = t.name else { continue };
        if t.error_code != 0 {
            continue;
        }
        let mut parts: Vec<PartitionMeta> = t
            .partitions
            .into_iter()
            .map(|p| PartitionMeta {
                partition: p.partition_index,
                leader: p.leader_id.0,
                leader_epoch: p.leader_epoch,
                replicas: p.replica_nodes.iter().map(|n| n.0).collect(),
                isr: p.isr_nodes.iter().map(|n| n.0).collect(),
                error_code: p.error_code,
            })
            .collect();
        parts.sort_by_key(|p| p.partition);
        meta.topics.insert(name.to_string(), parts);
    }
    Ok(meta)
}
