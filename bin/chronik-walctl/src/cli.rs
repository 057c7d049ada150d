//! Command-line definition. Kept apart from the logic so `--help` reads as one document.

use std::path::PathBuf;

use chronik_cli::{LogFormat, OutputFormat};
use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "Inspect and repair a Chronik broker's data dir while the broker is stopped.";

const LONG_ABOUT: &str = "\
Inspect and repair a Chronik broker's data dir while the broker is stopped.

DIR is the broker's data dir: the directory holding partitions/<topic>-<partition>/*.wal.
Reading commands (list, dump, verify, stats, recover --dry-run) never change anything.
`recover` rewrites logs and therefore takes the dir's lock: it refuses to run while a
broker (or anything else) holds it.

Exit codes: 0 success / nothing found, 1 verify found corruption, 2 the command could not
do its job (bad arguments, missing dir, lock held, I/O error).";

const EXAMPLES: &str = "\
Examples:
  chronik-walctl list /var/lib/chronik
  chronik-walctl list /var/lib/chronik --segments --output json
  chronik-walctl dump /var/lib/chronik --topic orders --partition 0 --from 1200 --limit 5 --records
  chronik-walctl verify /var/lib/chronik || echo \"corruption found\"
  chronik-walctl recover /var/lib/chronik --dry-run
  chronik-walctl stats /var/lib/chronik";

/// chronik-walctl's arguments.
#[derive(Debug, Parser)]
#[command(name = "chronik-walctl", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// How to print results: human-readable tables or one pretty JSON document with stable keys.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value = "table",
        env = "CHRONIK_OUTPUT"
    )]
    pub output: OutputFormat,

    /// Log level on stderr: error, warn (adds the storage engine's recovery messages), info,
    /// debug or trace. RUST_LOG overrides it.
    #[arg(
        long,
        global = true,
        default_value = "error",
        env = "CHRONIK_LOG_LEVEL"
    )]
    pub log_level: String,

    /// Log lines on stderr as text, or as one JSON object per line (for log shippers).
    #[arg(long, global = true, env = "CHRONIK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// The data dir every command works on.
#[derive(Debug, Args)]
pub struct DirArg {
    /// The broker's data dir (the directory holding partitions/).
    #[arg(value_name = "DIR", env = "CHRONIK_DATA_DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List partitions (or their segments): offsets, batches, records, bytes, time range.
    #[command(
        after_help = "Examples:\n  chronik-walctl list DIR\n  chronik-walctl list DIR --segments\n  \
        chronik-walctl list DIR --segments --remote-storage s3://bucket/cluster-a\n  \
        chronik-walctl list DIR --output json | jq '.[] | select(.topic == \"orders\")'"
    )]
    List {
        #[command(flatten)]
        dir: DirArg,
        /// One row per segment file instead of one per partition; notes damaged segments.
        #[arg(long)]
        segments: bool,
        /// Also list each partition's segments in this remote tier: s3://BUCKET[/PREFIX] (the
        /// endpoint, region and credentials from the AWS_* variables) or file:///PATH.
        #[arg(long, value_name = "URL", env = "CHRONIK_REMOTE_STORAGE")]
        remote_storage: Option<String>,
    },

    /// Print a partition's batches (and with --records their records), oldest first.
    #[command(
        after_help = "Keys, values and header values print as text when they are printable UTF-8, \
        otherwise as hex with a 0x prefix.\n\nExamples:\n  chronik-walctl dump DIR -t orders -p 0 --limit 10\n  \
        chronik-walctl dump DIR -t orders -p 0 --from 1200 --limit 1 --records\n  \
        chronik-walctl dump DIR -t orders -p 0 --records --output json > orders-0.json"
    )]
    Dump(DumpArgs),

    /// Check every frame CRC and batch CRC of every partition; exit 1 when anything is corrupt.
    #[command(
        after_help = "Each damaged place is named by file, byte position and offset. \
        `recover` cuts a log at its first damaged place.\n\nExamples:\n  chronik-walctl verify DIR\n  \
        chronik-walctl verify DIR --output json"
    )]
    Verify {
        #[command(flatten)]
        dir: DirArg,
    },

    /// Cut every log at its first torn or corrupt frame, as a broker does on start.
    #[command(
        after_help = "Stop the broker first: recover takes the data dir's lock and refuses to run \
        while another process holds it. Use --dry-run to see what would be cut without changing \
        anything.\n\nExamples:\n  chronik-walctl recover DIR --dry-run\n  chronik-walctl recover DIR && \
        chronik-walctl verify DIR"
    )]
    Recover {
        #[command(flatten)]
        dir: DirArg,
        /// Report what would be cut, changing nothing (no lock taken).
        #[arg(long)]
        dry_run: bool,
    },

    /// Totals per topic: partitions, segments, batches, records, bytes, oldest and newest timestamp.
    #[command(
        after_help = "Examples:\n  chronik-walctl stats DIR\n  chronik-walctl stats DIR --output json"
    )]
    Stats {
        #[command(flatten)]
        dir: DirArg,
    },
}

/// Arguments of `dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Topic to dump.
    #[arg(long, short = 't')]
    pub topic: String,
    /// Partition to dump.
    #[arg(long, short = 'p')]
    pub partition: i32,
    /// Start at the batch holding this offset (default: the log's start).
    #[arg(long, value_name = "OFFSET")]
    pub from: Option<i64>,
    /// Print at most this many batches.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Also decode and print each record (compressed batches included).
    #[arg(long)]
    pub records: bool,
}
