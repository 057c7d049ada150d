//! Benchmarks against any Kafka-compatible broker, through `chronik-client`: `produce`,
//! `consume`, `e2e` and `commits`. This module holds what they share: connection flags, the
//! JSON report, the error tally, `--compare`, and the table.

pub mod commits;
pub mod compare;
pub mod connect;
pub mod consume;
pub mod e2e;
pub mod produce;
pub mod security;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use chronik_client::{Client, ClientConfig, ClientError};
use serde::Serialize;

use crate::latency::LatencyMs;
use crate::report::{self, MIB, OutputArgs, Summary, decimal, per_sec};

/// Flags every broker benchmark takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnArgs {
    /// Broker address(es) to bootstrap from (HOST:PORT[,HOST:PORT...]).
    #[arg(long, env = "CHRONIK_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// Topic to use.
    #[arg(long)]
    pub topic: String,
    /// Every request and every record fails after this long (retries included), so a dead
    /// broker ends the run with an error instead of a hang.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub timeout_ms: u64,
    /// An earlier run's `--output json` document: each figure is also shown as a ratio to it.
    #[arg(long, value_name = "BASELINE.json")]
    pub compare: Option<PathBuf>,
    #[command(flatten)]
    pub security: security::SecurityArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl ConnArgs {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub async fn client(&self, client_id: &str) -> Result<Client> {
        let mut cfg = ClientConfig::new(&self.bootstrap);
        cfg.client_id = client_id.to_owned();
        cfg.request_timeout = self.timeout();
        cfg.connect_timeout = self.timeout().min(Duration::from_secs(10));
        self.security.apply(&mut cfg)?;
        Client::connect(cfg)
            .await
            .with_context(|| format!("cannot reach the cluster at {}", self.bootstrap))
    }
}

/// Failures by error name (Kafka's name for broker errors).
#[derive(Debug, Default, Clone, Serialize)]
pub struct ErrorTally(BTreeMap<String, u64>);

impl ErrorTally {
    pub fn add(&mut self, e: &ClientError) {
        *self.0.entry(e.name()).or_default() += 1;
    }

    /// Counts `n` failures that are no client error (records that never arrived); zero adds
    /// no entry.
    pub fn add_named(&mut self, name: &str, n: u64) {
        if n > 0 {
            *self.0.entry(name.to_owned()).or_default() += n;
        }
    }

    pub fn merge(&mut self, other: &ErrorTally) {
        for (k, v) in &other.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        parts.join(", ")
    }
}

/// The JSON document of `produce`, `consume` and `e2e`.
#[derive(Debug, Serialize)]
pub struct BrokerReport {
    pub mode: &'static str,
    pub topic: String,
    /// Records acknowledged (produce), fetched (consume) or received end to end (e2e).
    pub records: u64,
    /// Payload bytes of those records (produce, e2e: values; consume: fetched batch bytes).
    pub bytes: u64,
    /// Records that failed, by error name; produce: records attempted = records + failed.
    pub errors: ErrorTally,
    pub records_failed: u64,
    pub seconds: f64,
    pub records_per_sec: f64,
    pub mb_per_sec: f64,
    pub latency_ms: LatencyMs,
    /// What the latency measures.
    pub latency: &'static str,
    /// The settings of the run.
    pub config: serde_json::Value,
    /// produce with --transaction-records: transactions committed, and EndTxn's latency (from
    /// the request to its answer, after every record of the transaction was acknowledged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_latency_ms: Option<LatencyMs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<BTreeMap<String, f64>>,
    /// The first error seen, in full, for the summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl BrokerReport {
    pub fn rates(&mut self, elapsed: Duration) {
        self.seconds = report::round3(elapsed.as_secs_f64());
        self.records_per_sec = report::round3(per_sec(self.records as f64, elapsed));
        self.mb_per_sec = report::round3(per_sec(self.bytes as f64, elapsed) / MIB);
    }
}

/// Prints the report (with ratios to `--compare` when given) and fails the command when any
/// record failed, naming the errors.
pub fn finish(args: &ConnArgs, mut report: BrokerReport, title: String) -> Result<()> {
    if let Some(path) = &args.compare {
        report.compare = Some(compare::ratios(path, &report)?);
    }
    let mut summary = Summary::new(title);
    summary
        .row("records", report::count(report.records))
        .row("failed", report::count(report.records_failed))
        .row("seconds", decimal(report.seconds, 2))
        .row("records/s", decimal(report.records_per_sec, 1))
        .row("MiB/s", decimal(report.mb_per_sec, 2));
    let l = report.latency_ms;
    for (name, v) in [
        ("p50", l.p50),
        ("p95", l.p95),
        ("p99", l.p99),
        ("p99.9", l.p999),
        ("max", l.max),
    ] {
        summary.row(format!("latency {name}"), format!("{} ms", decimal(v, 3)));
    }
    if let Some(ratios) = &report.compare {
        for (k, v) in ratios {
            summary.row(format!("{k} vs baseline"), format!("×{}", decimal(*v, 3)));
        }
    }
    if let (Some(n), Some(c)) = (report.transactions, report.commit_latency_ms) {
        summary.row("transactions", report::count(n));
        for (name, v) in [("p50", c.p50), ("p99", c.p99), ("max", c.max)] {
            summary.row(format!("commit {name}"), format!("{} ms", decimal(v, 3)));
        }
    }
    summary.note(format!("latency: {}", report.latency));
    if report.errors.total() > 0 {
        summary.note(format!("errors: {}", report.errors.describe()));
    }
    report::emit(args.out.output, &report, &summary)?;
    if report.records_failed > 0 || report.errors.total() > 0 {
        anyhow::bail!(
            "{} records failed ({}); first error: {}",
            report.records_failed,
            report.errors.describe(),
            report.first_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// Creates the topic when asked (an existing topic is fine) and returns its partition count.
pub async fn prepare_topic(
    client: &Client,
    topic: &str,
    create: bool,
    partitions: i32,
) -> Result<i32> {
    if create {
        client
            .create_topic(topic, partitions, -1)
            .await
            .with_context(|| format!("cannot create topic {topic}"))?;
    }
    let parts = client.partitions(topic).await.with_context(|| {
        format!("topic {topic} not found: create it first or pass --create --partitions N")
    })?;
    i32::try_from(parts.len()).context("partition count")
}
