//! `log-format = "json"` from a config file: a meta node that served a broker's registration
//! and topic creations, stopped with SIGTERM, wrote only JSON objects on stderr.

#[path = "../../chronik-broker/tests/common/json_log.rs"]
mod json_log;
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use json_log::{parse_json_log, with_message};
use support::{BIN, eventually, free_port, register_brokers, run_cli};

const DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn a_meta_node_logs_json_lines_from_start_to_shutdown() {
    let _serial = support::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("127.0.0.1:{}", free_port());
    let cluster_id = support::random_cluster_id();
    let file = dir.path().join("meta.toml");
    std::fs::write(
        &file,
        format!(
            "id = 3\nlisten = \"{address}\"\ndata-dir = \"{}\"\ncluster-id = \"{cluster_id}\"\n\
             log-format = \"json\"\n",
            dir.path().join("data").display()
        ),
    )
    .expect("write config");
    let log_path = dir.path().join("node.log");
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&file)
        .env_remove("CHRONIK_LOG_FORMAT")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("spawn chronik-meta");
    eventually("a leader", DEADLINE, || {
        let out = run_cli(&["status", "--meta", &address, "--output", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (doc["cluster_id"] == cluster_id.as_str() && doc["leader_id"] == 3).then_some(())
    });
    register_brokers(&address, 1);
    for name in ["orders", "audit"] {
        let out = run_cli(&["topics", "create", "--meta", &address, name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    let status = eventually("the node to exit after SIGTERM", DEADLINE, || {
        child.try_wait().ok().flatten()
    });
    assert!(status.success(), "the node exited with {status}");

    let log = std::fs::read_to_string(&log_path).expect("read the node's log");
    let lines = parse_json_log(&log);
    let started = with_message(&lines, "meta node started");
    assert_eq!(started.len(), 1, "one startup line:\n{log}");
    assert_eq!(
        started[0]["node"], 3,
        "the node we started: {:?}",
        started[0]
    );
    assert_eq!(started[0]["cluster"], cluster_id.as_str());
    assert_eq!(started[0]["address"], address.as_str());
    let stopped = with_message(&lines, "meta node stopped");
    assert_eq!(stopped.len(), 1, "one shutdown line:\n{log}");
    assert_eq!(stopped[0]["node"], 3);
    assert_eq!(
        lines.last(),
        Some(stopped[0]),
        "nothing after the shutdown line"
    );
}
