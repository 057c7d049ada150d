//! Runs the real `chronik-bench` binary on tiny workloads in temporary directories.

use std::path::Path;
use std::process::{Command, Output};

use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, WalOptions};
use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chronik-bench"))
        .args(args)
        .env_remove("CHRONIK_OUTPUT")
        .env_remove("RUST_LOG")
        .output()
        .expect("run chronik-bench")
}

/// Runs and parses stdout as JSON, failing with stderr on a non-zero exit.
fn bench_json(args: &[&str]) -> Value {
    let out = bench(args);
    assert!(
        out.status.success(),
        "chronik-bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing or not a number in {v}"))
}

fn assert_ordered(latency: &Value, keys: &[&str]) {
    let values: Vec<f64> = keys.iter().map(|k| num(latency, k)).collect();
    assert!(values[0] > 0.0, "{latency}");
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "latency quantiles out of order: {latency}"
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

#[test]
fn disk_reports_write_speed_and_fsync_latency_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("disk");
    let args = ["disk", "--dir", path(&dir), "--size-mb", "8"];
    let v = bench_json(&[&args[..], &["--fsync-ops", "50", "--output", "json"]].concat());
    assert!(num(&v, "seq_write_mb_per_sec") > 0.0);
    assert!(num(&v, "fdatasyncs_per_sec") > 0.0);
    assert_eq!(num(&v, "size_mb"), 8.0);
    assert_eq!(v["dir"].as_str(), Some(path(&dir)));
    let latency = &v["fdatasync_latency_us"];
    assert_ordered(latency, &["p50", "p99", "p999", "max"]);
    assert!(num(latency, "mean") > 0.0);
    let sizes: Vec<f64> = (v["round_latency_us"].as_array().unwrap().iter())
        .map(|s| num(s, "bytes"))
        .collect();
    assert_eq!(sizes, [16384.0, 65536.0, 131072.0, 262144.0]);
    assert_ordered(
        &v["overwrite_fdatasync_latency_us"],
        &["p50", "p99", "p999", "max"],
    );
    for sized in v["round_latency_us"].as_array().unwrap() {
        assert_ordered(&sized["latency_us"], &["p50", "p99", "p999", "max"]);
        assert_ordered(
            &sized["overwrite_latency_us"],
            &["p50", "p99", "p999", "max"],
        );
    }
    assert!(
        !dir.exists(),
        "the directory this run created was left behind"
    );
}

#[test]
fn disk_leaves_an_existing_directory_as_it_found_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep"), b"x").unwrap();
    let args = ["disk", "--dir", path(tmp.path()), "--size-mb", "1"];
    let out = bench(&[&args[..], &["--fsync-ops", "5"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sequential write"));
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["keep"]);
}

/// Sums the end offsets of every partition the data dir holds: the records actually stored.
fn stored_records(dir: &Path) -> i64 {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).unwrap();
    let partitions = data.list_partitions().unwrap();
    assert_eq!(
        partitions,
        [
            TopicPartition::new("bench", 0),
            TopicPartition::new("bench", 1)
        ]
    );
    let mut total = 0;
    for tp in &partitions {
        let (log, report) = data.open_partition(tp, LogConfig::default()).unwrap();
        assert!(report.and_then(|r| r.cut).is_none(), "recovery cut {tp}");
        total += log.end_offset() - log.start_offset();
    }
    data.close().unwrap();
    total
}

#[test]
fn wal_with_group_commit_stores_exactly_what_it_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let v = bench_json(&[
        "wal",
        "--dir",
        path(&dir),
        "--records",
        "2000",
        "--fsync",
        "always",
        "--concurrency",
        "8",
        "--partitions",
        "2",
        "--batch-records",
        "1",
        "--output",
        "json",
    ]);
    let records = num(&v, "records");
    assert!(records >= 2000.0, "{v}");
    assert_eq!(num(&v, "bytes"), records * 1024.0);
    assert!(
        num(&v, "fsyncs") > 0.0 && num(&v, "fsyncs_per_sec") > 0.0,
        "{v}"
    );
    assert!(num(&v, "records_per_fsync") > 0.0, "{v}");
    assert!(num(&v, "records_per_sec") > 0.0 && num(&v, "mb_per_sec") > 0.0);
    assert_ordered(&v["latency_us"], &["p50", "p99", "p999", "max"]);
    assert_eq!(v["fsync"].as_str(), Some("always"));
    assert_eq!((num(&v, "partitions"), num(&v, "concurrency")), (2.0, 8.0));
    assert_eq!(stored_records(&dir), records as i64);
    // Ideal group commit: 8 single-record appenders, one fdatasync of 8 KiB per round.
    let g = &v["group_commit"];
    assert_eq!(num(g, "round_bytes"), 8.0 * 1024.0);
    let ideal = num(g, "ideal_records_per_sec");
    assert!(ideal > 0.0 && num(g, "round_latency_us") > 0.0, "{v}");
    let ratio = num(&v, "records_per_sec") / ideal;
    assert!((num(g, "ratio") - ratio).abs() < 0.01, "{v}");
}

#[test]
fn wal_without_fsync_runs_for_a_duration() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let v = bench_json(&[
        "wal",
        "--dir",
        path(&dir),
        "--fsync",
        "never",
        "--duration",
        "1",
        "--record-size",
        "64",
        "--output",
        "json",
    ]);
    assert!(num(&v, "records") > 0.0);
    assert!(num(&v, "seconds") >= 1.0, "{v}");
    assert_eq!(num(&v, "fsyncs"), 0.0);
    assert!(v["records_per_fsync"].is_null(), "{v}");
    assert_eq!(v["fsync"].as_str(), Some("never"));
    assert!(v["group_commit"].is_null(), "no ideal without fsync: {v}");
}

#[test]
fn a_bad_fsync_policy_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bench(&[
        "wal",
        "--dir",
        path(tmp.path()),
        "--fsync",
        "sometimes",
        "--duration",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid fsync policy 'sometimes'"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_parent_directory_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("no/such/dir");
    for args in [
        vec!["wal", "--dir", path(&dir), "--records", "10"],
        vec!["disk", "--dir", path(&dir), "--size-mb", "1"],
    ] {
        let out = bench(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("does not exist"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    assert!(!tmp.path().join("no").exists());
}

#[test]
fn a_file_where_the_directory_should_be_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let out = bench(&["wal", "--dir", path(&file), "--records", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}

#[test]
fn flags_are_checked_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    for bad in [
        vec!["wal", "--dir", path(&dir)],
        vec![
            "wal",
            "--dir",
            path(&dir),
            "--duration",
            "1",
            "--records",
            "5",
        ],
        vec!["wal", "--dir", path(&dir), "--duration", "0"],
        vec![
            "wal",
            "--dir",
            path(&dir),
            "--records",
            "5",
            "--partitions",
            "0",
        ],
        vec!["disk", "--dir", path(&dir), "--size-mb", "-1"],
    ] {
        let out = bench(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let huge = bench(&[
        "wal",
        "--dir",
        path(&dir),
        "--records",
        "1",
        "--batch-records",
        "1000",
        "--record-size",
        "1000000",
    ]);
    assert_eq!(huge.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&huge.stderr).contains("batch limit"));
    assert!(!dir.exists());
}

#[test]
fn help_teaches_with_examples() {
    for args in [
        vec!["--help"],
        vec!["wal", "--help"],
        vec!["disk", "--help"],
        vec!["compaction", "--help"],
    ] {
        let out = bench(&args);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Examples:"), "{args:?}: {text}");
    }
}

#[test]
fn compaction_cleans_in_several_passes_and_checks_every_key() {
    let tmp = tempfile::tempdir().unwrap();
    let v = bench_json(&[
        "compaction",
        "--dir",
        path(tmp.path()),
        "--bytes",
        "2MiB",
        "--keys",
        "3000",
        "--segment-bytes",
        "256K",
        "--dedupe-buffer",
        "64K",
        "--compression",
        "lz4",
        "--disk-mb",
        "2",
        "--output",
        "json",
    ]);
    let verified = &v["verified"];
    assert_eq!(verified["ok"].as_bool(), Some(true), "{v}");
    assert_eq!(num(verified, "live_keys"), num(verified, "live_keys_found"));
    assert!(num(verified, "deleted_keys") > 0.0, "{v}");
    assert_eq!(num(&v, "records_after"), num(verified, "live_keys"));
    assert!(num(&v, "records_after") < num(&v, "records_before"));
    // 64 KiB holds about 640 keys: the key map fills many times over 3,000 keys.
    assert!(num(&v, "passes") >= 5.0, "{v}");
    assert!(num(&v, "bytes_read") > num(&v, "bytes_written"), "{v}");
    assert!(num(&v, "clean_mb_per_sec") > 0.0 && num(&v, "clean_vs_disk") > 0.0);
    assert!(num(&v, "disk_seq_write_mb_per_sec") > 0.0);
    assert!(num(&v, "peak_rss_bytes") > 0.0);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "the data dir was left behind");
}

#[test]
fn compaction_refuses_bad_sizes_as_usage_errors() {
    for bad in [
        vec!["compaction", "--bytes", "12T"],
        vec!["compaction", "--value-size", "4"],
        vec!["compaction", "--keys", "0"],
        vec!["compaction", "--segment-bytes", "100"],
    ] {
        let out = bench(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
}
