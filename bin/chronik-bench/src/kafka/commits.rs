//! `chronik-bench commits`: offset commits as consumers make them, against any Kafka-compatible
//! broker. G groups without members (Kafka's simple-consumer commits: generation -1, no member
//! id) each commit every partition of one topic per request, one request in flight per group,
//! until N partition offsets are committed; then every group's offsets are fetched back and
//! checked. `--fetch-only` commits nothing: it waits until the coordinators answer OffsetFetch
//! with exactly the offsets a full run of the same flags leaves, which after a broker restart
//! is how long the coordinator takes to load its groups.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chronik_client::{Client, ClientConfig, GroupOffsets};
use serde::Serialize;

use super::ErrorTally;
use crate::latency::{Latency, LatencyMs};
use crate::report::{self, OutputArgs, Summary, decimal, per_sec, round3};

/// Pause before retrying a refused call (a coordinator loading, moving or starting).
const RETRY_BACKOFF: Duration = Duration::from_millis(20);

const EXAMPLES: &str = "\
Examples:
  # 1,000,000 offset commits by 10 groups on a 100-partition topic
  chronik-bench commits --bootstrap 127.0.0.1:9092 --topic t --create --partitions 100 \\
      --groups 10 --commits 1000000

  # After restarting the broker: how long until the coordinator answers with those offsets
  chronik-bench commits --bootstrap 127.0.0.1:9092 --topic t --groups 10 --commits 1000000 \\
      --fetch-only --output json

Groups are named PREFIX-0 .. PREFIX-(G-1). Round r commits (r + 1) * 1000000 + p for each
partition p, so a run's last offsets follow from its flags alone. Exit code 2 when a commit is
refused past --timeout-ms or the offsets fetched back are not the last ones committed.";

/// Commits offsets for G memberless groups on every partition of a topic: commits/s, request
/// latency, and the offsets fetched back; or, with --fetch-only, the time until they can be
/// fetched.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct CommitsArgs {
    /// Broker address(es) to bootstrap from (HOST:PORT[,HOST:PORT...]).
    #[arg(long, env = "CHRONIK_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    bootstrap: String,
    /// The topic whose partitions the groups commit offsets for.
    #[arg(long)]
    topic: String,
    /// Create the topic with --partitions partitions first (an existing topic is fine).
    #[arg(long)]
    create: bool,
    /// Partitions of the topic when --create makes it.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..=100_000))]
    partitions: i32,
    /// Groups committing at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    groups: u32,
    #[arg(long, default_value = "bench-commits")]
    group_prefix: String,
    /// Partition offsets to commit in all; whole requests, so rounded up to a multiple of
    /// groups × partitions.
    /// At most 10^12, so that every offset a run commits fits in an i64.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    commits: u64,
    /// Commit nothing: wait until OffsetFetch answers the offsets a full run of these flags
    /// leaves, and report how long that took from this command's start.
    #[arg(long)]
    fetch_only: bool,
    /// Each request's timeout, how long one commit is retried, and how long --fetch-only waits.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    timeout_ms: u64,
    #[command(flatten)]
    out: OutputArgs,
}

/// The JSON document of `commits`.
#[derive(Debug, Default, Serialize)]
struct CommitsReport {
    mode: &'static str,
    topic: String,
    groups: u32,
    partitions: usize,
    /// Partition offsets committed (each is one record in the offsets topic).
    commits: u64,
    requests: u64,
    seconds: f64,
    commits_per_sec: f64,
    requests_per_sec: f64,
    /// Commit requests, send to answer (retries included).
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<LatencyMs>,
    /// Refusals that were retried (coordinator loading or moving), by error name.
    retried: ErrorTally,
    /// OffsetFetch rounds until every group answered (fetch-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    fetch_attempts: Option<u64>,
    /// Offsets fetched back (groups × partitions) and how many differed from the last commit.
    offsets_checked: u64,
    offsets_wrong: u64,
    verified: bool,
}

/// The offset round `round` commits for `partition`.
fn offset_at(round: u64, partition: i32) -> i64 {
    (round as i64 + 1) * 1_000_000 + i64::from(partition)
}

fn group_name(args: &CommitsArgs, g: u32) -> String {
    format!("{}-{g}", args.group_prefix)
}

/// Commit requests per group: enough whole rounds to reach --commits.
fn rounds(args: &CommitsArgs, partitions: usize) -> u64 {
    let per_round = u64::from(args.groups) * partitions as u64;
    args.commits.div_ceil(per_round.max(1))
}

pub fn run(args: &CommitsArgs) -> Result<()> {
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        if args.fetch_only {
            fetch_only(args, started).await
        } else {
            commit_all(args).await
        }
    })?;
    report::emit(args.out.output, &report, &summary(&report))?;
    if !report.verified {
        bail!(
            "{} of {} offsets fetched back differ from the last ones committed",
            report.offsets_wrong,
            report.offsets_checked
        );
    }
    Ok(())
}

async fn connect(args: &CommitsArgs) -> Result<Client> {
    let mut cfg = ClientConfig::new(&args.bootstrap);
    cfg.client_id = "chronik-bench-commits".into();
    cfg.request_timeout = Duration::from_millis(args.timeout_ms);
    cfg.connect_timeout = cfg.request_timeout.min(Duration::from_secs(10));
    Client::connect(cfg)
        .await
        .with_context(|| format!("cannot reach the cluster at {}", args.bootstrap))
}

async fn partitions(client: &Client, args: &CommitsArgs) -> Result<Vec<i32>> {
    if args.create {
        (client.create_topic(&args.topic, args.partitions, -1).await)
            .with_context(|| format!("cannot create topic {}", args.topic))?;
    }
    let parts = client.partitions(&args.topic).await.with_context(|| {
        format!(
            "topic {} not found: create it first or pass --create",
            args.topic
        )
    })?;
    Ok(parts.iter().map(|p| p.partition).collect())
}

/// Every group commits its rounds; then the offsets are fetched back.
async fn commit_all(args: &CommitsArgs) -> Result<CommitsReport> {
    let client = connect(args).await?;
    let parts = Arc::new(partitions(&client, args).await?);
    let rounds = rounds(args, parts.len());
    let done = Arc::new(AtomicU64::new(0));
    let bar = chronik_cli::progress(Some(rounds * u64::from(args.groups)), "commit requests");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for g in 0..args.groups {
        let (client, parts, done) = (client.clone(), parts.clone(), done.clone());
        let (args, group) = (args.clone(), group_name(args, g));
        tasks.spawn(
            async move { commit_group(&client, &args, &group, &parts, rounds, &done).await },
        );
    }
    let (latency, retried) = join_groups(&mut tasks, &done, &bar).await?;
    let elapsed = started.elapsed();
    let requests = latency.count();
    let commits = requests * parts.len() as u64;
    let (checked, wrong) = check_offsets(&client, args, &parts, rounds).await?;
    Ok(CommitsReport {
        mode: "commit",
        topic: args.topic.clone(),
        groups: args.groups,
        partitions: parts.len(),
        commits,
        requests,
        seconds: round3(elapsed.as_secs_f64()),
        commits_per_sec: round3(per_sec(commits as f64, elapsed)),
        requests_per_sec: round3(per_sec(requests as f64, elapsed)),
        latency_ms: Some(latency.ms_summary()),
        retried,
        offsets_checked: checked,
        offsets_wrong: wrong,
        verified: wrong == 0,
        ..CommitsReport::default()
    })
}

type GroupResult = Result<(Latency, ErrorTally)>;

/// Waits for every group task, showing progress; the first failure wins.
async fn join_groups(
    tasks: &mut tokio::task::JoinSet<GroupResult>,
    done: &AtomicU64,
    bar: &indicatif::ProgressBar,
) -> Result<(Latency, ErrorTally)> {
    let (mut latency, mut retried) = (Latency::new(), ErrorTally::default());
    let mut first_error = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Ok((l, r)))) => {
                    latency.merge(&l)?;
                    retried.merge(&r);
                }
                Some(Ok(Err(e))) => {
                    first_error.get_or_insert(e);
                    tasks.abort_all();
                }
                Some(Err(e)) if e.is_cancelled() => {}
                Some(Err(e)) => {
                    first_error.get_or_insert(anyhow!("a group task failed: {e}"));
                }
            },
            _ = ticker.tick() => bar.set_position(done.load(Ordering::Relaxed)),
        }
    }
    bar.finish_and_clear();
    first_error.map_or(Ok((latency, retried)), Err)
}

/// One group's rounds, one request at a time; refusals a coordinator gives while loading or
/// moving are retried (finding it again) for up to --timeout-ms.
async fn commit_group(
    client: &Client,
    args: &CommitsArgs,
    group: &str,
    parts: &[i32],
    rounds: u64,
    done: &AtomicU64,
) -> GroupResult {
    let timeout = Duration::from_millis(args.timeout_ms);
    let (mut latency, mut retried) = (Latency::new(), ErrorTally::default());
    let mut coord = GroupOffsets::find(client, group).await;
    for round in 0..rounds {
        let offsets: BTreeMap<i32, i64> = parts.iter().map(|&p| (p, offset_at(round, p))).collect();
        let began = Instant::now();
        loop {
            let result = match &coord {
                Ok(c) => c.commit(&args.topic, &offsets).await,
                Err(e) => Err(e.clone()),
            };
            match result {
                Ok(()) => break,
                Err(e) if e.is_retriable() && began.elapsed() < timeout => {
                    retried.add(&e);
                    tokio::time::sleep(RETRY_BACKOFF).await;
                    coord = GroupOffsets::find(client, group).await;
                }
                Err(e) => {
                    return Err(anyhow!(e).context(format!("group {group}: commit round {round}")));
                }
            }
        }
        latency.record(began.elapsed());
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok((latency, retried))
}

/// Fetches every group's offsets: (offsets checked, offsets not the last round's).
async fn check_offsets(
    client: &Client,
    args: &CommitsArgs,
    parts: &[i32],
    rounds: u64,
) -> Result<(u64, u64)> {
    let (mut checked, mut wrong) = (0, 0);
    for g in 0..args.groups {
        let group = group_name(args, g);
        let coord = GroupOffsets::find(client, &group).await?;
        let fetched = (coord.fetch(&args.topic, parts).await)
            .with_context(|| format!("fetching the offsets of group {group}"))?;
        for &p in parts {
            checked += 1;
            if fetched.get(&p) != Some(&offset_at(rounds - 1, p)) {
                wrong += 1;
            }
        }
    }
    Ok((checked, wrong))
}

/// Polls until every group's offsets are the last ones a full run committed; broker down,
/// coordinator loading and wrong answers are all retried until --timeout-ms.
async fn fetch_only(args: &CommitsArgs, started: Instant) -> Result<CommitsReport> {
    let deadline = started + Duration::from_millis(args.timeout_ms);
    let (mut attempts, mut refused) = (0u64, ErrorTally::default());
    let mut last_problem = String::new();
    while Instant::now() < deadline {
        attempts += 1;
        match fetch_attempt(args).await {
            Ok((parts, checked, 0)) => {
                let elapsed = started.elapsed();
                return Ok(CommitsReport {
                    mode: "fetch",
                    topic: args.topic.clone(),
                    groups: args.groups,
                    partitions: parts,
                    seconds: round3(elapsed.as_secs_f64()),
                    retried: refused,
                    fetch_attempts: Some(attempts),
                    offsets_checked: checked,
                    verified: true,
                    ..CommitsReport::default()
                });
            }
            Ok((_, checked, wrong)) => {
                last_problem = format!("{wrong} of {checked} offsets differ")
            }
            Err(e) => {
                if let Some(c) = e.downcast_ref::<chronik_client::ClientError>() {
                    refused.add(c);
                }
                last_problem = format!("{e:#}");
            }
        }
        tokio::time::sleep(RETRY_BACKOFF).await;
    }
    bail!(
        "the offsets were not answered within {} ms ({attempts} attempts); last: {last_problem}",
        args.timeout_ms
    )
}

/// One try: connect, learn the partitions, fetch every group: (partitions, checked, wrong).
async fn fetch_attempt(args: &CommitsArgs) -> Result<(usize, u64, u64)> {
    let client = connect(args).await?;
    let parts = client.partitions(&args.topic).await?;
    let parts: Vec<i32> = parts.iter().map(|p| p.partition).collect();
    let (checked, wrong) = check_offsets(&client, args, &parts, rounds(args, parts.len())).await?;
    Ok((parts.len(), checked, wrong))
}

fn summary(r: &CommitsReport) -> Summary {
    let mut s = Summary::new(format!(
        "offset commits: {} groups × {} partitions of {}",
        r.groups, r.partitions, r.topic
    ));
    if r.mode == "commit" {
        s.row("offsets committed", report::count(r.commits))
            .row("requests", report::count(r.requests))
            .row("seconds", decimal(r.seconds, 2))
            .row("commits/s", decimal(r.commits_per_sec, 1))
            .row("requests/s", decimal(r.requests_per_sec, 1));
        if let Some(l) = r.latency_ms {
            for (name, v) in [("p50", l.p50), ("p99", l.p99), ("max", l.max)] {
                s.row(
                    format!("request latency {name}"),
                    format!("{} ms", decimal(v, 3)),
                );
            }
        }
    } else {
        s.row("seconds until answered", decimal(r.seconds, 3)).row(
            "fetch attempts",
            report::count(r.fetch_attempts.unwrap_or(0)),
        );
    }
    s.row(
        "offsets fetched back",
        format!(
            "{} checked, {} wrong",
            report::count(r.offsets_checked),
            report::count(r.offsets_wrong)
        ),
    );
    if r.retried.total() > 0 {
        s.note(format!("retried: {}", r.retried.describe()));
    }
    s
}
