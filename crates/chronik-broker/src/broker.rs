//! Starting, serving and stopping a broker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chronik_wal::{DataDir, WalOptions};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

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
    listener: TcpListener,
    local_addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Stopped first at shutdown: a heartbeat would unfence the broker being shut down.
    heartbeats: tokio::task::JoinHandle<()>,
}

impl Broker {
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
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
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| BrokerError::io(format!("listen on {}", config.listen), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| BrokerError::io("read the bound address", e))?;
        let cluster = Cluster::start(
            config.id,
            &config.data_dir,
            config.meta_listen,
            &config.meta,
            crate::cluster::OffsetsTopic {
                replication_factor: config.offsets_topic_replication_factor,
                segment_bytes: config.offsets_topic_segment_bytes,
            },
        )
        .await?;
        let cluster = Arc::new(cluster);
        let (host, port) = advertised(config.advertise.as_deref(), local_addr)?;
        cluster.register(&host, port).await?;
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
        let heartbeats = cluster.spawn_heartbeats(host.clone(), port);
        let layer = Arc::new(PartitionLayer::new(
            partitions.clone(),
            cluster.clone(),
            defaults,
            isr_check,
        ));
        tasks.extend(crate::cleaner::spawn(layer.clone(), &config.cleaner));
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
        tracing::info!(broker = config.id, listen = %local_addr, advertise = %format!("{host}:{port}"),
            data_dir = %config.data_dir.display(), fsync = ?config.fsync, "broker started");
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
        });
        Ok(Broker {
            services,
            listener,
            local_addr,
            tasks,
            heartbeats,
        })
    }

    /// The address the Kafka listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Accepts connections until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish, stops the metadata node and closes the data dir cleanly.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), BrokerError> {
        let limit = Arc::new(Semaphore::new(self.services.config.max_connections));
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                p = limit.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let (socket, peer) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let conn = crate::connection::Connection::new(self.services.clone(), stop_rx.clone());
            tokio::spawn(async move {
                conn.run(socket, peer).await;
                drop(permit);
            });
        }
        tracing::info!("shutting down: moving leaderships away, then finishing in-flight requests");
        self.heartbeats.abort();
        self.services.cluster.controlled_shutdown().await;
        drop(self.listener);
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

/// The `host:port` registered for clients: `--advertise`, else the bound address.
fn advertised(advertise: Option<&str>, bound: SocketAddr) -> Result<(String, u16), BrokerError> {
    let Some(text) = advertise else {
        return Ok((bound.ip().to_string(), bound.port()));
    };
    let bad = || BrokerError::Config(format!("advertise address '{text}' is not HOST:PORT"));
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::advertised;

    #[test]
    fn advertise_defaults_to_the_bound_address_and_rejects_junk() {
        let bound = "127.0.0.1:9092".parse().expect("addr");
        assert_eq!(
            advertised(None, bound).ok(),
            Some(("127.0.0.1".into(), 9092))
        );
        let given = advertised(Some("kafka.example:19092"), bound).ok();
        assert_eq!(given, Some(("kafka.example".into(), 19092)));
        assert_eq!(
            advertised(Some("[::1]:9"), bound).ok(),
            Some(("::1".into(), 9))
        );
        for bad in ["nohost", ":9092", "host:99999", "host:x"] {
            assert!(advertised(Some(bad), bound).is_err(), "{bad}");
        }
    }
}
