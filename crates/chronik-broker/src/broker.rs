//! Starting, serving and stopping a broker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chronik_metadata::BrokerEndpoint;
use chronik_wal::{DataDir, WalOptions};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

use crate::accept::Listener;

use crate::cluster::Cluster;
use crate::partition::PartitionLayer;
use crate::partitions::Partitions;
use crate::producer_ids::ProducerIdPool;
use crate::services::Services;
use crate::topic_config::TopicSettings;
use crate::{BrokerConfig, BrokerError};

/// How long shutdown waits for in-flight requests before closing anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A started broker: listener bound, metadata node running, broker registered.
pub struct Broker {
    services: Arc<Services>,
    listeners: Vec<(TcpListener, Arc<Listener>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Stopped first at shutdown: a heartbeat would unfence the broker being shut down.
    heartbeats: tokio::task::JoinHandle<()>,
}

impl Broker {
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        // First, so that bad listener or TLS settings fail before the data dir is touched.
        let listeners = crate::accept::bind_all(&config).await?;
        let remote_store = match &config.remote_storage {
            Some(tier) => Some(crate::tiering::open(tier, config.id).await?),
            None => None,
        };
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| BrokerError::io(format!("create {}", config.data_dir.display()), e))?;
        let defaults = TopicSettings::defaults(&config);
        defaults
            .check()
            .map_err(|e| BrokerError::Config(format!("topic defaults: {e}")))?;
        let mut wal = WalOptions::new(config.fsync);
        if let Some(syncer) = &config.partition_syncer {
            wal.syncer = syncer.0.clone();
        }
        let dir = DataDir::open(&config.data_dir, wal)?;
        let partitions = Arc::new(Partitions::new(dir, defaults.clone()));
        let cluster = Cluster::start(
            &config,
            crate::cluster::OffsetsTopic {
                replication_factor: config.offsets_topic_replication_factor,
                segment_bytes: config.offsets_topic_segment_bytes,
            },
        )
        .await?;
        let cluster = Arc::new(cluster);
        // Every listener is registered, so that each client is told every broker's address on
        // the listener it came in on; brokers reach each other by the first.
        let endpoints: Vec<BrokerEndpoint> = (listeners.iter())
            .map(|(_, l)| BrokerEndpoint {
                name: l.config.name.clone(),
                host: l.advertised.0.clone(),
                port: l.advertised.1,
            })
            .collect();
        cluster.register(&endpoints).await?;
        let groups = Arc::new(crate::groups::Coordinator::new(
            cluster.clone(),
            partitions.clone(),
            config.max_message_bytes,
            config.offsets_retention,
            config.group_initial_rebalance_delay,
            crate::groups::consumer_config(&config)?,
        ));
        let isr_check = Arc::new(Notify::new());
        let fetchers = Arc::new(crate::replica::fetcher::Fetchers {
            cluster: cluster.clone(),
            partitions: partitions.clone(),
            remote: remote_store.clone(),
        });
        let mut tasks = vec![
            crate::replica::fetcher::spawn(fetchers),
            crate::replica::isr::spawn(
                cluster.clone(),
                partitions.clone(),
                config.replica_lag_time_max,
                isr_check.clone(),
            ),
            groups.spawn_reaper(),
            spawn_checkpoints(partitions.clone()),
            cluster.spawn_reconciler(partitions.clone()),
            crate::retention::spawn(partitions.clone(), config.retention_check_interval),
            crate::metrics::spawn(partitions.clone(), groups.clone()),
        ];
        let heartbeats = cluster.spawn_heartbeats(endpoints.clone());
        let layer = Arc::new(PartitionLayer::new(
            partitions.clone(),
            cluster.clone(),
            defaults,
            isr_check,
        ));
        tasks.extend(crate::cleaner::spawn(layer.clone(), &config.cleaner));
        let mut remote_reader = None;
        if let (Some(tier), Some(store)) = (&config.remote_storage, remote_store) {
            tracing::info!(location = %tier.location, "remote tier checked");
            remote_reader = Some(Arc::new(chronik_tiered::RemoteReader::new(
                store.clone(),
                tier.index_cache_bytes,
                tier.readers,
            )));
            tasks.push(crate::tiering::spawn(
                layer.clone(),
                cluster.clone(),
                store,
                tier.interval,
            ));
        }
        let producer_ids = Arc::new(ProducerIdPool::default());
        let txns = Arc::new(crate::transactions::TxnCoordinator::new(
            cluster.clone(),
            layer.clone(),
            groups.clone(),
            producer_ids.clone(),
            config.transaction_max_timeout,
            config.max_message_bytes,
        ));
        tasks.push(txns.spawn_reaper());
        cluster.reconcile(&partitions);
        cluster.remove_orphans(&partitions);
        for (_, l) in &listeners[1..] {
            tracing::info!(listener = %l.config.name, protocol = %l.config.protocol, listen = %l.local,
                advertise = %format!("{}:{}", l.advertised.0, l.advertised.1), "listening");
        }
        tasks.extend(crate::accept::spawn_tls_reloader(
            &listeners,
            cluster.peer_tls(),
        )?);
        let first = &listeners[0].1;
        tracing::info!(broker = config.id, listener = %first.config.name, listen = %first.local,
            advertise = %format!("{}:{}", first.advertised.0, first.advertised.1), data_dir = %config.data_dir.display(),
            fsync = ?config.fsync, "broker started");
        let fetch_sessions = std::sync::Mutex::new(crate::fetch_sessions::FetchSessions::new(
            config.fetch_session_cache_slots,
            config.fetch_session_eviction,
        ));
        let quotas = Arc::new(crate::quotas::Quotas::new(cluster.clone()));
        let services = Arc::new(Services {
            fetch_sessions,
            quotas,
            config,
            cluster,
            producer_ids,
            groups,
            layer,
            txns,
            remote_reader,
        });
        Ok(Broker {
            services,
            listeners,
            tasks,
            heartbeats,
        })
    }

    /// The address the first Kafka listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.listeners[0].1.local
    }

    /// Every listener's name and bound address, in the order configured.
    pub fn listener_addrs(&self) -> Vec<(String, SocketAddr)> {
        (self.listeners.iter())
            .map(|(_, l)| (l.config.name.clone(), l.local))
            .collect()
    }

    /// Accepts connections until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish, stops the metadata node and closes the data dir cleanly.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), BrokerError> {
        let limit = Arc::new(Semaphore::new(self.services.config.max_connections));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (stop_accepting_tx, stop_accepting) = watch::channel(false);
        let accepting: Vec<_> = (self.listeners.into_iter())
            .map(|(socket, listener)| {
                tokio::spawn(crate::accept::accept_loop(
                    socket,
                    listener,
                    self.services.clone(),
                    limit.clone(),
                    stop_rx.clone(),
                    stop_accepting.clone(),
                ))
            })
            .collect();
        shutdown.await;
        stop_accepting_tx.send_replace(true);
        // The ports stay bound (not accepting) until leaderships have moved away.
        let mut sockets = Vec::new();
        for task in accepting {
            sockets.extend(task.await.ok());
        }
        tracing::info!("shutting down: moving leaderships away, then finishing in-flight requests");
        self.heartbeats.abort();
        self.services.cluster.controlled_shutdown().await;
        drop(sockets);
        stop_tx.send_replace(true);
        let all = u32::try_from(self.services.config.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(DRAIN_TIMEOUT, limit.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("connections still busy after {DRAIN_TIMEOUT:?}; closing anyway");
        }
        for task in self.tasks {
            task.abort();
        }
        self.services.cluster.shutdown().await;
        self.services.layer.partitions().close()?;
        tracing::info!("broker stopped; data dir closed cleanly");
        Ok(())
    }
}

/// How often moved high watermarks are saved (as often as Kafka saves its own): bounds how
/// far behind the marks a restarted broker starts from are.
const HIGH_WATERMARK_INTERVAL: Duration = Duration::from_secs(5);
/// Every how many high-watermark passes changed producer state is saved too (every 30 s):
/// bounds what a restart after a crash replays.
const PRODUCER_SNAPSHOT_EVERY: u32 = 6;

fn spawn_checkpoints(partitions: Arc<Partitions>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for pass in 1u32.. {
            tokio::time::sleep(HIGH_WATERMARK_INTERVAL).await;
            let p = partitions.clone();
            let producers = pass % PRODUCER_SNAPSHOT_EVERY == 0;
            if let Err(e) = tokio::task::spawn_blocking(move || p.checkpoint(producers)).await {
                tracing::error!(error = %e, "saving high watermarks and producer state failed");
            }
        }
    })
}
