//! `wal`: drives the storage engine in-process, with no network in the way, to show what the
//! append path and group commit deliver against the disk's own limits (`disk`).

mod drive;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::frame::MAX_FRAME_PAYLOAD;
use chronik_wal::{DataDir, FlushStatsSnapshot, LogConfig, PartitionLog, WalOptions};
use clap::Args;
use serde::Serialize;

use crate::latency::LatencySummary;
use crate::report::{self, MIB, OutputArgs, Summary};
use crate::workdir::WorkDir;
use drive::{Limit, Outcome, Workload};

/// The topic every benchmark partition belongs to.
const TOPIC: &str = "bench";
/// Upper bound on a record's overhead inside a v2 batch (length, attributes, deltas, key and
/// value lengths, header count as varints).
const RECORD_OVERHEAD: u64 = 20;
const BATCH_HEADER: u64 = chronik_records::BATCH_HEADER_LEN as u64;
/// Appenders each hold two copies of their batch; refuse runs that would need more than this.
const MAX_BATCH_MEMORY: u64 = 8 * 1024 * 1024 * 1024;

const EXAMPLES: &str = "\
Examples:
  # Throughput without fsync (compare with `chronik-bench disk`'s sequential MB/s)
  chronik-bench wal --dir /tmp/wal --record-size 1024 --batch-records 16 --fsync never --duration 10

  # Group commit: 128 single-record appenders on 8 partitions, every append durable
  chronik-bench wal --dir /tmp/wal --partitions 8 --batch-records 1 --concurrency 128 --fsync always --duration 10

  # An exact amount, for scripts
  chronik-bench wal --dir /tmp/wal --records 100000 --concurrency 8 --output json

The data dir is closed cleanly and left in place: inspect it with `chronik-walctl`, then delete it.
Appends go to topic `bench`, partitions 0..N, after whatever the dir already holds.";

/// Appends to chronik-wal from C threads and reports throughput, fsyncs and append-to-durable
/// latency. Thread i writes to partition i % N and waits for each append to be durable (as the
/// fsync policy defines it) before the next.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct WalArgs {
    /// Data dir to write (created if its parent exists); left in place afterwards.
    #[arg(long)]
    dir: PathBuf,
    /// Partitions of topic `bench` to write.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=100_000))]
    partitions: i32,
    /// Bytes per record value.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=128 * 1024 * 1024))]
    record_size: u32,
    /// Records per appended batch.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    batch_records: u32,
    /// Appender threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// Segment size in MiB (`segment.bytes`): each roll fsyncs the finished segment.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=2047))]
    segment_mb: u64,
    /// always (an append is done once fsynced), never, or interval=MS.
    #[arg(long, default_value = "always", value_name = "POLICY")]
    fsync: FsyncPolicy,
    #[command(flatten)]
    stop: StopArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// Exactly one stop condition.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct StopArgs {
    /// Run for this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Append at least this many records (whole batches, so up to one batch more).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    records: Option<u64>,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("'{text}' is not a positive number of seconds"))
}

/// The JSON document `wal --output json` prints.
#[derive(Debug, Serialize)]
struct WalReport {
    dir: String,
    partitions: i32,
    record_size: u32,
    batch_records: u32,
    concurrency: u32,
    segment_mb: u64,
    fsync: String,
    records: u64,
    appends: u64,
    /// Payload bytes: records × record size (no batch or frame overhead).
    bytes: u64,
    /// The appending phase, excluding the final close.
    seconds: f64,
    records_per_sec: f64,
    /// Payload MiB/s.
    mb_per_sec: f64,
    fsyncs: u64,
    fsync_rounds: u64,
    fsyncs_per_sec: f64,
    /// `null` when nothing was fsynced (`--fsync never`).
    records_per_fsync: Option<f64>,
    /// Mean time of one fsync in the flusher.
    fsync_mean_us: Option<f64>,
    /// Append call to durable, per append (batch).
    latency_us: LatencySummary,
    /// Closing the data dir: fsyncs what `never`/`interval` left unsynced, writes the indexes.
    close_seconds: f64,
    /// Under `--fsync always`: the rate against ideal group commit on this disk.
    group_commit: Option<GroupCommit>,
}

/// Ideal group commit makes every appender's batch durable with one fdatasync of all their
/// bytes per round: `concurrency × batch records` records per (write + fdatasync latency of
/// `round_bytes`), that latency measured on the same dir right after the run, over blocks
/// already written: the cheaper sync the engine's zero-filled segments get, so the ideal is
/// the disk's best, not the cost of a growing file.
#[derive(Debug, Serialize)]
struct GroupCommit {
    round_bytes: u64,
    /// Mean overwrite + fdatasync latency of `round_bytes`.
    round_latency_us: f64,
    ideal_records_per_sec: f64,
    /// `records_per_sec` / `ideal_records_per_sec`.
    ratio: f64,
}

/// Overwrite + fdatasync operations timed for the ideal.
const ROUND_PROBE_OPS: u64 = 200;
/// Rounds larger than this are not probed (no ideal is reported).
const MAX_PROBED_ROUND: u64 = 64 * 1024 * 1024;

pub fn run(args: &WalArgs) -> Result<()> {
    check_batch_size(args)?;
    let dir = WorkDir::prepare(&args.dir)?;
    let data = DataDir::open(dir.path(), WalOptions::new(args.fsync))
        .with_context(|| format!("opening data dir {}", dir.path().display()))?;
    let config = LogConfig {
        segment_bytes: args.segment_mb * 1024 * 1024,
        ..LogConfig::default()
    };
    let logs = open_logs(&data, args.partitions, &config)?;
    let before = data.flush_stats();
    let bar = chronik_cli::progress(args.stop.records, "records appended");
    let workload = Workload {
        logs: &logs,
        concurrency: args.concurrency as usize,
        batch_records: args.batch_records as usize,
        record_size: args.record_size as usize,
        limit: limit(&args.stop),
    };
    let outcome = drive::run(&workload, &bar);
    let flushed = stats_since(before, data.flush_stats());
    drop(logs);
    let closing = Instant::now();
    let closed = data
        .close()
        .with_context(|| format!("closing data dir {}", dir.path().display()));
    let close_time = closing.elapsed();
    let outcome = outcome?;
    closed?;
    let mut report = build_report(args, &outcome, flushed, close_time);
    if args.fsync == FsyncPolicy::Always {
        report.group_commit = group_commit(args, dir.path(), report.records_per_sec)?;
    }
    report::emit(args.out.output, &report, &summary(&report))
}

/// Measures the ideal group commit of this run (see [`GroupCommit`]).
fn group_commit(
    args: &WalArgs,
    dir: &std::path::Path,
    records_per_sec: f64,
) -> Result<Option<GroupCommit>> {
    let records = u64::from(args.concurrency) * u64::from(args.batch_records);
    let round_bytes = records * u64::from(args.record_size);
    if round_bytes > MAX_PROBED_ROUND {
        return Ok(None);
    }
    let size = usize::try_from(round_bytes).context("round size")?;
    let latency = crate::disk::overwrite_sync_latency(dir, size, ROUND_PROBE_OPS)?.summary();
    let ideal = match latency.mean > 0.0 {
        true => records as f64 * 1e6 / latency.mean,
        false => return Ok(None),
    };
    Ok(Some(GroupCommit {
        round_bytes,
        round_latency_us: report::round3(latency.mean),
        ideal_records_per_sec: report::round3(ideal),
        ratio: report::round3(records_per_sec / ideal),
    }))
}

fn limit(stop: &StopArgs) -> Limit {
    match (stop.duration, stop.records) {
        (Some(d), _) => Limit::Duration(d),
        (None, Some(n)) => Limit::Records(n),
        // clap's group requires one of them; a duration is the safe reading of neither.
        (None, None) => Limit::Duration(Duration::from_secs(10)),
    }
}

/// Refuses batches the engine would reject (frame limit) or that would exhaust memory, before
/// allocating anything.
fn check_batch_size(args: &WalArgs) -> Result<()> {
    let batch = u64::from(args.batch_records) * (u64::from(args.record_size) + RECORD_OVERHEAD)
        + BATCH_HEADER;
    if batch > u64::from(MAX_FRAME_PAYLOAD) {
        bail!(
            "a batch of {} records of {} bytes is about {}, above the engine's {} batch limit: lower --batch-records or --record-size",
            args.batch_records,
            args.record_size,
            chronik_cli::human_bytes(batch),
            chronik_cli::human_bytes(u64::from(MAX_FRAME_PAYLOAD))
        );
    }
    let memory = batch * 2 * u64::from(args.concurrency);
    if memory > MAX_BATCH_MEMORY {
        bail!(
            "{} appenders holding batches of {} would need {} of memory: lower --concurrency or the batch size",
            args.concurrency,
            chronik_cli::human_bytes(batch),
            chronik_cli::human_bytes(memory)
        );
    }
    Ok(())
}

fn open_logs(
    data: &DataDir,
    partitions: i32,
    config: &LogConfig,
) -> Result<Vec<Arc<PartitionLog>>> {
    (0..partitions)
        .map(|p| {
            let tp = TopicPartition::new(TOPIC, p);
            data.open_partition(&tp, config.clone())
                .map(|(log, _)| log)
                .with_context(|| format!("opening partition {tp}"))
        })
        .collect()
}

fn stats_since(before: FlushStatsSnapshot, after: FlushStatsSnapshot) -> FlushStatsSnapshot {
    FlushStatsSnapshot {
        rounds: after.rounds.saturating_sub(before.rounds),
        fsyncs: after.fsyncs.saturating_sub(before.fsyncs),
        appends_released: after
            .appends_released
            .saturating_sub(before.appends_released),
        fsync_nanos: after.fsync_nanos.saturating_sub(before.fsync_nanos),
    }
}

fn build_report(
    args: &WalArgs,
    outcome: &Outcome,
    flushed: FlushStatsSnapshot,
    close_time: Duration,
) -> WalReport {
    let elapsed = outcome.elapsed;
    let bytes = outcome.records * u64::from(args.record_size);
    let per_fsync =
        |value: f64| (flushed.fsyncs > 0).then(|| report::round3(value / flushed.fsyncs as f64));
    WalReport {
        dir: args.dir.display().to_string(),
        partitions: args.partitions,
        record_size: args.record_size,
        batch_records: args.batch_records,
        concurrency: args.concurrency,
        segment_mb: args.segment_mb,
        fsync: args.fsync.to_string(),
        records: outcome.records,
        appends: outcome.appends,
        bytes,
        seconds: report::round3(elapsed.as_secs_f64()),
        records_per_sec: report::round3(report::per_sec(outcome.records as f64, elapsed)),
        mb_per_sec: report::round3(report::per_sec(bytes as f64 / MIB, elapsed)),
        fsyncs: flushed.fsyncs,
        fsync_rounds: flushed.rounds,
        fsyncs_per_sec: report::round3(report::per_sec(flushed.fsyncs as f64, elapsed)),
        records_per_fsync: per_fsync(outcome.records as f64),
        fsync_mean_us: per_fsync(flushed.fsync_nanos as f64 / 1_000.0),
        latency_us: report::round_latency(outcome.latency.summary()),
        close_seconds: report::round3(close_time.as_secs_f64()),
        group_commit: None,
    }
}

fn summary(r: &WalReport) -> Summary {
    let mut s = Summary::new(format!(
        "wal benchmark: {} · {} partition(s) · {} B records × {} per batch · {} appender(s) · fsync {}",
        r.dir, r.partitions, r.record_size, r.batch_records, r.concurrency, r.fsync
    ));
    let or_na = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| report::decimal(v, 1));
    s.row("records", report::count(r.records))
        .row("appends (batches)", report::count(r.appends))
        .row(
            "payload bytes (records × record size)",
            chronik_cli::human_bytes(r.bytes),
        )
        .row("seconds (appending)", report::decimal(r.seconds, 2))
        .row("records/s", report::decimal(r.records_per_sec, 1))
        .row("payload MB/s", report::decimal(r.mb_per_sec, 1))
        .row(
            "fsyncs (rounds)",
            format!(
                "{} ({})",
                report::count(r.fsyncs),
                report::count(r.fsync_rounds)
            ),
        )
        .row("fsyncs/s", report::decimal(r.fsyncs_per_sec, 1))
        .row("records per fsync", or_na(r.records_per_fsync))
        .row(
            "mean fsync",
            r.fsync_mean_us
                .map_or_else(|| "n/a".into(), |v| format!("{} µs", report::decimal(v, 1))),
        )
        .latency_rows("append → durable", &r.latency_us)
        .row(
            "close (final flush)",
            format!("{} s", report::decimal(r.close_seconds, 2)),
        );
    if let Some(g) = &r.group_commit {
        s.row(
            "ideal group commit",
            format!(
                "{} records/s (one write + fdatasync of {} per round, over written blocks: {} µs)",
                report::decimal(g.ideal_records_per_sec, 0),
                chronik_cli::human_bytes(g.round_bytes),
                report::decimal(g.round_latency_us, 1)
            ),
        )
        .row("records/s vs ideal", report::decimal(g.ratio, 3));
    }
    s.note(format!(
        "MB = MiB ({MIB} bytes) of record values; batch and frame headers are not counted."
    ));
    s
}
