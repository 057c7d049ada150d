//! Transactions as `stats` counts them, `verify` checks the aborted-transaction index against
//! the segments, and `recover` rebuilds an index that disagrees.

mod common;

use std::path::{Path, PathBuf};

use chronik_records::{TxnMarker, build_marker_batch, build_transactional_batch};
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, WalOptions};
use common::*;

fn payments() -> TopicPartition {
    TopicPartition::new("payments", 0)
}

fn txn_data(pid: i64) -> Vec<u8> {
    build_transactional_batch(&[b"pay"], T0, pid)
}

fn marker(pid: i64, commit: bool) -> Vec<u8> {
    let m = TxnMarker {
        commit,
        coordinator_epoch: 0,
    };
    build_marker_batch(pid, 0, m, T0)
}

/// payments-0: producer 5 aborts a transaction of two batches, producer 6 commits one,
/// producer 7's is still open.
fn transactional_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).expect("open dir");
    let (log, _) = (data.open_partition(&payments(), LogConfig::default())).expect("payments-0");
    let batches = [
        txn_data(5),
        txn_data(6),
        txn_data(5),
        marker(6, true),
        marker(5, false),
        txn_data(7),
    ];
    for mut b in batches {
        log.append(&mut b, 0).expect("append");
    }
    data.close().expect("close");
    dir
}

fn index_file(dir: &Path) -> PathBuf {
    segments(dir, &payments())[0].with_extension("index")
}

/// Points the last aborted transaction the index keeps (the entries end the file, before its
/// CRC) at another first offset, keeping the CRC valid.
fn falsify_last_abort(file: &Path) {
    let mut bytes = std::fs::read(file).expect("read index");
    let body = bytes.len() - 4;
    bytes[body - 16..body - 8].copy_from_slice(&1i64.to_be_bytes());
    let crc = crc32fast::hash(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(file, bytes).expect("write index");
}

#[test]
fn stats_counts_aborted_and_open_transactions() {
    let dir = transactional_dir();
    let run = walctl_on("stats", dir.path(), &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = &run.json()[0];
    assert_eq!(
        (&row["aborted_transactions"], &row["open_transactions"]),
        (&serde_json::json!(1), &serde_json::json!(1))
    );
    let table = walctl_on("stats", dir.path(), &[]);
    assert!(
        table.stdout.contains("aborted transactions"),
        "{}",
        table.stdout
    );
}

#[test]
fn verify_names_an_index_that_disagrees_and_recover_rebuilds_it() {
    let dir = transactional_dir();
    assert_eq!(walctl_on("verify", dir.path(), &[]).code, 0);
    let file = index_file(dir.path());
    falsify_last_abort(&file);

    let run = walctl_on("verify", dir.path(), &["--output", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let corruptions = run.json()["corruptions"].as_array().unwrap().clone();
    assert_eq!(corruptions.len(), 1, "{corruptions:?}");
    let named = corruptions[0]["file"].as_str().unwrap();
    assert!(named.ends_with(".index"), "{named}");
    let reason = corruptions[0]["reason"].as_str().unwrap();
    assert!(reason.contains("recover"), "{reason}");

    let recover = walctl_on("recover", dir.path(), &[]);
    assert_eq!(recover.code, 0, "{}", recover.stderr);
    assert_eq!(walctl_on("verify", dir.path(), &[]).code, 0);
}
