//! `chronik-bench meta`: the metadata quorum's write throughput and commit latency.
//!
//! Every proposer allocates producer-id blocks (AllocateProducerIds) for one benchmark broker in
//! a loop. That is the cheapest real write: one record, one Raft entry per call, no placement
//! work, and it never runs out in practice. The broker is registered and kept live by a
//! heartbeat task for the length of the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chronik_metadata::grpc::pb::controller_client::ControllerClient;
use chronik_metadata::grpc::pb::{
    AllocateProducerIdsRequest, HeartbeatRequest, RegisterBrokerRequest,
};
use chronik_metadata::grpc::{ClientError, MetaClient, connect};
use serde::Serialize;
use tonic::transport::Channel;

use crate::latency::Latency;
use crate::report::{self, OutputArgs, Summary, decimal, per_sec, round3};

/// How often the benchmark broker heartbeats (well within the default 6 s session).
const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);
/// Per-attempt and whole-call limits of one proposal (an election is waited out).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct MetaArgs {
    /// Meta node addresses (HOST:PORT,...); the leader is found from any of them.
    #[arg(long, env = "CHRONIK_META", value_delimiter = ',', required = true)]
    meta: Vec<String>,
    /// Proposers running at once, each waiting for its write to commit before the next.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    concurrency: u64,
    /// Run for this many seconds.
    #[arg(long, conflicts_with = "proposals", value_parser = clap::value_parser!(u64).range(1..))]
    duration: Option<u64>,
    /// Stop after this many committed proposals (default: 10 s when neither is given).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    proposals: Option<u64>,
    /// Broker id registered for the run (its producer-id blocks are what gets written).
    /// Default: a random id from 1,000,000 on, so back-to-back runs do not collide with the
    /// previous run's still-live session. It stays in the metadata, fenced, after the run.
    #[arg(long)]
    broker_id: Option<i32>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Quantiles in milliseconds.
#[derive(Debug, Serialize)]
struct LatencyMs {
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

/// The JSON document `meta --output json` prints.
#[derive(Debug, Serialize)]
struct MetaReport {
    /// Proposals that committed.
    proposals: u64,
    seconds: f64,
    proposals_per_sec: f64,
    /// Call start to committed answer, per successful proposal.
    latency_ms: LatencyMs,
    /// Proposals that failed (after the client's own retries across leader changes).
    errors: u64,
    concurrency: u64,
    write: &'static str,
}

/// When the run ends.
#[derive(Clone, Copy)]
enum Stop {
    At(Instant),
    After(u64),
}

pub fn run(args: &MetaArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(bench(args))?;
    let mut summary = Summary::new(format!(
        "metadata quorum: {} proposers committing AllocateProducerIds",
        report.concurrency
    ));
    summary
        .row("proposals", report::count(report.proposals))
        .row("seconds", decimal(report.seconds, 2))
        .row("proposals/s", decimal(report.proposals_per_sec, 1))
        .row(
            "latency p50",
            format!("{} ms", decimal(report.latency_ms.p50, 3)),
        )
        .row(
            "latency p99",
            format!("{} ms", decimal(report.latency_ms.p99, 3)),
        )
        .row(
            "latency p99.9",
            format!("{} ms", decimal(report.latency_ms.p999, 3)),
        )
        .row(
            "latency max",
            format!("{} ms", decimal(report.latency_ms.max, 3)),
        )
        .row("errors", report::count(report.errors));
    report::emit(args.out.output, &report, &summary)?;
    if report.proposals == 0 {
        bail!("no proposal committed ({} errors)", report.errors);
    }
    Ok(())
}

async fn bench(args: &MetaArgs) -> Result<MetaReport> {
    let broker_id =
        (args.broker_id).unwrap_or_else(|| rand::random_range(1_000_000..2_000_000_000));
    let incarnation = rand::random::<[u8; 16]>().to_vec();
    let mut admin = client(&args.meta);
    let register = RegisterBrokerRequest {
        broker_id,
        incarnation_id: incarnation.clone(),
        host: "bench.invalid".into(),
        port: 9092,
        rack: None,
        endpoints: Vec::new(),
    };
    admin
        .call(|mut c| {
            let r = register.clone();
            async move { c.register_broker(r).await }
        })
        .await
        .with_context(|| format!("cannot register benchmark broker {broker_id}"))?;
    let heartbeat = HeartbeatRequest {
        broker_id,
        incarnation_id: incarnation,
    };
    beat(&mut admin, &heartbeat)
        .await
        .context("the benchmark broker's first heartbeat failed")?;
    // Proposers connect to the leader before the clock starts, so no sample includes finding it.
    let leader = admin.leader().map(str::to_owned);
    let heartbeats = tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT_EVERY).await;
            if let Err(e) = beat(&mut admin, &heartbeat).await {
                tracing::warn!(error = %e, "benchmark broker heartbeat failed");
            }
        }
    });

    let mut proposers = Vec::new();
    for _ in 0..args.concurrency {
        let mut proposer = Proposer::new(&args.meta, broker_id);
        if let Some(address) = &leader {
            proposer.leader = connect(address, None, CALL_TIMEOUT).await.ok();
        }
        proposers.push(proposer);
    }
    let stop = match (args.duration, args.proposals) {
        (_, Some(n)) => Stop::After(n),
        (seconds, None) => Stop::At(Instant::now() + Duration::from_secs(seconds.unwrap_or(10))),
    };
    let started = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let workers: Vec<_> = (proposers.into_iter())
        .map(|proposer| tokio::spawn(proposer.run(stop, Arc::clone(&started))))
        .collect();
    let mut latency = Latency::new();
    let mut errors = 0;
    for worker in workers {
        let (histogram, failed) = worker.await.context("a proposer task failed")?;
        latency.merge(&histogram)?;
        errors += failed;
    }
    let elapsed = begin.elapsed();
    heartbeats.abort();
    let us = latency.summary();
    let ms = |micros: f64| round3(micros / 1_000.0);
    Ok(MetaReport {
        proposals: latency.count(),
        seconds: round3(elapsed.as_secs_f64()),
        proposals_per_sec: round3(per_sec(latency.count() as f64, elapsed)),
        latency_ms: LatencyMs {
            p50: ms(us.p50),
            p99: ms(us.p99),
            p999: ms(us.p999),
            max: ms(us.max),
        },
        errors,
        concurrency: args.concurrency,
        write: "allocate_producer_ids",
    })
}

fn client(addresses: &[String]) -> MetaClient {
    MetaClient::new(addresses.iter().cloned()).with_timeouts(CALL_TIMEOUT, CALL_TIMEOUT * 2)
}

async fn beat(client: &mut MetaClient, heartbeat: &HeartbeatRequest) -> Result<(), ClientError> {
    client
        .call(|mut c| {
            let r = heartbeat.clone();
            async move { c.heartbeat(r).await }
        })
        .await
        .map(|_| ())
}

/// One proposer: keeps a connection to the leader and finds a new one through [`MetaClient`]
/// when that connection fails or stops leading.
struct Proposer {
    finder: MetaClient,
    leader: Option<ControllerClient<Channel>>,
    request: AllocateProducerIdsRequest,
}

impl Proposer {
    fn new(addresses: &[String], broker_id: i32) -> Self {
        Proposer {
            finder: client(addresses),
            leader: None,
            request: AllocateProducerIdsRequest { broker_id },
        }
    }

    /// Proposes until `stop`; returns the latencies of committed proposals and the failures.
    async fn run(mut self, stop: Stop, started: Arc<AtomicU64>) -> (Latency, u64) {
        let mut latency = Latency::new();
        let mut errors = 0;
        loop {
            let go = match stop {
                Stop::At(deadline) => Instant::now() < deadline,
                Stop::After(n) => started.fetch_add(1, Ordering::Relaxed) < n,
            };
            if !go {
                break;
            }
            let begin = Instant::now();
            match self.allocate().await {
                Ok(()) => latency.record(begin.elapsed()),
                Err(e) => {
                    errors += 1;
                    tracing::debug!(error = %e, "proposal failed");
                }
            }
        }
        (latency, errors)
    }

    async fn allocate(&mut self) -> Result<(), ClientError> {
        if let Some(leader) = &mut self.leader {
            match leader.allocate_producer_ids(self.request).await {
                Ok(_) => return Ok(()),
                // Not the leader any more, or gone: find the leader again below.
                Err(_) => self.leader = None,
            }
        }
        let request = self.request;
        self.finder
            .call(|mut c| async move { c.allocate_producer_ids(request).await })
            .await?;
        if let Some(address) = self.finder.leader() {
            self.leader = connect(address, None, CALL_TIMEOUT).await.ok();
        }
        Ok(())
    }
}
