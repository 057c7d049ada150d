//! `compaction`: the log cleaner offline. Builds one compacted partition log of keyed records
//! (chronik-wal), cleans it with chronik-cleaner pass after pass until nothing is due, reads it
//! back to check that exactly each key's latest record is left, and sets the cleaner's MB/s
//! next to the disk's sequential write MB/s measured on the same filesystem in the same run.

mod build;
mod output;
mod passes;
mod verify;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chronik_cleaner::CleanSettings;
use chronik_compaction::CompactionConfig;
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, PartitionLog, WalOptions};
use clap::{Args, ValueEnum};
use kafka_protocol::records::Compression;

use crate::report::OutputArgs;
use crate::workdir::WorkDir;
use build::Built;
use passes::Totals;
use verify::Verified;

const EXAMPLES: &str = "\
Examples:
  # 1 GiB over a million keys, one pass with a 128 MiB key map
  chronik-bench compaction --dir /var/lib/chronik

  # A key map too small for the keys: several passes
  chronik-bench compaction --dir /tmp --bytes 256MiB --keys 1000000 --dedupe-buffer 16MiB

  # Compressed batches, as JSON
  chronik-bench compaction --bytes 64MiB --compression zstd --output json

The log is written to a temporary data dir under DIR (the system's temp dir by default) and
removed afterwards unless --keep. Sizes take K, M, G (or KiB, MiB, GiB) suffixes, all binary.
Exit code 2 when the cleaned log does not hold exactly each key's latest record.";

/// Writes one partition log of keyed records, cleans it until no pass is due
/// (min.cleanable.dirty.ratio 0, delete.retention.ms 0, high watermark at the log end), checks
/// the result record by record, and reports cleaner MB/s against the disk's sequential write.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CompactionArgs {
    /// Directory to work in (created if its parent exists); the data dir is a fresh
    /// subdirectory, and the disk is measured here too.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Log size to write before cleaning (bytes of segments).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    bytes: u64,
    /// Distinct keys, drawn uniformly (10-byte digits after "key-").
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    keys: u64,
    /// Bytes per value (the first 8 hold the record's offset, for the check).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(8..=1_048_576))]
    value_size: u32,
    /// Percent of records that are tombstones (null values).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    tombstone_percent: u32,
    /// Records per batch.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_records: u32,
    #[arg(long, value_enum, default_value_t = Codec::None)]
    compression: Codec,
    /// segment.bytes: the log rolls at this size and the cleaner groups segments up to it.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    segment_bytes: u64,
    /// The key map's memory (a cleaner thread's share of log.cleaner.dedupe.buffer.size);
    /// fewer bytes than the keys need make several passes.
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    dedupe_buffer: u64,
    /// MiB written for the disk's sequential-write figure (as `chronik-bench disk`).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    disk_mb: u64,
    /// Seed of the key and tombstone choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Leave the data dir in place (its path is in the report) for `chronik-walctl`.
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Codec {
    fn kafka(self) -> Compression {
        match self {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Snappy => Compression::Snappy,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        }
    }
}

/// `1048576`, `64K`, `16MiB`, `1G`: bytes, with binary suffixes.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        _ => return Err(format!("'{text}': unknown unit (use K, M or G)")),
    };
    let n: u64 = (digits.parse()).map_err(|_| format!("'{text}' is not a size"))?;
    n.checked_mul(1 << shift)
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("'{text}' is not a positive size that fits in 64 bits"))
}

/// What the run measured, before it becomes the report.
struct Run {
    data_dir: PathBuf,
    disk_write: Duration,
    built: Built,
    build_time: Duration,
    before: LogShape,
    after: LogShape,
    totals: Totals,
    rss_before: Option<u64>,
    peak_rss: Option<u64>,
    peak_rss_reset: bool,
    verified: Verified,
}

/// A log's segments and bytes at one moment.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct LogShape {
    segments: usize,
    bytes: u64,
}

impl LogShape {
    fn of(log: &PartitionLog) -> Self {
        LogShape {
            segments: log.segments().len(),
            bytes: log.size_bytes(),
        }
    }
}

pub fn run(args: &CompactionArgs) -> Result<()> {
    check(args)?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = WorkDir::prepare(&parent)?;
    let data = (tempfile::Builder::new().prefix("chronik-bench-compaction-"))
        .tempdir_in(work.path())
        .with_context(|| format!("cannot create a data dir in {}", work.path().display()))?;
    let measured = measure(args, data.path());
    if args.keep {
        let _ = data.keep();
    } else {
        drop(data);
        work.remove_if_created();
    }
    let run = measured?;
    let ok = run.verified.ok;
    output::emit(args, &run)?;
    if !ok {
        bail!("the cleaned log does not hold exactly each key's latest record (see `verified`)");
    }
    Ok(())
}

/// Refuses settings the log or the memory could not take, before writing anything.
fn check(args: &CompactionArgs) -> Result<()> {
    if !(chronik_wal::MIN_SEGMENT_BYTES..=chronik_wal::MAX_SEGMENT_BYTES)
        .contains(&args.segment_bytes)
    {
        bail!(
            "--segment-bytes must be between {} and {}",
            chronik_wal::MIN_SEGMENT_BYTES,
            chronik_wal::MAX_SEGMENT_BYTES
        );
    }
    // A record is its value, a 14-byte key and at most about 26 bytes of varints and deltas.
    let batch = u64::from(args.batch_records) * (u64::from(args.value_size) + 40);
    if batch > u64::from(chronik_wal::frame::MAX_FRAME_PAYLOAD) {
        bail!(
            "a batch of {} records of {} bytes is above the log's batch limit: lower --batch-records or --value-size",
            args.batch_records,
            args.value_size
        );
    }
    usize::try_from(args.dedupe_buffer).context("--dedupe-buffer does not fit in memory")?;
    Ok(())
}

fn settings(args: &CompactionArgs) -> CleanSettings {
    CleanSettings {
        compaction: CompactionConfig {
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            // Any dirt is due: the run cleans until nothing is left to clean.
            min_cleanable_dirty_ratio: 0.0,
        },
        // Tombstones go on the first pass after the one that stamped them.
        delete_retention_ms: 0,
        segment_bytes: args.segment_bytes,
    }
}

fn open(dir: &Path, segment_bytes: u64) -> Result<(DataDir, std::sync::Arc<PartitionLog>)> {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never))
        .with_context(|| format!("opening data dir {}", dir.display()))?;
    let config = LogConfig {
        segment_bytes,
        segment_ms: None,
        retention_ms: None,
        ..LogConfig::default()
    };
    let tp = TopicPartition::new("compacted", 0);
    let (log, _) = (data.open_partition(&tp, config)).with_context(|| format!("opening {tp}"))?;
    Ok((data, log))
}

/// Closes the data dir (seals and indexes every segment) so the next phase starts settled.
fn close(data: DataDir, log: std::sync::Arc<PartitionLog>) -> Result<()> {
    drop(log);
    data.close().context("closing the data dir")
}

fn measure(args: &CompactionArgs, dir: &Path) -> Result<Run> {
    // The disk first, on a quiet filesystem: the same ceiling `chronik-bench disk` reports.
    let disk_write = crate::disk::sequential_write(dir, args.disk_mb)?;
    let (data, log) = open(dir, args.segment_bytes)?;
    let spec = build::Spec {
        bytes: args.bytes,
        keys: args.keys,
        value_size: args.value_size as usize,
        tombstone_percent: args.tombstone_percent,
        batch_records: args.batch_records as usize,
        compression: args.compression.kafka(),
        seed: args.seed,
    };
    let bar = chronik_cli::progress(Some(args.bytes), "writing the log (bytes)");
    let started = Instant::now();
    let built = build::write(&log, &spec, &bar)?;
    let before = LogShape::of(&log);
    close(data, log)?;
    let build_time = started.elapsed();

    let (data, log) = open(dir, args.segment_bytes)?;
    let rss_before = crate::rss::current();
    let peak_rss_reset = crate::rss::reset_peak();
    let bar = chronik_cli::progress(None, "cleaning passes");
    let budget = usize::try_from(args.dedupe_buffer).unwrap_or(usize::MAX);
    let totals = passes::clean_until_done(&log, &settings(args), budget, &bar)?;
    let peak_rss = crate::rss::peak();
    close(data, log)?;

    // Read back from a fresh open: what recovery and a restart would serve.
    let (data, log) = open(dir, args.segment_bytes)?;
    let after = LogShape::of(&log);
    let verified = verify::check(&log, &built.latest, spec.value_size)?;
    close(data, log)?;
    Ok(Run {
        data_dir: dir.to_path_buf(),
        disk_write,
        built,
        build_time,
        before,
        after,
        totals,
        rss_before,
        peak_rss,
        peak_rss_reset,
        verified,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1T").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999G").is_err());
    }
}
