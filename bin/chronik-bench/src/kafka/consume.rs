//! `chronik-bench consume`: fetches a topic's partitions from the earliest (or latest) offset and
//! counts what actually arrives: records (from each batch header, control batches excluded) and
//! bytes (the record batches as fetched, compressed size when compressed). Latency is each
//! Fetch round trip that returned data.
//!
//! With `--group G` the bench is a member of consumer group G (FindCoordinator, JoinGroup,
//! SyncGroup, heartbeats): it reads the partitions the group assigns it from the group's
//! committed offsets (`--from` only applies where none is committed), commits its positions at
//! the end and leaves the group.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chronik_client::records::FetchedBatch;
use chronik_client::{
    Client, ClientError, Consumer, ConsumerConfig, GroupConfig, GroupConsumer, StartAt,
};

use super::{BrokerReport, ConnArgs, ErrorTally, finish};
use crate::latency::Latency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    Earliest,
    Latest,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Stop after this many records (default: 10 s when neither this nor --duration is given).
    #[arg(long, conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub records: Option<u64>,
    /// Run for this many seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,
    /// Where to start in every partition.
    #[arg(long, value_enum, default_value = "earliest")]
    pub from: From,
    /// Consume as a member of this consumer group (committing offsets, leaving at the end).
    #[arg(long)]
    pub group: Option<String>,
    /// With --records: give up when no record arrives for this long.
    #[arg(long, default_value_t = 10_000)]
    pub idle_ms: u64,
}

pub fn run(args: &ConsumeArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = runtime.block_on(bench(args))?;
    let title = format!("consume from {}", args.conn.topic);
    finish(&args.conn, report, title)
}

/// Plain fetches of every partition, or a group member's assigned partitions.
enum Source {
    Plain(Consumer),
    Group(Box<GroupConsumer>),
}

impl Source {
    async fn open(args: &ConsumeArgs, client: Client, start_at: StartAt) -> Result<Source> {
        let topic = &args.conn.topic;
        let Some(group) = &args.group else {
            let consumer = Consumer::new(client, topic, None, start_at, ConsumerConfig::default())
                .await
                .with_context(|| format!("cannot start consuming {topic}"))?;
            return Ok(Source::Plain(consumer));
        };
        let cfg = GroupConfig {
            reset: start_at,
            // JoinGroup is held up to the rebalance timeout: keep it inside the request timeout.
            rebalance_timeout: (args.conn.timeout() * 3 / 4).min(Duration::from_secs(25)),
            ..Default::default()
        };
        let member = GroupConsumer::join(client, group, topic, cfg)
            .await
            .with_context(|| format!("cannot join consumer group {group} for {topic}"))?;
        tracing::info!(group, member = member.member_id(), generation = member.generation(),
            partitions = ?member.positions().keys().collect::<Vec<_>>(), "joined");
        Ok(Source::Group(Box::new(member)))
    }

    async fn poll(&mut self) -> chronik_client::Result<Vec<FetchedBatch>> {
        match self {
            Source::Plain(c) => c.poll().await,
            Source::Group(g) => g.poll().await,
        }
    }

    /// Commits and leaves the group; nothing for plain fetches.
    async fn close(self) -> chronik_client::Result<()> {
        match self {
            Source::Plain(_) => Ok(()),
            Source::Group(g) => g.close().await,
        }
    }
}

async fn bench(args: &ConsumeArgs) -> Result<BrokerReport> {
    let client = args.conn.client("chronik-bench-consumer").await?;
    let start_at = match args.from {
        From::Earliest => StartAt::Earliest,
        From::Latest => StartAt::Latest,
    };
    let mut consumer = Source::open(args, client, start_at).await?;
    let bar = chronik_cli::progress(args.records, "records fetched");
    let start = Instant::now();
    let end = args
        .records
        .is_none()
        .then(|| start + Duration::from_secs(args.duration.unwrap_or(10)));
    let idle = Duration::from_millis(args.idle_ms);
    let (mut records, mut bytes, mut last_data) = (0u64, 0u64, Instant::now());
    let mut latency = Latency::new();
    let mut errors = ErrorTally::default();
    let mut first_error = None;
    loop {
        let done = match (args.records, end) {
            (Some(n), _) => records >= n,
            (None, Some(end)) => Instant::now() >= end,
            (None, None) => true,
        };
        if done {
            break;
        }
        if args.records.is_some() && last_data.elapsed() >= idle {
            // Leave the group (committing what was read) before failing.
            if let Err(e) = consumer.close().await {
                tracing::warn!(error = %e, "closing the consumer failed");
            }
            bail!(
                "only {records} of {} records arrived; nothing new for {idle:?}",
                args.records.unwrap_or(0)
            );
        }
        let sent = Instant::now();
        let batches = match consumer.poll().await {
            Ok(b) => b,
            Err(e) => {
                note(&mut errors, &mut first_error, &e);
                break;
            }
        };
        if batches.is_empty() {
            continue;
        }
        latency.record(sent.elapsed());
        last_data = Instant::now();
        for b in &batches {
            let n = u64::try_from(b.new_records()).unwrap_or(0);
            records += n;
            bytes += b.bytes.len() as u64;
            bar.inc(n);
        }
    }
    let elapsed = start.elapsed();
    if let Err(e) = consumer.close().await {
        note(&mut errors, &mut first_error, &e);
    }
    bar.finish_and_clear();
    let mut report = BrokerReport {
        mode: "consume",
        topic: args.conn.topic.clone(),
        records,
        bytes,
        records_failed: 0,
        errors,
        seconds: 0.0,
        records_per_sec: 0.0,
        mb_per_sec: 0.0,
        latency_ms: latency.ms_summary(),
        latency: "Fetch round trip of fetches that returned records",
        config: serde_json::json!({
            "from": format!("{:?}", args.from).to_lowercase(),
            "records": args.records,
            "duration": args.duration,
            "timeout_ms": args.conn.timeout_ms,
            "group": args.group,
        }),
        transactions: None,
        commit_latency_ms: None,
        compare: None,
        first_error,
    };
    report.rates(elapsed);
    Ok(report)
}

fn note(errors: &mut ErrorTally, first: &mut Option<String>, e: &ClientError) {
    errors.add(e);
    first.get_or_insert_with(|| e.to_string());
}
