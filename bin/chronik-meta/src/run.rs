//! `chronik-meta run`: one voter, until SIGINT/SIGTERM (SIGHUP reloads its TLS certificate).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use chronik_metadata::grpc::ClusterTls;
use chronik_metadata::node::{MetaNode, NodeConfig};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cli::RunArgs;

/// The node's configuration from its settings; fails (naming the flag) on bad values.
pub fn node_config(args: &RunArgs) -> anyhow::Result<NodeConfig> {
    if args.id == 0 {
        bail!("--id must be 1 or more (0 is reserved)");
    }
    let mut cfg = NodeConfig::new(args.id, args.listen, args.data_dir.clone());
    cfg.advertise = args.advertise.clone();
    cfg.cluster_id = args.cluster_id.clone();
    cfg.peers = match &args.peers {
        Some(peers) => parse_peers(peers).context("bad --peers")?,
        None => BTreeMap::new(),
    };
    cfg.session_timeout = Duration::from_millis(args.session_timeout_ms.max(100));
    cfg.preferred_leader_interval = Duration::from_secs(args.preferred_leader_interval_s.max(1));
    cfg.auto_balance = args.auto_balance;
    cfg.snapshot_entries = args.snapshot_entries;
    cfg.tls = args.tls.load()?;
    Ok(cfg)
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let cfg = node_config(&args)?;
    let mut signals = Signals::watch(cfg.tls.clone())?;
    if let Some(addr) = args.metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                chronik_cli::LATENCY_BUCKETS_SECONDS,
            )
            .context("invalid latency histogram buckets")?
            .install()
            .with_context(|| format!("cannot serve metrics on {addr}; is the port in use?"))?;
    }
    let node = MetaNode::start(cfg).await.with_context(|| {
        format!(
            "cannot start meta node {} in {}",
            args.id,
            args.data_dir.display()
        )
    })?;
    signals.until_stopped().await;
    tracing::info!("stopping");
    node.shutdown().await;
    Ok(())
}

/// Parses `1=host:port,2=host:port`.
pub fn parse_peers(text: &str) -> anyhow::Result<BTreeMap<u64, String>> {
    let mut peers = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((id, address)) = part.split_once('=') else {
            bail!("peer '{part}' is not ID=HOST:PORT");
        };
        let id: u64 = id
            .trim()
            .parse()
            .with_context(|| format!("peer id '{id}' is not a number"))?;
        if id == 0 {
            bail!("peer id 0 is reserved; use ids from 1");
        }
        if !address.contains(':') {
            bail!("peer {id}'s address '{address}' is not HOST:PORT");
        }
        if peers.insert(id, address.trim().to_owned()).is_some() {
            bail!("peer {id} is listed twice");
        }
    }
    Ok(peers)
}

/// The signals `run` answers, watched from before the node starts so none is missed.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    /// With TLS: reload the certificate, key and CA.
    hangup: Option<(Signal, ClusterTls)>,
}

impl Signals {
    fn watch(tls: Option<ClusterTls>) -> anyhow::Result<Signals> {
        let hangup = match tls {
            Some(tls) => Some((
                signal(SignalKind::hangup()).context("cannot watch SIGHUP")?,
                tls,
            )),
            None => None,
        };
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            hangup,
        })
    }

    /// Waits for SIGINT or SIGTERM; SIGHUP meanwhile reloads the TLS files for connections
    /// made from then on.
    async fn until_stopped(&mut self) {
        loop {
            let hangup = async {
                match self.hangup.as_mut() {
                    Some((hangup, tls)) => {
                        hangup.recv().await;
                        Some(tls.reload())
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.interrupt.recv() => return,
                _ = self.terminate.recv() => return,
                reloaded = hangup => match reloaded {
                    Some(Ok(())) => tracing::info!("TLS certificate reloaded"),
                    Some(Err(e)) => tracing::error!(error = %e,
                        "TLS reload failed; the previous certificate stays in use"),
                    None => {}
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_peers;

    #[test]
    fn peers_parse_and_bad_lists_are_refused() {
        let peers = parse_peers("1=a:1, 2=b:2,3=c:3").expect("valid list");
        assert_eq!(peers.len(), 3);
        assert_eq!(peers[&2], "b:2");
        for bad in ["1=a:1,1=b:2", "0=a:1", "x=a:1", "1:a:1", "1=nohostport"] {
            assert!(parse_peers(bad).is_err(), "{bad} was accepted");
        }
    }
}
