//! `list --remote-storage`: a partition's segments in the remote tier beside its local ones.

mod common;

use chronik_tiered::{
    EpochStart, RemoteLocation, RemoteOptions, RemoteSegmentId, RemoteStore, SegmentUpload,
};
use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, LogConfig, TOPIC_ID_FILE, WalOptions, index_file_name};
use common::*;
use serde_json::Value;

const TOPIC_ID: &str = "0b8c5e1f-6f1c-4a2e-9d3b-2a7c1e5f4d3c";

/// Uploads every segment of orders-0 but the last to a directory tier; returns how many and
/// their bytes and offsets.
fn upload_orders0(data_dir: &std::path::Path, remote: &std::path::Path) -> (usize, u64, i64) {
    let data = DataDir::open(data_dir, WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, _) = data
        .open_partition_with(&orders0(), LogConfig::default(), Default::default())
        .unwrap();
    let segments = log.segments();
    log.close().unwrap();
    data.close().unwrap();
    let sealed = &segments[..segments.len() - 1];
    let location = RemoteLocation::parse(&format!("file://{}", remote.display())).unwrap();
    let store = RemoteStore::open(&location, &RemoteOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (i, s) in sealed.iter().enumerate() {
        let index = s.path.with_file_name(index_file_name(s.base_offset));
        let upload = SegmentUpload {
            id: RemoteSegmentId {
                topic: "orders".into(),
                partition: 0,
                topic_id: TOPIC_ID.into(),
                base_offset: s.base_offset,
                upload_id: i as u64,
            },
            segment_path: &s.path,
            segment_bytes: s.bytes,
            index_path: &index,
            next_offset: s.next_offset,
            max_timestamp: s.max_timestamp,
            leader_epochs: vec![EpochStart {
                epoch: 3,
                start_offset: 0,
            }],
            producer_snapshot: None,
        };
        runtime.block_on(store.upload_segment(upload)).unwrap();
    }
    let bytes = sealed.iter().map(|s| s.bytes).sum();
    (sealed.len(), bytes, sealed[sealed.len() - 1].next_offset)
}

fn row<'a>(rows: &'a Value, topic: &str, partition: i64) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["topic"] == topic && r["partition"] == partition)
        .unwrap()
}

#[test]
fn list_shows_the_remote_segments_of_each_partition() {
    let dir = fixture();
    let remote = tempfile::tempdir().unwrap();
    let (count, bytes, end) = upload_orders0(dir.path(), remote.path());
    assert!(count >= 1, "orders-0 has sealed segments to upload");
    let orders0_dir = dir.path().join("partitions/orders-0");
    std::fs::write(orders0_dir.join(TOPIC_ID_FILE), format!("{TOPIC_ID}\n")).unwrap();
    std::fs::write(
        dir.path().join("partitions/orders-1").join(TOPIC_ID_FILE),
        "other-id\n",
    )
    .unwrap();
    let url = format!("file://{}", remote.path().display());

    let run = walctl_on(
        "list",
        dir.path(),
        &["--remote-storage", &url, "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.json();
    let orders = &row(&rows, "orders", 0)["remote"];
    assert_eq!(orders["topic_id"], TOPIC_ID);
    assert_eq!(orders["segments"], count as u64);
    assert_eq!(orders["bytes"], bytes);
    assert_eq!(orders["start_offset"], 0);
    assert_eq!(orders["end_offset"], end);
    assert!(orders.get("segment_details").is_none());
    assert_eq!(row(&rows, "orders", 1)["remote"]["segments"], 0);
    assert_eq!(row(&rows, "events", 0)["remote"]["topic_id"], Value::Null);
    assert!(row(&rows, "events", 0).get("segment_details").is_none());

    let run = walctl_on(
        "list",
        dir.path(),
        &["--remote-storage", &url, "--segments", "--output", "json"],
    );
    let details = row(&run.json(), "orders", 0)["remote"]["segment_details"].clone();
    let details = details.as_array().unwrap();
    assert_eq!(details.len(), count);
    assert_eq!(details[0]["base_offset"], 0);
    let first_key = details[0]["key"].as_str().unwrap();
    assert!(remote.path().join(first_key).is_file(), "{first_key}");

    let table = walctl_on(
        "list",
        dir.path(),
        &["--remote-storage", &url, "--segments"],
    );
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert_eq!(
        table.stdout.matches("remote:orders-0/").count(),
        count,
        "{}",
        table.stdout
    );
    let table = walctl_on("list", dir.path(), &["--remote-storage", &url]);
    assert!(table.stdout.contains("remote segments"), "{}", table.stdout);
    assert!(
        table.stdout.contains(&format!("0..{end}")),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("unknown (no topic.id)"),
        "{}",
        table.stdout
    );

    let plain = walctl_on("list", dir.path(), &["--output", "json"]).json();
    assert!(row(&plain, "orders", 0).get("remote").is_none());
}

#[test]
fn a_bad_remote_location_is_a_clear_error() {
    let dir = fixture();
    for (url, says) in [
        ("ftp://host/x", "unknown scheme"),
        ("file://relative", "absolute path"),
        ("s3://A", "bucket name"),
    ] {
        let run = walctl_on("list", dir.path(), &["--remote-storage", url]);
        assert_eq!(run.code, 2, "{url}: {}", run.stdout);
        assert!(run.stderr.contains(says), "{url}: {}", run.stderr);
    }
}
