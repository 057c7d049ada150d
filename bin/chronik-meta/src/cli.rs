//! Command-line surface. Every flag has a `CHRONIK_*` environment fallback.

use std::path::PathBuf;
use std::time::Duration;

use chronik_cli::{LogFormat, OutputFormat};
use chronik_metadata::grpc::{ClusterTls, MetaClient};
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "chronik-meta",
    version,
    about = "Run a voter of Chronik's metadata quorum, or inspect and administer a running quorum",
    long_about = "chronik-meta runs one voter of the metadata Raft quorum (1, 3 or 5 of them). The \
                  Raft leader is the controller: it places partitions, fences brokers that stop \
                  heartbeating and elects partition leaders.\n\n\
                  Start a single voter:      chronik-meta run --id 1 --data-dir /var/lib/chronik-meta\n\
                  Start one of three voters: chronik-meta run --id 1 --listen 10.0.0.1:9190 \\\n\
                  \x20                            --data-dir DIR --cluster-id prod \\\n\
                  \x20                            --peers 1=10.0.0.1:9190,2=10.0.0.2:9190,3=10.0.0.3:9190\n\
                  Check it:                  chronik-meta status --meta 10.0.0.1:9190,10.0.0.2:9190\n\n\
                  `run` settings can also come from CHRONIK_* variables or, keyed by long flag \
                  name, from the TOML file given with --config; a flag beats a variable, which \
                  beats the file, which beats the default. `chronik-meta config show` prints what \
                  applies and where it came from."
)]
pub struct Cli {
    /// Log filter when RUST_LOG is unset (error, warn, info, debug, trace).
    #[arg(long, global = true, env = "CHRONIK_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log lines on stderr as text, or as one JSON object per line (for journald and log
    /// shippers).
    #[arg(long, global = true, env = "CHRONIK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How to print results.
    #[arg(long, global = true, env = "CHRONIK_OUTPUT", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one voter of the quorum until SIGINT/SIGTERM (SIGHUP reloads its TLS files).
    Run(RunArgs),
    /// Print the quorum, brokers and unhealthy partitions; exit 0 healthy, 1 degraded, 2 no quorum.
    Status(StatusArgs),
    /// Create, list, describe and delete topics.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Move partition replicas between brokers.
    #[command(subcommand)]
    Partitions(PartitionsCommand),
    /// Retire brokers.
    #[command(subcommand)]
    Brokers(BrokersCommand),
    /// Add or remove voters of the quorum.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Inspect a voter's settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Add, delete and list SCRAM users (the credentials brokers authenticate clients with).
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Set a user's SCRAM credential, replacing the one it has for the same mechanism. The
    /// password is read from stdin (one line); only a random salt and the keys SCRAM derives
    /// from it reach the quorum.
    #[command(
        after_help = "Example:\n  printf '%s\\n' \"$ADMIN_PASSWORD\" | chronik-meta users add admin \\\n    \
        --mechanism SCRAM-SHA-512 --password-stdin --meta 10.0.0.1:9190,10.0.0.2:9190"
    )]
    Add {
        #[command(flatten)]
        meta: MetaArgs,
        /// The user name (1 to 256 bytes).
        name: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, value_parser = parse_mechanism)]
        mechanism: chronik_auth::ScramMechanism,
        /// Read the password from stdin: one line, its trailing newline removed. Required: the
        /// password is never taken from an argument, which other users could see.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// PBKDF2 iterations.
        #[arg(
            long,
            default_value_t = chronik_auth::scram::DEFAULT_ITERATIONS,
            value_parser = clap::value_parser!(u32).range(
                i64::from(chronik_auth::scram::MIN_ITERATIONS)
                    ..=i64::from(chronik_auth::scram::MAX_ITERATIONS)
            )
        )]
        iterations: u32,
    },
    /// Delete a user's SCRAM credential for one mechanism.
    Delete {
        #[command(flatten)]
        meta: MetaArgs,
        /// The user name.
        name: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, value_parser = parse_mechanism)]
        mechanism: chronik_auth::ScramMechanism,
    },
    /// List the users with their mechanisms and iteration counts (never salts or keys).
    List {
        #[command(flatten)]
        meta: MetaArgs,
    },
}

/// A SCRAM mechanism by its SASL name.
pub fn parse_mechanism(name: &str) -> Result<chronik_auth::ScramMechanism, String> {
    chronik_auth::ScramMechanism::from_name(name).ok_or_else(|| {
        format!("unknown SCRAM mechanism '{name}': use SCRAM-SHA-256 or SCRAM-SHA-512")
    })
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective settings of `run` (give the same flags) and where each value came
    /// from: flag, env, file or default. Exit 2 when a setting is unknown, bad or missing.
    #[command(
        after_help = "Examples:\n  chronik-meta config show --config /etc/chronik/meta.toml\n  \
        CHRONIK_NODE_ID=2 chronik-meta --output json config show --data-dir /var/lib/chronik-meta"
    )]
    Show(RunArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// This voter's id (from 1), unique in the quorum.
    #[arg(long, env = "CHRONIK_NODE_ID")]
    pub id: u64,
    /// Address to serve gRPC on (peers, brokers and tools connect here).
    #[arg(long, env = "CHRONIK_LISTEN", default_value = "127.0.0.1:9190")]
    pub listen: std::net::SocketAddr,
    /// Address others reach this node at, when not the listen address (e.g. behind NAT).
    #[arg(long, env = "CHRONIK_ADVERTISE")]
    pub advertise: Option<String>,
    /// Where the Raft log and snapshots live (created if missing; locked while running).
    #[arg(long, env = "CHRONIK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Initial voters as ID=HOST:PORT,... including this one; the same on every voter. Omit for
    /// a single-voter quorum. A node not in the list joins later via `members add`.
    #[arg(long, env = "CHRONIK_PEERS")]
    pub peers: Option<String>,
    /// Cluster id, required for a new multi-voter quorum; stored on first start and checked on
    /// every later start. Peers with another cluster id are refused.
    #[arg(long, env = "CHRONIK_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// Milliseconds a broker may go without heartbeating before it is fenced and its
    /// partitions get new leaders: the failover time after a broker dies. Brokers heartbeat
    /// every quarter of it and give up on an unanswering meta node after another quarter, so
    /// one cut-off meta node does not cost them their session. A controller that takes over
    /// gives every broker a full session.
    #[arg(long, env = "CHRONIK_SESSION_TIMEOUT_MS", default_value_t = 2000)]
    pub session_timeout_ms: u64,
    /// Serve Prometheus metrics (Raft term, commit index, leader changes, brokers, unhealthy
    /// partitions) on this address at /metrics.
    #[arg(long, env = "CHRONIK_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Seconds between the leader's preferred-leader elections.
    #[arg(
        long,
        env = "CHRONIK_PREFERRED_LEADER_INTERVAL_S",
        default_value_t = 30
    )]
    pub preferred_leader_interval_s: u64,
    /// Even out partition replicas across live brokers, one partition move at a time (a
    /// joining broker gets its share); false leaves placement to `partitions reassign`.
    #[arg(long, env = "CHRONIK_AUTO_BALANCE", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_balance: bool,
    /// Applied Raft entries that trigger a snapshot of the metadata state and compaction of
    /// the log; a voter that lags further behind catches up through the snapshot.
    #[arg(
        long,
        env = "CHRONIK_SNAPSHOT_ENTRIES",
        default_value_t = chronik_metadata::node::DEFAULT_SNAPSHOT_ENTRIES,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub snapshot_entries: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// TOML file of settings keyed by long flag name (e.g. `peers = "1=a:9190,2=b:9190"`);
    /// flags and CHRONIK_* variables win over it.
    #[arg(long, env = "CHRONIK_CONFIG")]
    pub config: Option<PathBuf>,
}

/// gRPC over TLS with client certificates: all three files or none.
#[derive(Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// PEM certificate (chain, leaf first) this node or tool presents on every gRPC connection,
    /// as server and as client. With --tls-key and --tls-ca, all gRPC traffic (Raft between
    /// meta nodes, brokers and tools calling the quorum) is TLS with client certificates. A
    /// running node reads all three files again on SIGHUP.
    #[arg(long, env = "CHRONIK_TLS_CERT", requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CHRONIK_TLS_KEY", requires_all = ["tls_cert", "tls_ca"])]
    pub tls_key: Option<PathBuf>,
    /// PEM certificates of the CA that signs every node's certificate: peers are checked
    /// against it, and a caller without a certificate it signed is refused.
    #[arg(long, env = "CHRONIK_TLS_CA", requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,
}

impl TlsArgs {
    /// The loaded files, or `None` when no TLS is asked for.
    pub fn load(&self) -> anyhow::Result<Option<ClusterTls>> {
        match (&self.tls_cert, &self.tls_key, &self.tls_ca) {
            (Some(cert), Some(key), Some(ca)) => Ok(Some(ClusterTls::load(cert, key, ca)?)),
            _ => Ok(None),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct MetaArgs {
    /// Meta node addresses (HOST:PORT,...); any reachable node will do.
    #[arg(long, env = "CHRONIK_META", value_delimiter = ',', required = true)]
    pub meta: Vec<String>,
    /// Milliseconds to wait for each node (and, for changes, for the whole operation ×2).
    #[arg(long, env = "CHRONIK_TIMEOUT_MS", default_value_t = 5000)]
    pub timeout_ms: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
}

impl MetaArgs {
    /// How long to wait for each node.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    /// A client for the quorum: each call waits [`MetaArgs::timeout`], a change twice that.
    pub fn client(&self) -> anyhow::Result<MetaClient> {
        let timeout = self.timeout();
        Ok(MetaClient::new(self.meta.clone())
            .with_timeouts(timeout, timeout * 2)
            .with_tls(self.tls.load()?))
    }
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub meta: MetaArgs,
    /// Also list every partition of this topic with its leader, replicas and ISR (repeatable).
    #[arg(long)]
    pub topic: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum TopicsCommand {
    /// Create a topic (needs as many live brokers as the replication factor).
    Create {
        #[command(flatten)]
        meta: MetaArgs,
        name: String,
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        #[arg(long, default_value_t = 1)]
        replication_factor: i16,
        /// Topic config KEY=VALUE (repeatable).
        #[arg(long = "config")]
        configs: Vec<String>,
    },
    /// List topics.
    List {
        #[command(flatten)]
        meta: MetaArgs,
    },
    /// Show topics' partitions (all topics when no name is given).
    Describe {
        #[command(flatten)]
        meta: MetaArgs,
        names: Vec<String>,
    },
    /// Delete a topic.
    Delete {
        #[command(flatten)]
        meta: MetaArgs,
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PartitionsCommand {
    /// Move a partition to other brokers: the new replicas are added and catch up through
    /// replication, then the others are dropped, so the partition never has fewer copies.
    /// Interrupted, it can be run again to continue.
    Reassign {
        #[command(flatten)]
        meta: MetaArgs,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
        /// The new replicas as broker ids (ID,ID,...); the first is the preferred leader.
        #[arg(long, value_delimiter = ',', required = true)]
        replicas: Vec<i32>,
        /// Seconds to wait for the new replicas to catch up before giving up (they stay added).
        #[arg(long, default_value_t = 600)]
        wait_s: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum BrokersCommand {
    /// Retire a broker: nothing new is placed on it, the controller moves its replicas to the
    /// other brokers (each new copy catches up before the old one goes), then fences it for
    /// good; `status` shows the replicas it still holds. Stop the broker once it is fenced.
    Decommission {
        #[command(flatten)]
        meta: MetaArgs,
        /// The broker to retire.
        id: i32,
        /// Take a decommissioning broker back: moves stop where they are and it is unfenced
        /// again when it heartbeats.
        #[arg(long)]
        cancel: bool,
        /// Seconds to wait until it holds no replica and is fenced (0: return at once).
        #[arg(long, default_value_t = 0)]
        wait_s: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum MembersCommand {
    /// Add a voter; start it first with --peers listing the current voters (not itself).
    Add {
        #[command(flatten)]
        meta: MetaArgs,
        #[arg(long)]
        id: u64,
        /// The new voter's HOST:PORT.
        #[arg(long)]
        address: String,
    },
    /// Remove a voter.
    Remove {
        #[command(flatten)]
        meta: MetaArgs,
        #[arg(long)]
        id: u64,
    },
}
