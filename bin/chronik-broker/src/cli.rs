//! Command line: flags with `CHRONIK_*` environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use chronik_broker::BrokerConfig;
use chronik_cli::{LogFormat, OutputFormat};
use chronik_types::FsyncPolicy;
use clap::{Args, Parser, Subcommand};

pub mod users;

/// A Kafka-wire-compatible broker. Any Kafka client (kcat, librdkafka, kafka-python, franz-go)
/// can produce to and consume from it. With no metadata quorum given it runs an embedded
/// single-voter metadata node, storing its state under DATA_DIR/meta.
///
/// Example: chronik-broker --data-dir /var/lib/chronik --listen 0.0.0.0:9092 --advertise host:9092
///
/// Every flag can also come from a CHRONIK_* variable or, keyed by its long name, from the
/// TOML file given with --config; a flag beats a variable, which beats the file, which beats
/// the default. `chronik-broker config show` prints what applies and where it came from.
#[derive(Parser, Debug)]
#[command(
    name = "chronik-broker",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the broker until SIGINT/SIGTERM (the default command).
    Run(RunArgs),
    /// Print the brokers, topics, partitions, leaders and ISR of any Kafka-compatible cluster;
    /// exit 0 healthy, 1 when a partition is under-replicated or offline, 2 when unreachable.
    Status(StatusArgs),
    /// Inspect the broker's settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Add, delete and list SCRAM users in the embedded metadata of a stopped broker's data
    /// dir (exit 2 while a broker runs on it). For a broker on an external quorum use
    /// `chronik-meta users`; on a running broker, a Kafka admin client.
    #[command(subcommand)]
    Users(users::UsersCommand),
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective settings (the same flags as `run`) and where each value came from:
    /// flag, env, file or default. Exit 2 when a setting is unknown or bad.
    #[command(
        after_help = "Examples:\n  chronik-broker config show --config /etc/chronik/broker.toml\n  \
        CHRONIK_FSYNC=never chronik-broker config show --output json"
    )]
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// How to print the settings.
    #[arg(long, env = "CHRONIK_OUTPUT", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  chronik-broker status --bootstrap 127.0.0.1:9092\n  \
    chronik-broker status --bootstrap kafka1:9092,kafka2:9092 --topic orders --output json"
)]
pub struct StatusArgs {
    /// Brokers to ask (HOST:PORT,...); any reachable one will do.
    #[arg(
        long,
        env = "CHRONIK_BOOTSTRAP",
        value_delimiter = ',',
        required = true
    )]
    pub bootstrap: Vec<String>,
    /// Only these topics (repeatable); all topics when not given.
    #[arg(long)]
    pub topic: Vec<String>,
    /// Milliseconds to wait for connections and answers.
    #[arg(long, env = "CHRONIK_TIMEOUT_MS", default_value_t = 5000)]
    pub timeout_ms: u64,
    /// How to print the cluster: tables, or one JSON document.
    #[arg(long, env = "CHRONIK_OUTPUT", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Broker id (Kafka's node.id), from 1.
    #[arg(long, env = "CHRONIK_ID", default_value_t = 1)]
    pub id: i32,
    /// Address the Kafka listener binds (one PLAINTEXT listener; see --listeners for more).
    #[arg(long, env = "CHRONIK_LISTEN", default_value = "127.0.0.1:9092")]
    pub listen: SocketAddr,
    /// HOST:PORT clients are told to connect to (default: the bound address).
    #[arg(long, env = "CHRONIK_ADVERTISE")]
    pub advertise: Option<String>,
    #[command(flatten)]
    pub security: crate::security_args::SecurityArgs,
    #[command(flatten)]
    pub remote: crate::remote_args::RemoteArgs,
    /// Directory of the partition logs and the embedded metadata node.
    #[arg(long, env = "CHRONIK_DATA_DIR", default_value = "./chronik-data")]
    pub data_dir: PathBuf,
    /// When acknowledged writes reach the disk: always (before the ack), interval=MS, never.
    #[arg(long, env = "CHRONIK_FSYNC", default_value = "always")]
    pub fsync: FsyncPolicy,
    /// Partitions of auto-created topics and of topics created without a count.
    #[arg(long, env = "CHRONIK_NUM_PARTITIONS", default_value_t = 1)]
    pub num_partitions: i32,
    /// Create unknown topics on Metadata and Produce requests.
    #[arg(long, env = "CHRONIK_AUTO_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_create_topics: bool,
    /// Largest request accepted, in bytes; a larger one closes the connection.
    #[arg(long, env = "CHRONIK_MAX_REQUEST_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_request_bytes: usize,
    /// Connections served at once; further clients wait to be accepted until one closes.
    #[arg(long, env = "CHRONIK_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Close a connection that completes no request for this many milliseconds, silent or
    /// trickling one in too slowly (Kafka's connections.max.idle.ms).
    #[arg(long, env = "CHRONIK_IDLE_TIMEOUT_MS", default_value_t = 600_000)]
    pub idle_timeout_ms: u64,
    /// Most record bytes one Fetch response carries, whatever the client asks (Kafka's
    /// fetch.max.bytes); a larger first batch is still returned whole.
    #[arg(long, env = "CHRONIK_FETCH_MAX_BYTES", default_value_t = chronik_broker::DEFAULT_FETCH_MAX_BYTES)]
    pub fetch_max_bytes: usize,
    /// Incremental fetch sessions (KIP-227) kept at once (Kafka's
    /// max.incremental.fetch.session.cache.slots): a consumer or follower in a session sends
    /// and receives only the partitions that changed. 0 keeps none, so every fetch is full.
    #[arg(
        long,
        env = "CHRONIK_FETCH_SESSION_CACHE_SLOTS",
        default_value_t = 1000
    )]
    pub fetch_session_cache_slots: usize,
    /// When the fetch session cache is full, a session unused for this many milliseconds
    /// gives its slot to a new one, and a consumer's new session may take the slot of a smaller
    /// consumer session older than this (Kafka's min.incremental.fetch.session.eviction.ms).
    #[arg(
        long,
        env = "CHRONIK_FETCH_SESSION_EVICTION_MS",
        default_value_t = 120_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub fetch_session_eviction_ms: u64,
    /// A follower not caught up with its leader for this many milliseconds leaves the ISR
    /// until it catches up again (Kafka's replica.lag.time.max.ms).
    #[arg(
        long,
        env = "CHRONIK_REPLICA_LAG_TIME_MAX_MS",
        default_value_t = 10_000
    )]
    pub replica_lag_time_max_ms: u64,
    /// Replicas of each __consumer_offsets partition when running on an external quorum
    /// (--meta); consumer groups wait until that many brokers are live.
    #[arg(
        long,
        env = "CHRONIK_OFFSETS_TOPIC_REPLICATION_FACTOR",
        default_value_t = 3
    )]
    pub offsets_topic_replication_factor: i16,
    /// segment.bytes of __consumer_offsets when this broker creates it (Kafka's
    /// offsets.topic.segment.bytes): the log cleaner compacts only its sealed segments.
    #[arg(
        long,
        env = "CHRONIK_OFFSETS_TOPIC_SEGMENT_BYTES",
        default_value_t = 100 * 1024 * 1024
    )]
    pub offsets_topic_segment_bytes: u64,
    /// How long the first rebalance of an empty consumer group waits for more members to
    /// join, in milliseconds, and again while members keep arriving, up to the rebalance
    /// timeout (Kafka's group.initial.rebalance.delay.ms); 0 completes it as soon as everyone
    /// known has joined.
    #[arg(
        long,
        env = "CHRONIK_GROUP_INITIAL_REBALANCE_DELAY_MS",
        default_value_t = 3_000
    )]
    pub group_initial_rebalance_delay_ms: u64,
    /// How long a member of a consumer-protocol group (group.protocol=consumer) lives without
    /// a heartbeat, in milliseconds (Kafka's group.consumer.session.timeout.ms); then its
    /// partitions go to the other members.
    #[arg(
        long,
        env = "CHRONIK_GROUP_CONSUMER_SESSION_TIMEOUT_MS",
        default_value_t = 45_000,
        value_parser = clap::value_parser!(u32).range(1_000..=1_800_000)
    )]
    pub group_consumer_session_timeout_ms: u32,
    /// How often consumer-protocol members heartbeat, in milliseconds (Kafka's
    /// group.consumer.heartbeat.interval.ms); must be below the session timeout.
    #[arg(
        long,
        env = "CHRONIK_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS",
        default_value_t = 5_000,
        value_parser = clap::value_parser!(u32).range(100..=1_800_000)
    )]
    pub group_consumer_heartbeat_interval_ms: u32,
    /// The server-side assignors consumer-protocol groups may choose with
    /// group.remote.assignor, the default first (Kafka's group.consumer.assignors).
    #[arg(
        long,
        env = "CHRONIK_GROUP_CONSUMER_ASSIGNORS",
        value_delimiter = ',',
        default_value = "uniform,range",
        value_parser = ["uniform", "range"]
    )]
    pub group_consumer_assignors: Vec<String>,
    /// The longest transaction.timeout.ms a transactional producer may ask for, in
    /// milliseconds (Kafka's transaction.max.timeout.ms); a longer one is refused with
    /// INVALID_TRANSACTION_TIMEOUT. Transactions open longer than their timeout are aborted.
    #[arg(
        long,
        env = "CHRONIK_TRANSACTION_MAX_TIMEOUT_MS",
        default_value_t = 900_000,
        value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64)
    )]
    pub transaction_max_timeout_ms: u32,
    /// Meta nodes of an external metadata quorum (HOST:PORT,...) to use instead of the
    /// embedded one; see `chronik-meta run`.
    #[arg(long, env = "CHRONIK_META", value_delimiter = ',')]
    pub meta: Vec<String>,
    /// Address the embedded metadata node's gRPC server binds (port 0 picks one); give a
    /// fixed one to inspect it with `chronik-meta status --meta ADDR`.
    #[arg(long, env = "CHRONIK_META_LISTEN", default_value = "127.0.0.1:0")]
    pub meta_listen: SocketAddr,
    /// Replication factor of auto-created topics and of topics created without one.
    #[arg(long, env = "CHRONIK_DEFAULT_REPLICATION_FACTOR", default_value_t = 1)]
    pub default_replication_factor: i16,
    /// Default retention.ms of topics: segments older than this are deleted; -1 keeps
    /// data forever. Topics override it with their own retention.ms.
    #[arg(long, env = "CHRONIK_RETENTION_MS", default_value_t = 7 * 24 * 3600 * 1000, allow_negative_numbers = true)]
    pub retention_ms: i64,
    /// Default retention.bytes per partition: the oldest segments go beyond it; -1 means no limit.
    #[arg(long, env = "CHRONIK_RETENTION_BYTES", default_value_t = -1, allow_negative_numbers = true)]
    pub retention_bytes: i64,
    /// Default segment.bytes: a partition's segment rolls past this size.
    #[arg(long, env = "CHRONIK_SEGMENT_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub segment_bytes: u64,
    /// How often expired segments are deleted, in milliseconds.
    #[arg(
        long,
        env = "CHRONIK_RETENTION_CHECK_INTERVAL_MS",
        default_value_t = 30_000
    )]
    pub retention_check_interval_ms: u64,
    /// Compacted logs cleaned at once (Kafka's log.cleaner.threads); 0 turns the log cleaner
    /// off and compacted topics grow.
    #[arg(long, env = "CHRONIK_LOG_CLEANER_THREADS", default_value_t = 1)]
    pub log_cleaner_threads: usize,
    /// Memory for the cleaner's key maps, all threads together (Kafka's
    /// log.cleaner.dedupe.buffer.size): a log with more keys is cleaned in several passes.
    #[arg(long, env = "CHRONIK_LOG_CLEANER_DEDUPE_BUFFER_SIZE", default_value_t = 128 * 1024 * 1024)]
    pub log_cleaner_dedupe_buffer_size: usize,
    /// Bytes the cleaner reads and writes per second, all threads together; -1: unlimited
    /// (Kafka's log.cleaner.io.max.bytes.per.second).
    #[arg(long, env = "CHRONIK_LOG_CLEANER_IO_MAX_BYTES_PER_SECOND", default_value_t = -1.0, allow_negative_numbers = true)]
    pub log_cleaner_io_max_bytes_per_second: f64,
    /// How long the cleaner waits when no compacted log is due, in milliseconds (Kafka's
    /// log.cleaner.backoff.ms).
    #[arg(long, env = "CHRONIK_LOG_CLEANER_BACKOFF_MS", default_value_t = 15_000)]
    pub log_cleaner_backoff_ms: u64,
    /// Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9644).
    #[arg(long, env = "CHRONIK_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// TOML file of settings, keyed by long flag name (e.g. `fsync = "never"`); flags and
    /// CHRONIK_* variables win over it.
    #[arg(long, env = "CHRONIK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log filter (RUST_LOG wins), e.g. info or chronik_broker=debug.
    #[arg(long, env = "CHRONIK_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log lines on stderr as text, or as one JSON object per line (for journald and log
    /// shippers).
    #[arg(long, env = "CHRONIK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl RunArgs {
    fn cleaner_config(&self) -> anyhow::Result<chronik_broker::CleanerConfig> {
        if self.log_cleaner_dedupe_buffer_size < 1024 * 1024 {
            bail!("--log-cleaner-dedupe-buffer-size must be at least 1048576 (1 MiB)");
        }
        if self.log_cleaner_backoff_ms == 0 {
            bail!("--log-cleaner-backoff-ms must be at least 1");
        }
        let rate = self.log_cleaner_io_max_bytes_per_second;
        let io_max_bytes_per_second = match rate {
            -1.0 => None,
            r if r.is_finite() && r >= 1.0 => Some(r),
            r => bail!(
                "--log-cleaner-io-max-bytes-per-second must be -1 (unlimited) or at least 1, got {r}"
            ),
        };
        Ok(chronik_broker::CleanerConfig {
            threads: self.log_cleaner_threads,
            dedupe_buffer_bytes: self.log_cleaner_dedupe_buffer_size,
            io_max_bytes_per_second,
            backoff: std::time::Duration::from_millis(self.log_cleaner_backoff_ms),
        })
    }

    pub fn into_config(self) -> anyhow::Result<BrokerConfig> {
        if self.id < 1 {
            bail!("--id must be 1 or more, got {}", self.id);
        }
        if self.num_partitions < 1 {
            bail!(
                "--num-partitions must be 1 or more, got {}",
                self.num_partitions
            );
        }
        if self.max_request_bytes < 1024 || self.max_request_bytes > i32::MAX as usize {
            bail!("--max-request-bytes must be between 1024 and {}", i32::MAX);
        }
        if self.default_replication_factor < 1 {
            bail!(
                "--default-replication-factor must be 1 or more, got {}",
                self.default_replication_factor
            );
        }
        if self.segment_bytes < 4096 {
            bail!(
                "--segment-bytes must be at least 4096, got {}",
                self.segment_bytes
            );
        }
        if self.max_connections == 0
            || self.idle_timeout_ms == 0
            || self.fetch_max_bytes == 0
            || self.replica_lag_time_max_ms == 0
        {
            bail!(
                "--max-connections, --idle-timeout-ms, --fetch-max-bytes and --replica-lag-time-max-ms must be at least 1"
            );
        }
        if self.retention_check_interval_ms == 0 {
            bail!("--retention-check-interval-ms must be at least 1");
        }
        let limit = |name: &str, v: i64| match v {
            -1 => Ok(None),
            v if v >= 0 => Ok(Some(v.unsigned_abs())),
            v => bail!("{name} must be -1 (no limit) or a positive number, got {v}"),
        };
        let cleaner = self.cleaner_config()?;
        let mut config = BrokerConfig::new(self.data_dir);
        config.retention_ms = limit("--retention-ms", self.retention_ms)?;
        config.retention_bytes = limit("--retention-bytes", self.retention_bytes)?;
        config.segment_bytes = self.segment_bytes;
        config.default_replication_factor = self.default_replication_factor;
        config.retention_check_interval =
            std::time::Duration::from_millis(self.retention_check_interval_ms);
        config.id = self.id;
        config.listen = self.listen;
        config.advertise = self.advertise;
        self.security.apply(&mut config)?;
        self.remote.apply(&mut config)?;
        config.fsync = self.fsync;
        config.num_partitions = self.num_partitions;
        config.auto_create_topics = self.auto_create_topics;
        config.max_request_bytes = self.max_request_bytes;
        config.max_connections = self.max_connections;
        config.idle_timeout = std::time::Duration::from_millis(self.idle_timeout_ms);
        config.fetch_max_bytes = self.fetch_max_bytes;
        config.fetch_session_cache_slots = self.fetch_session_cache_slots;
        config.fetch_session_eviction =
            std::time::Duration::from_millis(self.fetch_session_eviction_ms);
        if self.offsets_topic_replication_factor < 1 {
            bail!(
                "--offsets-topic-replication-factor must be at least 1, got {}",
                self.offsets_topic_replication_factor
            );
        }
        config.offsets_topic_replication_factor = self.offsets_topic_replication_factor;
        if !(4096..=chronik_wal::MAX_SEGMENT_BYTES).contains(&self.offsets_topic_segment_bytes) {
            bail!(
                "--offsets-topic-segment-bytes must be between 4096 and {}, got {}",
                chronik_wal::MAX_SEGMENT_BYTES,
                self.offsets_topic_segment_bytes
            );
        }
        config.offsets_topic_segment_bytes = self.offsets_topic_segment_bytes;
        config.group_initial_rebalance_delay =
            std::time::Duration::from_millis(self.group_initial_rebalance_delay_ms);
        if self.group_consumer_heartbeat_interval_ms >= self.group_consumer_session_timeout_ms {
            bail!(
                "--group-consumer-heartbeat-interval-ms ({}) must be below \
                 --group-consumer-session-timeout-ms ({})",
                self.group_consumer_heartbeat_interval_ms,
                self.group_consumer_session_timeout_ms
            );
        }
        config.group_consumer_session_timeout =
            std::time::Duration::from_millis(u64::from(self.group_consumer_session_timeout_ms));
        config.group_consumer_heartbeat_interval =
            std::time::Duration::from_millis(u64::from(self.group_consumer_heartbeat_interval_ms));
        config.group_consumer_assignors = self.group_consumer_assignors.clone();
        config.transaction_max_timeout =
            std::time::Duration::from_millis(u64::from(self.transaction_max_timeout_ms));
        config.cleaner = cleaner;
        config.replica_lag_time_max =
            std::time::Duration::from_millis(self.replica_lag_time_max_ms);
        config.partition_syncer = fault::fsync_hook()?;
        config.meta_listen = self.meta_listen;
        config.meta = self
            .meta
            .into_iter()
            .filter(|m| !m.trim().is_empty())
            .collect();
        config.max_message_bytes = config.max_message_bytes.min(self.max_request_bytes);
        Ok(config)
    }
}

/// A test hook, off unless its variable is set: `CHRONIK_TEST_FAULT_FSYNC_EIO_AT=N` makes the
/// Nth fsync of a partition log (counting from 1, since the start) fail with EIO, as a dying
/// disk would; every other fsync is a real `fdatasync`. The fault tests use it to check that
/// the broker never acknowledges a write after a failed fsync.
mod fault {
    use std::fs::File;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use anyhow::Context;
    use chronik_broker::PartitionSyncer;

    pub const FSYNC_EIO_AT: &str = "CHRONIK_TEST_FAULT_FSYNC_EIO_AT";

    struct FailNth {
        at: u64,
        calls: AtomicU64,
    }

    impl chronik_wal::Syncer for FailNth {
        fn sync(&self, file: &File) -> std::io::Result<()> {
            if self.calls.fetch_add(1, Ordering::Relaxed) + 1 == self.at {
                return Err(std::io::Error::from_raw_os_error(5)); // EIO
            }
            file.sync_data()
        }
    }

    pub fn fsync_hook() -> anyhow::Result<Option<PartitionSyncer>> {
        let Ok(text) = std::env::var(FSYNC_EIO_AT) else {
            return Ok(None);
        };
        let at: u64 = (text.parse().ok().filter(|n| *n > 0))
            .with_context(|| format!("{FSYNC_EIO_AT} must be a number from 1, got {text:?}"))?;
        tracing::warn!("test fault hook on: partition fsync number {at} will fail with EIO");
        let calls = AtomicU64::new(0);
        Ok(Some(PartitionSyncer(Arc::new(FailNth { at, calls }))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn run_is_optional_and_flags_parse() {
        let cli = Cli::parse_from([
            "chronik-broker",
            "--fsync",
            "never",
            "--auto-create-topics",
            "false",
        ]);
        assert!(cli.command.is_none());
        assert_eq!(cli.run.fsync, FsyncPolicy::Never);
        assert!(!cli.run.auto_create_topics);
        let cli = Cli::parse_from(["chronik-broker", "run", "--id", "3"]);
        assert!(matches!(cli.command, Some(Command::Run(ref a)) if a.id == 3));
    }
}
