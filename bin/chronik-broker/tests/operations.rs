//! Operating the broker: Prometheus metrics under load, `config show` with every source of a
//! setting, and `status` against a live and an unreachable cluster.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use chronik_records::build_batch;
use common::ops::*;
use common::prom::{Exposition, parse, scrape_until};
use common::{BrokerProc, free_port};

const DEADLINE: Duration = Duration::from_secs(20);

fn broker_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chronik-broker"));
    c.stdin(Stdio::null()).env_remove("CHRONIK_OUTPUT");
    c
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as i64)
}

fn value(e: &Exposition, series: &str) -> f64 {
    e.samples.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_parse_and_counters_increase_under_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics = format!("127.0.0.1:{}", free_port());
    let broker = BrokerProc::start(dir.path(), &["--metrics-addr", &metrics]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "load", 1), 0);
    let mut next = 0;
    let mut load = |c: &mut common::Client| {
        for _ in 0..20 {
            let p = produce(c, "load", 0, build_batch(&[b"hello", b"world"], now_ms()));
            assert_eq!(p.error_code, 0);
        }
        let data = fetch(c, "load", 0, next, 100);
        assert_eq!(data.error_code, 0);
        next = data.high_watermark;
    };
    load(&mut c);
    let beyond = fetch(&mut c, "load", 0, 1_000_000, 0);
    assert_eq!(beyond.error_code, 1, "OFFSET_OUT_OF_RANGE");
    let produced = "chronik_broker_requests_total{api=\"Produce\"}";
    let bytes_in = "chronik_broker_topic_bytes_in_total{topic=\"load\"}";
    let end = "chronik_broker_log_end_offset{topic=\"load\",partition=\"0\"}";
    let families = [
        "chronik_broker_requests_total",
        "chronik_broker_request_seconds_count",
        "chronik_broker_request_seconds_bucket",
        "chronik_broker_high_watermark",
        "chronik_broker_bytes_in_total",
        "chronik_broker_bytes_out_total",
        "chronik_broker_topic_bytes_in_total",
        "chronik_broker_topic_bytes_out_total",
        "chronik_broker_log_end_offset",
        "chronik_broker_log_size_bytes",
        "chronik_broker_replica_max_lag",
        "chronik_broker_data_dir_available_bytes",
        "chronik_broker_data_dir_total_bytes",
        "chronik_broker_consumer_groups",
        "chronik_wal_fsyncs_total",
        "chronik_wal_flush_rounds_total",
        "chronik_wal_flushed_appends_total",
        "chronik_wal_fsync_seconds",
        "chronik_wal_group_commit_appends",
        "chronik_meta_raft_term",
        "chronik_meta_raft_commit_index",
    ];
    let first = scrape_until(&metrics, DEADLINE, |e| value(e, end) >= 40.0);
    for family in families {
        assert!(
            first.sum(family).is_some(),
            "{family} missing: {:?}",
            first.samples.keys()
        );
    }
    assert_eq!(first.types["chronik_broker_requests_total"], "counter");
    assert_eq!(first.types["chronik_broker_request_seconds"], "histogram");
    assert_eq!(first.types["chronik_wal_fsyncs_total"], "counter");
    assert!(value(&first, bytes_in) > 0.0);
    let lag = "chronik_broker_replica_max_lag{topic=\"load\",partition=\"0\"}";
    assert_eq!(
        value(&first, lag),
        0.0,
        "a sole replica has no follower to lag"
    );
    let total = value(&first, "chronik_broker_data_dir_total_bytes");
    let available = value(&first, "chronik_broker_data_dir_available_bytes");
    assert!(total > 0.0 && available <= total, "{available} of {total}");
    let errors = "chronik_broker_request_errors_total{api=\"Fetch\",error=\"OFFSET_OUT_OF_RANGE\"}";
    assert_eq!(value(&first, errors), 1.0, "{:?}", first.samples.keys());

    load(&mut c);
    let second = scrape_until(&metrics, DEADLINE, |e| value(e, end) >= 80.0);
    for series in [produced, bytes_in, "chronik_wal_fsyncs_total"] {
        assert!(
            value(&second, series) > value(&first, series),
            "{series} did not increase"
        );
    }
    let out = "chronik_broker_topic_bytes_out_total{topic=\"load\"}";
    assert!(
        value(&second, out) > value(&first, out),
        "{out} did not increase"
    );
}

#[test]
fn config_show_names_the_source_of_every_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broker.toml");
    std::fs::write(
        &file,
        "fsync = \"never\"\nnum-partitions = 3\nid = 9\nlisten = \"127.0.0.1:1\"\n",
    )
    .expect("write config");
    let out = broker_bin()
        .args([
            "config",
            "show",
            "--output",
            "json",
            "--listen",
            "127.0.0.1:2",
            "--config",
        ])
        .arg(&file)
        .env("CHRONIK_ID", "5")
        .env("CHRONIK_NUM_PARTITIONS", "4")
        .output()
        .expect("run config show");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shown["config_file"], file.display().to_string());
    let setting = |key: &str| {
        let all = shown["settings"].as_array().expect("settings array");
        let s = all
            .iter()
            .find(|s| s["key"] == key)
            .expect("setting listed");
        (
            s["value"].as_str().map(str::to_owned),
            s["source"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(
        setting("listen"),
        (Some("127.0.0.1:2".into()), "flag".into())
    );
    assert_eq!(setting("id"), (Some("5".into()), "env".into()));
    assert_eq!(setting("num-partitions"), (Some("4".into()), "env".into()));
    assert_eq!(setting("fsync"), (Some("never".into()), "file".into()));
    assert_eq!(
        setting("data-dir"),
        (Some("./chronik-data".into()), "default".into())
    );
    assert_eq!(setting("advertise"), (None, "default".into()));

    let table = broker_bin()
        .args(["config", "show"])
        .output()
        .expect("run config show");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("retention-ms") && text.contains("default"),
        "{text}"
    );

    for (contents, expected) in [
        ("num-partitionz = 4\n", "unknown setting 'num-partitionz'"),
        ("fsync = \"sometimes\"\n", "bad value for 'fsync'"),
        ("num-partitions = 0\n", "--num-partitions must be 1 or more"),
    ] {
        std::fs::write(&file, contents).expect("write config");
        let out = broker_bin()
            .args(["config", "show", "--config"])
            .arg(&file)
            .output()
            .expect("run config show");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{contents}: {stderr}");
        assert!(stderr.contains(expected), "{contents}: {stderr}");
    }
}

#[test]
fn status_reads_a_cluster_and_reports_unreachable_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "st", 2), 0);
    let out = broker_bin()
        .args([
            "status",
            "--output",
            "json",
            "--bootstrap",
            &broker.addr.to_string(),
        ])
        .output()
        .expect("run status");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(status["healthy"], true);
    assert_eq!(status["under_replicated_partitions"], 0);
    assert_eq!(status["offline_partitions"], 0);
    assert_eq!(status["brokers"][0]["id"], 1);
    assert_eq!(status["brokers"][0]["port"], broker.addr.port());
    let topics = status["topics"].as_array().expect("topics");
    let st = topics
        .iter()
        .find(|t| t["name"] == "st")
        .expect("topic st listed");
    let parts = st["partitions"].as_array().expect("partitions");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1]["partition"], 1);
    assert_eq!(parts[1]["leader"], 1);
    assert_eq!(parts[1]["isr"], serde_json::json!([1]));
    assert_eq!(parts[1]["state"], "ok");

    let table = broker_bin()
        .args([
            "status",
            "--topic",
            "st",
            "--bootstrap",
            &broker.addr.to_string(),
        ])
        .output()
        .expect("run status");
    let text = String::from_utf8_lossy(&table.stdout);
    assert_eq!(table.status.code(), Some(0), "{text}");
    assert!(text.contains("healthy") && text.contains("st"), "{text}");

    let nobody = format!("127.0.0.1:{}", free_port());
    let out = broker_bin()
        .args(["status", "--timeout-ms", "2000", "--bootstrap", &nobody])
        .output()
        .expect("run status");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&nobody), "{stderr}");
}

#[test]
fn the_parser_accepts_good_text_and_refuses_junk() {
    let good = "# HELP x_total help\n# TYPE x_total counter\nx_total{api=\"Produce\",b=\"q\\\"x\"} 3\ny 1.5e3\nz_bucket{le=\"+Inf\"} 2\n";
    let parsed = parse(good).expect("valid");
    assert_eq!(parsed.sum("x_total"), Some(3.0));
    assert_eq!(parsed.types["x_total"], "counter");
    for bad in [
        "x_total{api=\"a\" 3\n",
        "x_total three\n",
        "9x 1\n",
        "# TYPE x nonsense\n",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}
