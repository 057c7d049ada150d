//! Starting a real `chronik-broker` (package `chronik-broker-bin`, built on demand) on an
//! ephemeral loopback port with a temp data dir, and running the real `chronik-bench`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

// Each test binary uses its own share of these.
#[allow(unused_imports)]
pub use chronik_test_support::{eventually, free_port};

pub const START_DEADLINE: Duration = Duration::from_secs(60);

/// `target/debug/chronik-broker`, next to this package's own binary; built if missing.
pub fn broker_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_chronik-bench"));
    let path = bench.with_file_name("chronik-broker");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "chronik-broker-bin"])
            .status()
            .expect("run cargo build -p chronik-broker-bin");
        assert!(status.success(), "building chronik-broker failed");
    }
    assert!(path.exists(), "no broker binary at {}", path.display());
    path
}

/// A broker child process, killed (by its own PID) when dropped.
pub struct Broker {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Broker {
    pub fn start(dir: &Path, fsync: &str) -> Broker {
        Self::start_on(dir, fsync, free_port())
    }

    pub fn start_on(dir: &Path, fsync: &str, port: u16) -> Broker {
        Self::start_with(dir, fsync, port, &[])
    }

    /// Like [`Broker::start_on`], with further `chronik-broker run` flags.
    pub fn start_with(dir: &Path, fsync: &str, port: u16, extra: &[&str]) -> Broker {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("broker.log"))
            .expect("broker log");
        let child = Command::new(broker_binary())
            .args(["run", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--fsync", fsync])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn chronik-broker");
        let mut broker = Broker {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        broker.wait_ready();
        broker
    }

    /// Ready when our child is alive and a Kafka client at our port sees a broker advertising
    /// this very port (not some other process that grabbed it).
    fn wait_ready(&mut self) {
        let addr = self.addr();
        let port = self.port;
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        eventually("the broker to answer Metadata", START_DEADLINE, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default();
                panic!("broker exited early: {status}; its log:\n{log}");
            }
            let meta = rt.block_on(async {
                let mut cfg = chronik_client::ClientConfig::new(&addr);
                cfg.request_timeout = Duration::from_secs(2);
                let client = chronik_client::Client::connect(cfg).await.ok()?;
                client.describe_cluster().await.ok()
            })?;
            meta.brokers
                .values()
                .any(|a| a.port() == port)
                .then_some(())
        });
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn bench_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chronik-bench"));
    cmd.args(args)
        .env_remove("CHRONIK_OUTPUT")
        .env_remove("CHRONIK_BOOTSTRAP")
        .env_remove("RUST_LOG");
    cmd
}
