//! `chronik-bench meta` against a real single-voter meta node serving gRPC on a loopback port
//! (started in this test process with the same code `chronik-meta run` uses).

use std::process::Command;
use std::time::Duration;

use chronik_metadata::node::{MetaNode, NodeConfig};
use serde_json::Value;

#[test]
fn meta_bench_commits_proposals_and_reports_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listen = "127.0.0.1:0".parse().expect("loopback address");
    let node = runtime
        .block_on(MetaNode::start(NodeConfig::new(
            1,
            listen,
            dir.path().join("meta"),
        )))
        .expect("start a single-voter meta node");
    let address = node.local_addr().to_string();
    // The runtime keeps serving while the benchmark process runs. Two runs back to back: the
    // second must not collide with the first one's still-live broker session.
    let bench = || {
        Command::new(env!("CARGO_BIN_EXE_chronik-bench"))
            .args(["meta", "--meta", &address, "--concurrency", "8"])
            .args(["--proposals", "200", "--output", "json"])
            .env_remove("CHRONIK_OUTPUT")
            .env_remove("RUST_LOG")
            .output()
            .expect("run chronik-bench meta")
    };
    let first = bench();
    let out = bench();
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), node.shutdown())
            .await
            .expect("the node stops");
    });
    for run in [&first, &out] {
        assert!(
            run.status.success(),
            "chronik-bench meta failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(doc["proposals"], 200, "{doc}");
    assert_eq!(doc["errors"], 0, "{doc}");
    assert!(doc["seconds"].as_f64().is_some_and(|s| s > 0.0), "{doc}");
    assert!(
        doc["proposals_per_sec"].as_f64().is_some_and(|r| r > 0.0),
        "{doc}"
    );
    let latency = &doc["latency_ms"];
    let q = |key: &str| {
        latency[key]
            .as_f64()
            .unwrap_or_else(|| panic!("latency_ms.{key} missing in {doc}"))
    };
    assert!(
        q("p50") > 0.0 && q("p50") <= q("p99") && q("p99") <= q("p999") && q("p999") <= q("max")
    );
}

#[test]
fn meta_bench_without_a_quorum_fails_cleanly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_chronik-bench"))
        .args([
            "meta",
            "--meta",
            &format!("127.0.0.1:{port}"),
            "--proposals",
            "1",
        ])
        .env_remove("RUST_LOG")
        .output()
        .expect("run chronik-bench meta");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot register benchmark broker"),
        "{stderr}"
    );
}
