//! `verify` and `recover` on a data dir where a crash interrupted a segment swap (a log
//! cleaner's rewrite): verify names it without calling it corruption, recover finishes it.

mod common;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chronik_records::validate_batch;
use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, LogConfig, Syncer, WalError, WalOptions};
use common::*;
use serde_json::Value;

/// Fails the first directory fsync once armed: a swap then stops right after its decision.
#[derive(Default)]
struct FailDirSync {
    armed: AtomicBool,
}

impl Syncer for FailDirSync {
    fn sync(&self, file: &File) -> std::io::Result<()> {
        if file.metadata()?.is_dir() && self.armed.swap(false, Ordering::SeqCst) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        file.sync_data()
    }
}

/// Grows orders-0 to several segments, rewrites its first two keeping the batches at even
/// offsets, and stops the swap after its decision (as a crash there would) or, when `decide`
/// is false, before it. Returns the base offsets orders-0 holds once the swap is finished.
fn interrupt_a_swap(dir: &Path, decide: bool) -> Vec<i64> {
    let syncer = Arc::new(FailDirSync::default());
    let options = WalOptions {
        fsync: FsyncPolicy::Never,
        syncer: syncer.clone(),
    };
    // A walctl child that another test forks holds the fixture's lock fd until it execs.
    let data =
        chronik_test_support::eventually("the fixture's lock", Duration::from_secs(10), || {
            DataDir::open(dir, options.clone()).ok()
        });
    let small = LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    let (log, _) = data.open_partition(&orders0(), small).unwrap();
    for i in 0..12 {
        let value = format!("more-{i}");
        let mut batch = chronik_records::build_batch(&[value.as_bytes()], T0 + 20_000 + i);
        log.append(&mut batch, 3).unwrap();
    }
    let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
    assert!(bases.len() >= 4, "{bases:?}");
    let mut rewrite = log.begin_rewrite(&bases[..2]).unwrap();
    let mut kept = Vec::new();
    for base in &bases[..2] {
        for stored in log.segment_batches(*base).unwrap() {
            let stored = stored.unwrap();
            if stored.meta.base_offset % 4 == 0 {
                let header = validate_batch(&stored.batch).unwrap();
                rewrite.append(&stored.batch, &header).unwrap();
                kept.push(stored.meta.base_offset);
            }
        }
    }
    let later = dumped_after(&log, bases[2]);
    if decide {
        syncer.armed.store(true, Ordering::SeqCst);
        let failed = log.swap_in(rewrite);
        assert!(
            matches!(failed, Err(WalError::SwapInterrupted { .. })),
            "{failed:?}"
        );
    } else {
        // A crash while the cleaned file is written: nothing more happens to it.
        std::mem::forget(rewrite);
    }
    drop(log);
    drop(data);
    [kept, later].concat()
}

/// Base offsets of the batches from `from` on.
fn dumped_after(log: &chronik_wal::PartitionLog, from: i64) -> Vec<i64> {
    let read = log.read(from, usize::MAX).unwrap();
    let mut rest = &read.data[..];
    let mut bases = Vec::new();
    while !rest.is_empty() {
        let header = chronik_records::BatchHeader::parse(rest).unwrap();
        bases.push(header.base_offset);
        rest = &rest[header.total_len()..];
    }
    bases
}

fn swaps_of(json: &Value) -> Vec<Value> {
    json["interrupted_swaps"].as_array().unwrap().clone()
}

fn orders0_outcome(json: &Value) -> Value {
    (json["partitions"].as_array().unwrap().iter())
        .find(|p| p["topic"] == "orders" && p["partition"] == 0)
        .unwrap()
        .clone()
}

fn dumped_bases(dir: &Path) -> Vec<i64> {
    (dumped_batches(dir, &orders0()).iter())
        .map(|b| b["base_offset"].as_i64().unwrap())
        .collect()
}

#[test]
fn verify_reports_a_decided_swap_and_recover_completes_it() {
    let dir = fixture();
    let expected = interrupt_a_swap(dir.path(), true);

    let run = walctl_on("verify", dir.path(), &["-o", "json"]);
    assert_eq!(
        run.code, 0,
        "an interrupted swap is not corruption: {}",
        run.stdout
    );
    let json = run.json();
    assert_eq!(json["clean"], true);
    let swaps = swaps_of(&json);
    assert_eq!(swaps.len(), 1, "{json}");
    assert_eq!(
        (swaps[0]["topic"].as_str(), swaps[0]["state"].as_str()),
        (Some("orders"), Some("decided"))
    );
    assert!(
        swaps[0]["file"].as_str().unwrap().ends_with(".swap"),
        "{swaps:?}"
    );
    assert_eq!(swaps[0]["replaced_segments"].as_array().unwrap().len(), 2);
    let table = walctl_on("verify", dir.path(), &[]);
    eprintln!("SHOW verify:\n{}", table.stdout);
    eprintln!(
        "SHOW recover:\n{}",
        walctl_on("recover", dir.path(), &["--dry-run"]).stdout
    );
    assert_eq!(table.code, 0);
    for words in [
        "INTERRUPTED SWAP",
        "not corruption",
        "chronik-walctl recover",
        "complete",
    ] {
        assert!(table.stdout.contains(words), "{words}: {}", table.stdout);
    }

    let before = snapshot(dir.path());
    let dry = walctl_on("recover", dir.path(), &["--dry-run", "-o", "json"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(snapshot(dir.path()), before, "a dry run changed files");
    assert_eq!(swaps_of(&orders0_outcome(&dry.json())).len(), 1);
    let dry_table = walctl_on("recover", dir.path(), &["--dry-run"]);
    assert!(
        dry_table.stdout.contains("would complete 1"),
        "{}",
        dry_table.stdout
    );

    let run = walctl_on("recover", dir.path(), &["-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(orders0_outcome(&run.json())["cut"], Value::Null);
    assert_eq!(swaps_of(&orders0_outcome(&run.json())).len(), 1);
    assert_eq!(
        dumped_bases(dir.path()),
        expected,
        "the log is the swap's after state"
    );
    let verify = walctl_on("verify", dir.path(), &["-o", "json"]).json();
    assert_eq!(
        (verify["clean"].as_bool(), swaps_of(&verify).len()),
        (Some(true), 0)
    );
    let again = walctl_on("recover", dir.path(), &[]);
    assert!(
        !again.stdout.contains("swap"),
        "nothing left to finish: {}",
        again.stdout
    );
}

#[test]
fn verify_reports_an_undecided_rewrite_and_recover_discards_it() {
    let dir = fixture();
    let untouched = dumped_bases(dir.path());
    interrupt_a_swap(dir.path(), false);
    let with_more = dumped_bases(dir.path());
    assert!(with_more.starts_with(&untouched));

    let json = walctl_on("verify", dir.path(), &["-o", "json"]).json();
    let swaps = swaps_of(&json);
    assert_eq!(
        (json["clean"].as_bool(), swaps.len()),
        (Some(true), 1),
        "{json}"
    );
    assert_eq!(swaps[0]["state"], "undecided");
    assert!(swaps[0]["on_open"].as_str().unwrap().starts_with("discard"));

    let run = walctl_on("recover", dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("discarded 1"), "{}", run.stdout);
    assert_eq!(
        dumped_bases(dir.path()),
        with_more,
        "the log is as before the rewrite"
    );
    let verify = walctl_on("verify", dir.path(), &["-o", "json"]).json();
    assert_eq!(swaps_of(&verify).len(), 0);
}
