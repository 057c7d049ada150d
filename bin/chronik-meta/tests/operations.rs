//! Operating a meta node: `run --config FILE`, `config show`, `status --topic`, and its
//! Prometheus metrics parsed as Prometheus text with counters increasing under load.

#[path = "../../chronik-broker/tests/common/prom.rs"]
mod prom;
mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{BIN, eventually, free_port, register_brokers, run_cli};

const DEADLINE: Duration = Duration::from_secs(30);

/// A `chronik-meta run` child, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn json(args: &[&str]) -> (i32, Value) {
    let out = run_cli(args);
    let code = out.status.code().expect("exited normally");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, doc)
}

#[test]
fn a_node_runs_from_a_config_file_and_reports_status_and_metrics() {
    let _serial = support::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    let file = dir.path().join("meta.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &file,
        format!(
            "id = 1\nlisten = \"{address}\"\ndata_dir = \"{}\"\nmetrics-addr = \"{metrics}\"\n",
            data.display()
        ),
    )
    .expect("write config");
    let log = std::fs::File::create(dir.path().join("node.log")).expect("log");
    let child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn chronik-meta");
    let _node = Proc(child);
    let args = [
        "status",
        "--meta",
        &address,
        "--output",
        "json",
        "--timeout-ms",
        "1000",
    ];
    eventually("a leader", DEADLINE, || {
        let (code, doc) = json(&args);
        (code == 0 && doc["leader_id"] == 1).then_some(())
    });

    // Load: a broker and topics; every create is a committed Raft entry.
    register_brokers(&address, 1);
    let first = prom::scrape_until(&metrics, DEADLINE, |e| {
        e.sum("chronik_meta_raft_commit_index")
            .is_some_and(|v| v > 0.0)
            && e.sum("chronik_meta_raft_is_leader") == Some(1.0)
    });
    for family in [
        "chronik_meta_raft_term",
        "chronik_meta_raft_commit_index",
        "chronik_meta_raft_applied_index",
        "chronik_meta_raft_leader_changes_total",
        "chronik_meta_raft_is_leader",
        "chronik_meta_brokers",
        "chronik_meta_under_replicated_partitions",
        "chronik_meta_offline_partitions",
        "chronik_meta_decision_seconds_count",
    ] {
        assert!(
            first.sum(family).is_some(),
            "{family} missing: {:?}",
            first.samples.keys()
        );
    }
    assert_eq!(
        first.types["chronik_meta_raft_leader_changes_total"],
        "counter"
    );
    // The pass that set is_leader counted the change to this leader first.
    assert!(first.sum("chronik_meta_raft_leader_changes_total") >= Some(1.0));
    for name in ["orders", "audit"] {
        let out = run_cli(&[
            "topics",
            "create",
            "--meta",
            &address,
            name,
            "--partitions",
            "2",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let before = first.sum("chronik_meta_raft_commit_index").unwrap_or(0.0);
    prom::scrape_until(&metrics, DEADLINE, |e| {
        e.sum("chronik_meta_raft_commit_index")
            .is_some_and(|v| v > before)
            && e.sum("chronik_meta_partitions") == Some(4.0)
    });

    // Per-partition leader and ISR of the topics asked for.
    let (code, doc) = json(&[&args[..], &["--topic", "orders"]].concat());
    assert_eq!(code, 0, "{doc}");
    let parts = doc["topic_partitions"]
        .as_array()
        .expect("topic_partitions");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["topic"], "orders");
    assert_eq!(parts[1]["partition"], 1);
    assert_eq!(parts[1]["leader"], 1);
    assert_eq!(parts[1]["isr"], serde_json::json!([1]));
    let out = run_cli(&[&args[..], &["--topic", "nope"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown topic 'nope'"));
}

#[test]
fn config_show_layers_flag_env_file_and_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("meta.toml");
    std::fs::write(
        &file,
        "id = 3\ndata-dir = \"/srv/meta\"\nlisten = \"127.0.0.1:1\"\npeers = \"3=a:1\"\n",
    )
    .expect("write config");
    let out = Command::new(BIN)
        .args([
            "--output", "json", "config", "show", "--peers", "3=b:2", "--config",
        ])
        .arg(&file)
        .env("CHRONIK_LISTEN", "127.0.0.1:7")
        .output()
        .expect("run config show");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let source = |key: &str| {
        let all = doc["settings"].as_array().expect("settings");
        let s = all.iter().find(|s| s["key"] == key).expect("listed");
        (
            s["value"].clone(),
            s["source"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(source("peers"), ("3=b:2".into(), "flag".into()));
    assert_eq!(source("listen"), ("127.0.0.1:7".into(), "env".into()));
    assert_eq!(source("id"), ("3".into(), "file".into()));
    assert_eq!(source("data-dir"), ("/srv/meta".into(), "file".into()));
    assert_eq!(
        source("session-timeout-ms"),
        ("2000".into(), "default".into())
    );
    assert_eq!(source("cluster-id"), (Value::Null, "default".into()));

    for (contents, expected) in [
        (
            "id = 3\ndata-dir = \"/x\"\npeer = \"1=a:1\"\n",
            "unknown setting 'peer'",
        ),
        ("id = \"one\"\ndata-dir = \"/x\"\n", "bad value for 'id'"),
        (
            "id = 3\ndata-dir = \"/x\"\npeers = \"1=nohostport\"\n",
            "bad --peers",
        ),
    ] {
        std::fs::write(&file, contents).expect("write config");
        let out = Command::new(BIN)
            .args(["config", "show", "--config"])
            .arg(&file)
            .output()
            .expect("run config show");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{contents}: {stderr}");
        assert!(stderr.contains(expected), "{contents}: {stderr}");
    }
    // Without the file, the required settings are missing: clap says which (exit 2).
    let out = Command::new(BIN)
        .args(["config", "show"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--id"));
}
