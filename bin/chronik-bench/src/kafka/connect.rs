//! `chronik-bench connect`: how fast a broker takes new connections. C workers each open
//! connections one after another (TCP connect, TLS handshake, ApiVersions, SASL exchange),
//! and close each once it is ready, until N are made: connections/s and set-up latency.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chronik_client::{ClientConfig, ConnConfig, Connection};
use serde::Serialize;

use super::ErrorTally;
use super::security::SecurityArgs;
use crate::latency::{Latency, LatencyMs};
use crate::report::{self, OutputArgs, Summary, decimal, per_sec, round3};

const EXAMPLES: &str = "\
Examples:
  # TLS + SCRAM-SHA-512 handshakes/s on a SASL_SSL listener, 4 at a time
  CHRONIK_SASL_PASSWORD=secret chronik-bench connect --bootstrap 127.0.0.1:9093 \\
      --security-protocol SASL_SSL --ssl-ca-location ca.pem --sasl-username alice \\
      --connections 2000 --concurrency 4

A connection counts once the broker has answered ApiVersions and, on SASL listeners, accepted
the credentials. Exit code 2 when any connection fails.";

/// Opens and closes connections to one broker: connections/s and set-up latency.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct ConnectArgs {
    /// The broker to connect to (HOST:PORT).
    #[arg(long, env = "CHRONIK_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// Connections to make in all.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub connections: u64,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
    /// A connection not ready after this long fails.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub timeout_ms: u64,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Serialize)]
pub struct ConnectReport {
    pub mode: &'static str,
    pub connections: u64,
    pub failed: u64,
    pub errors: ErrorTally,
    pub seconds: f64,
    pub connections_per_sec: f64,
    /// From the TCP connect to the broker's last answer (ApiVersions, or SASL's final one).
    pub latency_ms: LatencyMs,
    pub config: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

pub fn run(args: &ConnectArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(connect_all(args))?;
    let mut summary = Summary::new(format!("connect {}", args.bootstrap));
    summary
        .row("connections", report::count(report.connections))
        .row("failed", report::count(report.failed))
        .row("seconds", decimal(report.seconds, 2))
        .row("connections/s", decimal(report.connections_per_sec, 1));
    let l = report.latency_ms;
    for (name, v) in [("p50", l.p50), ("p99", l.p99), ("max", l.max)] {
        summary.row(format!("set-up {name}"), format!("{} ms", decimal(v, 3)));
    }
    report::emit(args.out.output, &report, &summary)?;
    if report.failed > 0 {
        bail!(
            "{} connections failed ({}); first error: {}",
            report.failed,
            report.errors.describe(),
            report.first_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

async fn connect_all(args: &ConnectArgs) -> Result<ConnectReport> {
    let addr = tokio::net::lookup_host(args.bootstrap.as_str())
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .with_context(|| format!("cannot resolve --bootstrap {}", args.bootstrap))?;
    let mut client = ClientConfig::new(&args.bootstrap);
    args.security.apply(&mut client)?;
    let timeout = Duration::from_millis(args.timeout_ms);
    let config = ConnConfig {
        client_id: "chronik-bench-connect".into(),
        request_timeout: timeout,
        connect_timeout: timeout,
        max_response_bytes: 1 << 20,
        tls: client.tls,
        sasl: client.sasl,
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|w| {
            // Worker w makes every concurrency-th connection, so the counts add up to N.
            let count = (args.connections + args.concurrency - 1 - w) / args.concurrency;
            let config = config.clone();
            tokio::spawn(async move { worker(addr, config, count).await })
        })
        .collect();
    let (mut latency, mut errors, mut first_error) = (Latency::new(), ErrorTally::default(), None);
    for w in workers {
        let (l, e, first) = w.await.context("a connect worker panicked")?;
        latency.merge(&l)?;
        errors.merge(&e);
        first_error = first_error.or(first);
    }
    let elapsed = started.elapsed();
    Ok(ConnectReport {
        mode: "connect",
        connections: latency.count(),
        failed: errors.total(),
        errors,
        seconds: round3(elapsed.as_secs_f64()),
        connections_per_sec: round3(per_sec(latency.count() as f64, elapsed)),
        latency_ms: latency.ms_summary(),
        config: serde_json::json!({
            "bootstrap": args.bootstrap,
            "connections": args.connections,
            "concurrency": args.concurrency,
            "security_protocol": format!("{:?}", args.security.security_protocol),
            "sasl_mechanism": config.sasl.as_ref().map(|s| s.mechanism.name()),
        }),
        first_error,
    })
}

async fn worker(
    addr: std::net::SocketAddr,
    config: ConnConfig,
    count: u64,
) -> (Latency, ErrorTally, Option<String>) {
    let (mut latency, mut errors, mut first_error) = (Latency::new(), ErrorTally::default(), None);
    for _ in 0..count {
        let began = Instant::now();
        match Connection::open(addr, &config).await {
            Ok(conn) => {
                latency.record(began.elapsed());
                drop(conn);
            }
            Err(e) => {
                errors.add(&e);
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (latency, errors, first_error)
}
