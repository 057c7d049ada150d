//! The binary's settings: a `--config` TOML file under flags and environment, Prometheus
//! metrics on `--metrics-addr`, and bad settings refused with exit code 2.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ops::*;
use common::{BrokerProc, free_port};

fn broker_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
}

#[test]
fn the_config_file_sets_what_flags_leave_at_their_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broker.toml");
    std::fs::write(
        &file,
        "num-partitions = 4\nauto_create_topics = true\nfsync = \"never\"\nid = 7\n",
    )
    .expect("write config");
    let config = file.to_str().expect("utf-8 path");
    // The flag wins over the file's id; the file's partition count applies.
    let broker = BrokerProc::start(dir.path(), &["--config", config, "--id", "3"]);
    let mut c = broker.client();
    let md = metadata(&mut c, Some(&["auto"]), true);
    assert_eq!(
        md.topics[0].partitions.len(),
        4,
        "num-partitions from the file"
    );
    assert_eq!(md.brokers[0].node_id.0, 3, "the flag beats the file");
}

#[test]
fn bad_settings_exit_2_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "num-partitionz = 4\n").expect("write config");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--config".into(), file.display().to_string()],
            "unknown setting 'num-partitionz'",
        ),
        (
            vec![
                "--config".into(),
                dir.path().join("missing.toml").display().to_string(),
            ],
            "cannot read the config file",
        ),
        (vec!["--fsync".into(), "sometimes".into()], "fsync"),
        (
            vec!["--num-partitions".into(), "0".into()],
            "--num-partitions must be 1 or more",
        ),
        (
            vec!["--retention-ms".into(), "-5".into()],
            "--retention-ms must be -1",
        ),
        (
            vec!["--offsets-topic-segment-bytes".into(), "4095".into()],
            "--offsets-topic-segment-bytes must be between 4096 and 2147483647, got 4095",
        ),
        (
            vec!["--offsets-topic-segment-bytes".into(), "2147483648".into()],
            "--offsets-topic-segment-bytes must be between 4096",
        ),
    ];
    for (args, expected) in cases {
        let out = broker_bin()
            .args(&args)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", free_port()))
            .stdin(Stdio::null())
            .output()
            .expect("run chronik-broker");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// The body of `GET /metrics`, retried until `wanted` shows up or the deadline passes.
fn scrape_until(addr: &str, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut body = String::new();
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
            let _ = s.read_to_string(&mut body);
        }
        if body.contains(wanted) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{wanted} not in metrics:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn metrics_count_requests_per_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics = format!("127.0.0.1:{}", free_port());
    let broker = BrokerProc::start(dir.path(), &["--metrics-addr", &metrics]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "m", 1), 0);
    let body = scrape_until(
        &metrics,
        "chronik_broker_requests_total{api=\"CreateTopics\"} 1",
    );
    assert!(body.contains("chronik_broker_request_seconds"), "{body}");
    assert!(
        body.contains("chronik_meta_raft_term"),
        "the embedded quorum's gauges too"
    );
}

#[test]
fn a_second_broker_on_a_locked_data_dir_says_so_once_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = BrokerProc::start(dir.path(), &[]);
    let listen = format!("127.0.0.1:{}", free_port());
    let out = broker_bin()
        .args(["run", "--listen", &listen, "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .expect("run a second broker");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("is locked by another process").count(),
        1,
        "the failure is printed once: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
}
