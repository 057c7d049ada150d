//! `verify` and `recover` on clean and damaged data dirs, and `recover`'s respect for the lock.

mod common;

use std::path::{Path, PathBuf};

use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, WalOptions};
use common::*;
use serde_json::Value;

/// Flips one byte in the middle of orders-0's first segment; returns the file and the position
/// of the frame that holds the byte.
fn flip_mid_segment(dir: &Path) -> (PathBuf, u64) {
    let batches = dumped_batches(dir, &orders0());
    let file = segments(dir, &orders0())[0].clone();
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let frame = batches
        .iter()
        .filter(|b| b["file"].as_str() == Some(&*file.to_string_lossy()))
        .map(|b| b["position"].as_u64().unwrap())
        .filter(|p| *p <= at as u64)
        .max()
        .unwrap();
    (file, frame)
}

/// Cuts orders-0's last segment 20 bytes into its last frame; returns the file, the frame's
/// position and the frame's base offset.
fn truncate_last_frame(dir: &Path) -> (PathBuf, u64, i64) {
    let batches = dumped_batches(dir, &orders0());
    let last = batches.last().unwrap();
    let file = PathBuf::from(last["file"].as_str().unwrap());
    let position = last["position"].as_u64().unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(position + 20).unwrap();
    (file, position, last["base_offset"].as_i64().unwrap())
}

fn corruptions(run: &Run) -> Vec<Value> {
    run.json()["corruptions"].as_array().unwrap().clone()
}

#[test]
fn verify_passes_a_clean_dir() {
    let dir = fixture();
    let run = walctl_on("verify", dir.path(), &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(
        (json["clean"].as_bool(), json["partitions_checked"].as_u64()),
        (Some(true), Some(3))
    );
    assert_eq!(json["corruptions"], serde_json::json!([]));
    let table = walctl_on("verify", dir.path(), &[]);
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("clean"), "{}", table.stdout);
}

#[test]
fn verify_names_a_flipped_byte() {
    let dir = fixture();
    let (file, frame) = flip_mid_segment(dir.path());
    let run = walctl_on("verify", dir.path(), &["--output", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["clean"], false);
    let found = corruptions(&run);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0]["topic"].as_str(), found[0]["partition"].as_i64()),
        (Some("orders"), Some(0))
    );
    assert_eq!(found[0]["file"], *file.to_string_lossy());
    assert_eq!(found[0]["position"], frame);
    assert!(found[0]["offset"].is_i64());
    let table = walctl_on("verify", dir.path(), &[]);
    assert_eq!(table.code, 1);
    assert!(table.stdout.contains("CORRUPT"), "{}", table.stdout);
    assert!(
        table.stdout.contains(&frame.to_string()),
        "{}",
        table.stdout
    );
}

#[test]
fn verify_names_a_torn_frame() {
    let dir = fixture();
    let (file, position, offset) = truncate_last_frame(dir.path());
    let run = walctl_on("verify", dir.path(), &["-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = corruptions(&run);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["file"], *file.to_string_lossy());
    assert_eq!(
        (found[0]["position"].as_u64(), found[0]["offset"].as_i64()),
        (Some(position), Some(offset))
    );
    assert!(
        found[0]["reason"].as_str().unwrap().contains("torn"),
        "{found:?}"
    );
}

#[test]
fn recover_dry_run_reports_the_cut_and_changes_nothing() {
    let dir = fixture();
    let (file, position, offset) = truncate_last_frame(dir.path());
    let before = snapshot(dir.path());
    let run = walctl_on("recover", dir.path(), &["--dry-run", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(snapshot(dir.path()), before, "a dry run changed files");
    let json = run.json();
    assert_eq!(json["dry_run"], true);
    let parts = json["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    for p in parts {
        let damaged = p["topic"] == "orders" && p["partition"] == 0;
        assert_eq!(!p["cut"].is_null(), damaged, "{p}");
    }
    let o0 = parts
        .iter()
        .find(|p| p["topic"] == "orders" && p["partition"] == 0)
        .unwrap();
    assert_eq!(o0["end_offset"], offset);
    let cut = &o0["cut"];
    assert_eq!(cut["file"], *file.to_string_lossy());
    assert_eq!(
        (cut["position"].as_u64(), cut["bytes"].as_u64()),
        (Some(position), Some(20))
    );
    assert_eq!(cut["segments_removed"], serde_json::json!([]));
    let table = walctl_on("recover", dir.path(), &["--dry-run"]);
    assert!(table.stdout.contains("would be cut"), "{}", table.stdout);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn recover_cuts_the_damage_and_verify_is_clean_after() {
    let dir = fixture();
    let (file, frame) = flip_mid_segment(dir.path());
    let later = segments(dir.path(), &orders0())[1..].to_vec();
    let planned = walctl_on("recover", dir.path(), &["--dry-run", "-o", "json"]).json();
    let run = walctl_on("recover", dir.path(), &["-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["dry_run"], false);
    assert_eq!(
        json["partitions"], planned["partitions"],
        "recovery did other than planned"
    );
    let o0 = json["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["topic"] == "orders" && p["partition"] == 0)
        .unwrap();
    let cut = &o0["cut"];
    assert_eq!(
        (cut["file"].as_str(), cut["position"].as_u64()),
        (Some(&*file.to_string_lossy()), Some(frame))
    );
    let removed: Vec<PathBuf> = cut["segments_removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    assert_eq!(removed, later);
    assert!(
        later.iter().all(|p| !p.exists()),
        "later segments still exist"
    );
    assert_eq!(std::fs::metadata(&file).unwrap().len(), frame);

    let verify = walctl_on("verify", dir.path(), &[]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    let again = walctl_on("recover", dir.path(), &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("nothing had to be cut"),
        "{}",
        again.stdout
    );
}

#[test]
fn recover_refuses_a_locked_dir() {
    let dir = fixture();
    // Another test thread forking a child at the moment the fixture held the lock leaves a
    // copy of its descriptor in that child until it execs: the lock frees a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let held = loop {
        match DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)) {
            Ok(held) => break held,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("lock still held ({e}); retrying");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("cannot lock the fixture dir: {e}"),
        }
    };
    let run = walctl_on("recover", dir.path(), &[]);
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("lock"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        run.stderr
    );
    drop(held);
}
