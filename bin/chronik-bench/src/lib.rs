//! `chronik-bench`: measures what Chronik can do on this machine. Each subcommand lives in its
//! own module; this file holds the command line (a library so that `chronik-docgen` builds
//! completions and man pages from it) and runs the chosen subcommand.

mod compaction;
mod disk;
mod kafka;
mod latency;
mod meta;
mod report;
mod rss;
mod wal;
mod workdir;

use chronik_cli::LogFormat;
use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  # What can this disk do? (sequential MB/s, fdatasync latency)
  chronik-bench disk --dir /var/lib/chronik

  # The storage engine without fsync: should approach the disk's sequential MB/s
  chronik-bench wal --dir /tmp/wal --record-size 1024 --batch-records 16 --fsync never --duration 10

  # Group commit: 128 appenders sharing fsyncs, one record per append
  chronik-bench wal --dir /tmp/wal --batch-records 1 --concurrency 128 --fsync always --duration 10

  # The metadata quorum: 64 proposers committing producer-id allocations for 10 s
  chronik-bench meta --meta 10.0.0.1:9190,10.0.0.2:9190,10.0.0.3:9190 --concurrency 64 --duration 10

  # A broker: 1 KiB records, acks=all, 4 producers, as fast as possible
  chronik-bench produce --bootstrap 127.0.0.1:9092 --topic bench --create --partitions 8 \
      --record-size 1024 --acks all --concurrency 4 --duration 30

  # 128 clients each writing one record and waiting for its ack (acks=all)
  chronik-bench produce --bootstrap 127.0.0.1:9092 --topic bench --concurrency 128 \
      --in-flight 1 --acks all --duration 30

  # Read it back (as consumer group g: committed offsets, resumed by the next run); then
  # produce-to-consume latency at 10,000 records/s
  chronik-bench consume --bootstrap 127.0.0.1:9092 --topic bench --group g --duration 10
  chronik-bench e2e --bootstrap 127.0.0.1:9092 --topic e2e --create --rate 10000 --duration 30

  # The log cleaner on a 1 GiB log of a million keys, against the disk's sequential write
  chronik-bench compaction --dir /var/lib/chronik --bytes 1GiB --keys 1000000

  # 1,000,000 offset commits by 10 groups on 100 partitions (the offsets topic's growth)
  chronik-bench commits --bootstrap 127.0.0.1:9092 --topic t --create --partitions 100 --commits 1000000

  # The same, as JSON for scripts
  chronik-bench wal --dir /tmp/wal --concurrency 8 --records 100000 --output json

Exit codes: 0 success, 2 bad arguments, the benchmark could not run, or records failed\n(the errors are named on stderr and in the JSON `errors` map).";

/// Benchmarks for Chronik: the physical limits of a disk, of the storage engine, and of the
/// metadata quorum.
#[derive(Parser)]
#[command(name = "chronik-bench", version, after_help = EXAMPLES)]
pub struct Cli {
    /// Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins.
    #[arg(long, global = true, env = "CHRONIK_LOG_LEVEL", default_value = "warn")]
    pub log_level: String,
    /// Log lines on stderr as text, or as one JSON object per line (for log shippers).
    #[arg(long, global = true, env = "CHRONIK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// The physical limit of a directory's disk: sequential write MB/s and fdatasync latency.
    Disk(disk::DiskArgs),
    /// Drives the storage engine (chronik-wal) in-process: append throughput, fsyncs shared by
    /// group commit, and append-to-durable latency.
    Wal(wal::WalArgs),
    /// Drives a running metadata quorum (chronik-meta): concurrent proposers each committing
    /// one Raft entry per call; proposals/s and commit latency.
    Meta(meta::MetaArgs),
    /// Produces to a Kafka-compatible broker: C independent producers (own connection each),
    /// records/s, MiB/s and send-to-ack latency (from the intended send time under --rate).
    Produce(kafka::produce::ProduceArgs),
    /// Fetches a topic's partitions and counts what arrives: records/s, MiB/s, fetch latency.
    Consume(kafka::consume::ConsumeArgs),
    /// Produces at a fixed rate while consuming: produce-to-consume latency of every record.
    E2e(kafka::e2e::E2eArgs),
    /// The log cleaner offline: builds a compacted partition log, cleans it until nothing is
    /// due, checks every key, and reports MB/s against the disk's sequential write.
    Compaction(compaction::CompactionArgs),
    /// Offset commits by memberless groups to a broker's group coordinator: commits/s, and
    /// (--fetch-only) the time until a restarted coordinator answers with them.
    Commits(kafka::commits::CommitsArgs),
    /// Opens and closes connections to a broker (TLS and SASL included): connections/s and
    /// set-up latency.
    Connect(kafka::connect::ConnectArgs),
}

/// Runs the chosen benchmark; the error names what failed.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Disk(args) => disk::run(args),
        Command::Wal(args) => wal::run(args),
        Command::Meta(args) => meta::run(args),
        Command::Produce(args) => kafka::produce::run(args),
        Command::Consume(args) => kafka::consume::run(args),
        Command::E2e(args) => kafka::e2e::run(args),
        Command::Compaction(args) => compaction::run(args),
        Command::Commits(args) => kafka::commits::run(args),
        Command::Connect(args) => kafka::connect::run(args),
    }
}
