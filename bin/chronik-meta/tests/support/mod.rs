//! Real-process harness: meta nodes as child processes on loopback ports, in a temp dir,
//! killed when the harness is dropped. Waits poll with deadlines; nothing sleeps blindly.

#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use chronik_metadata::grpc::MetaClient;
use chronik_metadata::grpc::pb::{HeartbeatRequest, RegisterBrokerRequest};
use serde_json::Value;

// Each test binary uses its own share of these.
#[allow(unused_imports)]
pub use chronik_test_support::{eventually, free_port};

pub const BIN: &str = env!("CARGO_BIN_EXE_chronik-meta");

pub fn random_cluster_id() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

/// Process-heavy tests run one at a time: on a small machine, parallel clusters starve each
/// other's Raft ticks and election deadlines become meaningless.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held for the whole test.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct Node {
    pub id: u64,
    pub address: String,
    pub metrics: String,
    pub dir: PathBuf,
    pub child: Option<Child>,
}

/// A cluster of meta node processes.
pub struct Cluster {
    pub root: tempfile::TempDir,
    pub cluster_id: String,
    pub peers: String,
    pub nodes: Vec<Node>,
    /// Extra flags for every `run`.
    pub extra: Vec<String>,
}

impl Cluster {
    /// `n` voters, not started.
    pub fn new(n: u64) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let nodes: Vec<Node> = (1..=n)
            .map(|id| Node {
                id,
                address: format!("127.0.0.1:{}", free_port()),
                metrics: format!("127.0.0.1:{}", free_port()),
                dir: root.path().join(format!("node{id}")),
                child: None,
            })
            .collect();
        let peers = (nodes.iter())
            .map(|n| format!("{}={}", n.id, n.address))
            .collect::<Vec<_>>()
            .join(",");
        Cluster {
            root,
            cluster_id: random_cluster_id(),
            peers,
            nodes,
            extra: vec!["--session-timeout-ms".into(), "600000".into()],
        }
    }

    /// A node outside the initial voters (it joins through `members add`); returns its id.
    pub fn add_node(&mut self) -> u64 {
        let id = self.nodes.len() as u64 + 1;
        self.nodes.push(Node {
            id,
            address: format!("127.0.0.1:{}", free_port()),
            metrics: format!("127.0.0.1:{}", free_port()),
            dir: self.root.path().join(format!("node{id}")),
            child: None,
        });
        id
    }

    pub fn node(&mut self, id: u64) -> &mut Node {
        let index = usize::try_from(id - 1).expect("small id");
        &mut self.nodes[index]
    }

    pub fn address(&self, id: u64) -> String {
        self.nodes[usize::try_from(id - 1).expect("small id")]
            .address
            .clone()
    }

    pub fn metrics_address(&self, id: u64) -> String {
        self.nodes[usize::try_from(id - 1).expect("small id")]
            .metrics
            .clone()
    }

    /// Every node's address, comma-separated.
    pub fn addresses(&self) -> String {
        (self.nodes.iter())
            .map(|n| n.address.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn log(&self, id: u64) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.path().join(format!("node{id}.log")))
            .expect("open log")
    }

    /// The command that runs node `id` with `cluster_id`.
    pub fn command(&self, id: u64, cluster_id: &str) -> Command {
        let node = &self.nodes[usize::try_from(id - 1).expect("small id")];
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--id", &id.to_string(), "--listen", &node.address])
            .arg("--data-dir")
            .arg(&node.dir)
            .args(["--peers", &self.peers, "--cluster-id", cluster_id])
            .args(["--metrics-addr", &node.metrics])
            // The brokers of these tests are registrations without logs: a replica moved onto
            // one would never catch up, leaving the partition under-replicated.
            .args(["--auto-balance", "false"])
            .args(&self.extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(self.log(id))
            .stderr(self.log(id));
        cmd
    }

    pub fn start(&mut self, id: u64) {
        let cluster_id = self.cluster_id.clone();
        let child = self
            .command(id, &cluster_id)
            .spawn()
            .expect("spawn chronik-meta");
        self.node(id).child = Some(child);
    }

    pub fn start_all(&mut self) {
        for id in 1..=self.nodes.len() as u64 {
            self.start(id);
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.node(id).child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM; returns the exit status once the process ended.
    pub fn terminate(&mut self, id: u64, timeout: Duration) -> std::process::ExitStatus {
        let mut child = self.node(id).child.take().expect("node is running");
        let pid = child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        eventually("the node to exit after SIGTERM", timeout, || {
            child.try_wait().ok().flatten()
        })
    }

    /// `chronik-meta status --output json` against `addresses`: (exit code, document).
    pub fn status(&self, addresses: &str) -> (i32, Value) {
        let out = run_cli(&[
            "status",
            "--meta",
            addresses,
            "--output",
            "json",
            "--timeout-ms",
            "1000",
        ]);
        let code = out.status.code().expect("status exited normally");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        (code, doc)
    }

    /// Waits for a leader of *this* cluster, as seen through `addresses`; returns its id.
    pub fn wait_leader(&self, addresses: &str, timeout: Duration) -> u64 {
        eventually("a leader", timeout, || {
            let (_, doc) = self.status(addresses);
            (doc["cluster_id"] == self.cluster_id.as_str())
                .then(|| doc["leader_id"].as_u64())
                .flatten()
        })
    }

    /// Waits until `status` exits with `code`.
    pub fn wait_status_code(&self, addresses: &str, code: i32, timeout: Duration) -> Value {
        eventually(&format!("status exit code {code}"), timeout, || {
            let (got, doc) = self.status(addresses);
            assert_eq!(
                doc["cluster_id"].as_str().unwrap_or(&self.cluster_id),
                self.cluster_id
            );
            (got == code).then_some(doc)
        })
    }

    pub fn print_logs(&self) {
        for node in &self.nodes {
            let path = self.root.path().join(format!("node{}.log", node.id));
            if let Ok(text) = std::fs::read_to_string(&path) {
                eprintln!("---- node {} ----\n{text}", node.id);
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_logs();
        }
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

pub fn run_cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run chronik-meta")
}

/// Registers brokers 1..=n and heartbeats each once so they are live.
pub fn register_brokers(addresses: &str, n: i32) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut client = MetaClient::new(addresses.split(',').map(str::to_owned));
        for id in 1..=n {
            let incarnation = rand::random::<[u8; 16]>().to_vec();
            let port = u32::try_from(9092 + id).expect("port");
            let register = RegisterBrokerRequest {
                broker_id: id,
                incarnation_id: incarnation.clone(),
                host: "127.0.0.1".into(),
                port,
                rack: None,
                endpoints: Vec::new(),
            };
            client
                .call(|mut c| {
                    let r = register.clone();
                    async move { c.register_broker(r).await }
                })
                .await
                .expect("register broker");
            let heartbeat = HeartbeatRequest {
                broker_id: id,
                incarnation_id: incarnation,
            };
            let answer = client
                .call(|mut c| {
                    let r = heartbeat.clone();
                    async move { c.heartbeat(r).await }
                })
                .await
                .expect("heartbeat");
            assert!(
                !answer.fenced,
                "broker {id} still fenced after its heartbeat"
            );
        }
    });
}

/// Topic names visible through one node (its own applied state).
pub fn topics_on(address: &str) -> Vec<String> {
    let out = run_cli(&[
        "topics",
        "list",
        "--meta",
        address,
        "--output",
        "json",
        "--timeout-ms",
        "1000",
    ]);
    if !out.status.success() {
        return Vec::new();
    }
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let mut names: Vec<String> = (doc.as_array().into_iter().flatten())
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

pub fn create_topic(addresses: &str, name: &str) {
    let out = run_cli(&[
        "topics",
        "create",
        name,
        "--meta",
        addresses,
        "--partitions",
        "3",
        "--replication-factor",
        "3",
    ]);
    assert!(
        out.status.success(),
        "create {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plain HTTP/1.0 GET; the body, or `None` when nothing answers.
pub fn http_get(address: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}
