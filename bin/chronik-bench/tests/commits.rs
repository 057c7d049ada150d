//! `chronik-bench commits` against a real broker: memberless groups commit, the offsets come
//! back, and after a restart `--fetch-only` waits for the coordinator to load them again.

mod support;

use serde_json::Value;
use support::{Broker, bench_command};

fn run_json(args: &[&str]) -> Value {
    let out = bench_command(args).output().expect("run chronik-bench");
    assert!(
        out.status.success(),
        "chronik-bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

#[test]
fn commits_are_fetched_back_before_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), "never");
    let addr = broker.addr();
    let base = [
        "commits",
        "--bootstrap",
        addr.as_str(),
        "--topic",
        "c",
        "--groups",
        "3",
        "--commits",
        "1000",
        "--output",
        "json",
    ];
    let v = run_json(&[&base[..], &["--create", "--partitions", "4"]].concat());
    // 1,000 rounded up to whole rounds of 3 groups × 4 partitions: 84 rounds per group.
    assert_eq!(v["commits"], 1008, "{v}");
    assert_eq!(v["requests"], 252, "{v}");
    assert_eq!(
        (v["offsets_checked"].as_u64(), v["verified"].as_bool()),
        (Some(12), Some(true))
    );
    assert!(v["commits_per_sec"].as_f64().unwrap() > 0.0, "{v}");

    let port = broker.port;
    broker.kill9();
    let _broker = Broker::start_on(dir.path(), "never", port);
    let f = run_json(&[&base[..], &["--fetch-only"]].concat());
    assert_eq!(f["mode"], "fetch", "{f}");
    assert_eq!(f["verified"], true, "{f}");
    assert!(f["fetch_attempts"].as_u64().unwrap() >= 1, "{f}");

    // Other flags than the run's mean other offsets: never answered, so a clear failure.
    let out = bench_command(
        &[
            &base[..5],
            &[
                "--groups",
                "3",
                "--commits",
                "5000",
                "--fetch-only",
                "--timeout-ms",
                "500",
            ],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not answered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
