//! `disk`: the physical limits of a directory's disk, the ceiling every engine figure is judged
//! against. Sequential write MB/s bounds throughput without fsync; the latency of a durable
//! 4 KiB append bounds how many group-commit rounds a second the engine can run, and that of
//! the larger appends a round writes (16 to 256 KiB) what each round costs. Each is measured
//! twice: appending (the file grows, so each fdatasync also commits the filesystem's journal)
//! and overwriting blocks already written (no journal commit: what the engine's zero-filled
//! active segment gets, and the lower bound).
//!
//! No read figure: without root (to drop the page cache) a read-back would measure memory, not
//! the disk.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use rand::RngCore;
use serde::Serialize;

use crate::latency::{Latency, LatencySummary};
use crate::report::{self, MIB, OutputArgs, Summary};
use crate::workdir::WorkDir;

const CHUNK: usize = 1024 * 1024;
const SYNC_BLOCK: usize = 4096;
/// The appends a group-commit round writes, beyond 4 KiB: many records under one fdatasync.
const ROUND_SIZES: [usize; 4] = [16 * 1024, 64 * 1024, 128 * 1024, 256 * 1024];

const EXAMPLES: &str = "\
Examples:
  chronik-bench disk --dir /var/lib/chronik
  chronik-bench disk --dir /mnt/nvme --size-mb 4096 --fsync-ops 10000 --output json

The files it writes are removed afterwards (and DIR too, if this run created it).";

/// Measures the disk under DIR: append 4 KiB + fdatasync repeatedly (durable-append latency),
/// then write MiB in 1 MiB chunks and fdatasync once (sequential write MB/s).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DiskArgs {
    /// Directory on the disk to measure; created if its parent exists.
    #[arg(long)]
    dir: std::path::PathBuf,
    /// MiB written for the sequential-write test (MB here and in the output means MiB).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    size_mb: u64,
    /// Number of 4 KiB append + fdatasync operations for the latency test.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    fsync_ops: u64,
    #[command(flatten)]
    out: OutputArgs,
}

/// The JSON document `disk --output json` prints.
#[derive(Debug, Serialize)]
struct DiskReport {
    dir: String,
    size_mb: u64,
    /// MiB/s, including the final fdatasync.
    seq_write_mb_per_sec: f64,
    seq_write_seconds: f64,
    fsync_ops: u64,
    /// Each operation is a 4 KiB append followed by fdatasync, timed together.
    fdatasync_latency_us: LatencySummary,
    /// 1e6 / mean latency: durable appends one writer can do per second.
    fdatasyncs_per_sec: f64,
    /// 4 KiB written over blocks already written (zeros), then fdatasync, timed together.
    overwrite_fdatasync_latency_us: LatencySummary,
    /// Append + fdatasync of the larger sizes a group-commit round writes (a quarter of
    /// `fsync_ops` each, at least 50).
    round_latency_us: Vec<SizedLatency>,
}

/// The latency of appending `bytes` then fdatasyncing, and of overwriting them.
#[derive(Debug, Serialize)]
struct SizedLatency {
    bytes: usize,
    latency_us: LatencySummary,
    overwrite_latency_us: LatencySummary,
}

pub fn run(args: &DiskArgs) -> Result<()> {
    let dir = WorkDir::prepare(&args.dir)?;
    let measured = measure(args, dir.path());
    dir.remove_if_created();
    let report = measured?;
    report::emit(args.out.output, &report, &summary(&report))
}

/// Latency first: right after a large write the device (or the host under a VM) is still busy
/// flushing it, which made fdatasync 20× slower when measured in the other order.
fn measure(args: &DiskArgs, dir: &Path) -> Result<DiskReport> {
    let latency = append_sync_latency(dir, SYNC_BLOCK, args.fsync_ops)?.summary();
    let overwrite = overwrite_sync_latency(dir, SYNC_BLOCK, args.fsync_ops)?.summary();
    let round_ops = (args.fsync_ops / 4).max(50);
    let mut round_latency_us = Vec::with_capacity(ROUND_SIZES.len());
    for bytes in ROUND_SIZES {
        let latency = append_sync_latency(dir, bytes, round_ops)?.summary();
        let overwrite = overwrite_sync_latency(dir, bytes, round_ops)?.summary();
        round_latency_us.push(SizedLatency {
            bytes,
            latency_us: report::round_latency(latency),
            overwrite_latency_us: report::round_latency(overwrite),
        });
    }
    let write_time = sequential_write(dir, args.size_mb)?;
    let fdatasyncs_per_sec = if latency.mean > 0.0 {
        1e6 / latency.mean
    } else {
        0.0
    };
    Ok(DiskReport {
        dir: dir.display().to_string(),
        size_mb: args.size_mb,
        seq_write_mb_per_sec: report::round3(report::per_sec(args.size_mb as f64, write_time)),
        seq_write_seconds: report::round3(write_time.as_secs_f64()),
        fsync_ops: args.fsync_ops,
        fdatasync_latency_us: report::round_latency(latency),
        fdatasyncs_per_sec: report::round3(fdatasyncs_per_sec),
        overwrite_fdatasync_latency_us: report::round_latency(overwrite),
        round_latency_us,
    })
}

/// A scratch file in `dir`, removed when dropped (also on errors).
fn scratch_file(dir: &Path, what: &str) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!(".chronik-bench-{what}-"))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))
}

/// Random bytes, so a compressing or deduplicating filesystem cannot flatter the figures.
fn random_block(len: usize) -> Vec<u8> {
    let mut block = vec![0u8; len];
    rand::rng().fill_bytes(&mut block);
    block
}

/// Writes `size_mb` MiB in 1 MiB writes and fdatasyncs once; the time includes that sync.
pub(crate) fn sequential_write(dir: &Path, size_mb: u64) -> Result<Duration> {
    let mut scratch = scratch_file(dir, "seq")?;
    let path = scratch.path().to_path_buf();
    let chunk = random_block(CHUNK);
    let bar = chronik_cli::progress(Some(size_mb), "sequential write (MiB)");
    let file: &mut File = scratch.as_file_mut();
    let started = Instant::now();
    for _ in 0..size_mb {
        file.write_all(&chunk)
            .with_context(|| format!("writing {}", path.display()))?;
        bar.inc(1);
    }
    bar.set_message("fdatasync");
    file.sync_data()
        .with_context(|| format!("fdatasync of {}", path.display()))?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    Ok(elapsed)
}

/// Appends `size` bytes then fdatasyncs, `ops` times, timing each pair: what an appender waits
/// for a durable write, file growth (and so a journal commit) included, as in a log.
fn append_sync_latency(dir: &Path, size: usize, ops: u64) -> Result<Latency> {
    let mut scratch = scratch_file(dir, "fsync")?;
    let path = scratch.path().to_path_buf();
    let block = random_block(size);
    let label = format!("{} append + fdatasync", kib(size));
    time_write_and_sync(scratch.as_file_mut(), &path, ops, &label, |file, _| {
        file.write_all(&block)
    })
}

/// Bytes at most that [`overwrite_sync_latency`] zero-fills first; more operations go round it.
const OVERWRITE_SPAN: usize = 64 * 1024 * 1024;

/// Writes `size` bytes over blocks already written and durable, then fdatasyncs, `ops` times,
/// timing each pair: a durable append into a zero-filled segment, which changes no metadata.
pub(crate) fn overwrite_sync_latency(dir: &Path, size: usize, ops: u64) -> Result<Latency> {
    use std::os::unix::fs::FileExt;
    let mut scratch = scratch_file(dir, "overwrite")?;
    let path = scratch.path().to_path_buf();
    let slots = (OVERWRITE_SPAN / size.max(1))
        .min(usize::try_from(ops).unwrap_or(usize::MAX))
        .max(1);
    let file: &mut File = scratch.as_file_mut();
    let zeros = vec![0u8; size];
    for _ in 0..slots {
        file.write_all(&zeros)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    file.sync_all()
        .with_context(|| format!("fsync of {}", path.display()))?;
    let block = random_block(size);
    let label = format!("{} overwrite + fdatasync", kib(size));
    time_write_and_sync(file, &path, ops, &label, |file, op| {
        file.write_all_at(&block, (op % slots as u64) * size as u64)
    })
}

/// Times `ops` pairs of `write` (given the operation's number) and fdatasync.
fn time_write_and_sync(
    file: &mut File,
    path: &Path,
    ops: u64,
    label: &str,
    mut write: impl FnMut(&mut File, u64) -> std::io::Result<()>,
) -> Result<Latency> {
    let bar = chronik_cli::progress(Some(ops), label);
    let mut latency = Latency::new();
    for op in 0..ops {
        let started = Instant::now();
        write(file, op).with_context(|| format!("writing {}", path.display()))?;
        file.sync_data()
            .with_context(|| format!("fdatasync of {}", path.display()))?;
        latency.record(started.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(latency)
}

fn summary(r: &DiskReport) -> Summary {
    let mut s = Summary::new(format!("disk benchmark: {}", r.dir));
    s.row(
        "sequential write",
        format!(
            "{} MB/s ({} MiB in 1 MiB writes + one fdatasync, {} s)",
            report::decimal(r.seq_write_mb_per_sec, 1),
            report::count(r.size_mb),
            report::decimal(r.seq_write_seconds, 2)
        ),
    )
    .latency_rows("4 KiB append + fdatasync", &r.fdatasync_latency_us)
    .latency_rows(
        "4 KiB overwrite + fdatasync",
        &r.overwrite_fdatasync_latency_us,
    )
    .row(
        "fdatasyncs/s (one writer)",
        format!(
            "{} (1e6 / mean, over {} ops)",
            report::decimal(r.fdatasyncs_per_sec, 1),
            report::count(r.fsync_ops)
        ),
    );
    for sized in &r.round_latency_us {
        s.row(
            format!("{} append + fdatasync p50 / p99", kib(sized.bytes)),
            format!(
                "{} / {} µs (overwrite: {} / {} µs)",
                report::decimal(sized.latency_us.p50, 1),
                report::decimal(sized.latency_us.p99, 1),
                report::decimal(sized.overwrite_latency_us.p50, 1),
                report::decimal(sized.overwrite_latency_us.p99, 1)
            ),
        );
    }
    s.note(format!(
        "MB = MiB ({MIB} bytes). No read figure: without dropping the page cache it would measure memory."
    ));
    s
}

/// `size` bytes as whole KiB ("128 KiB").
fn kib(size: usize) -> String {
    format!("{} KiB", size / 1024)
}
