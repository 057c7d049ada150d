//! A child process appends under `--fsync always` from several threads and prints each offset
//! once its append is durable; the parent SIGKILLs it at a random moment, reopens the log, and
//! checks that every reported batch is there with its exact bytes. Several rounds on one dir.
//!
//! This test binary is its own child: with `CHRONIK_SIGKILL_CHILD=DIR` it appends forever.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chronik_records::{set_base_offset, set_partition_leader_epoch};
use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, LogConfig, WalOptions};
use common::*;
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "CHRONIK_SIGKILL_CHILD";
const THREADS: u64 = 4;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024,
        ..LogConfig::default()
    }
}

/// Batch contents for a tag; the parent rebuilds them to compare.
fn tagged(tag: u64) -> Vec<u8> {
    batch(tag, 1 + (tag % 4) as usize, tag as i64)
}

fn child(dir: &Path, round: u64) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Always)).expect("child opens dir");
    let (log, _) = data
        .open_partition(&tp(), config())
        .expect("child opens log");
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0.. {
                    let tag = round * 1_000_000_000 + t * 100_000_000 + i;
                    let info = log.append(&mut tagged(tag), round as i32).expect("append");
                    info.durable.wait().expect("durable");
                    println!("{} {}", info.base_offset, tag);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// Runs one child, kills it after `kill_after` durable reports (or a deadline), returns them.
fn run_round(dir: &Path, round: u64, kill_after: usize) -> Vec<(i64, u64)> {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, dir)
        .env("CHRONIK_SIGKILL_ROUND", round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reported = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read child output");
        let (offset, tag) = line.split_once(' ').expect("offset and tag");
        reported.push((offset.parse().expect("offset"), tag.parse().expect("tag")));
        if reported.len() >= kill_after || Instant::now() > deadline {
            break;
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    assert!(
        !reported.is_empty(),
        "round {round}: the child reported nothing"
    );
    reported
}

/// Checks every batch reported durable so far, in this round and earlier ones.
fn check(dir: &Path, round: u64, reported: &[(i64, u64)]) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Always)).expect("reopen");
    let (log, report) = data.open_partition(&tp(), config()).expect("recover");
    let report = report.expect("a fresh open reports recovery");
    for (offset, tag) in reported {
        let read = log
            .read(*offset, 1)
            .unwrap_or_else(|e| panic!("round {round}: offset {offset} unreadable: {e}"));
        let mut expected = tagged(*tag);
        set_base_offset(&mut expected, *offset);
        set_partition_leader_epoch(&mut expected, (tag / 1_000_000_000) as i32);
        let got = split_batches(&read.data);
        assert_eq!(
            got.first(),
            Some(&expected),
            "round {round}: durable batch at {offset} (tag {tag}) lost or changed; {report:?}"
        );
    }
    println!(
        "round {round}: {} durable batches intact; recovery cut {:?} bytes",
        reported.len(),
        report.cut.map(|c| c.bytes)
    );
    data.close().expect("close");
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var("CHRONIK_SIGKILL_ROUND")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        child(Path::new(&dir), round);
        return;
    }
    let seed: u64 = std::env::var("CHRONIK_SIGKILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("sigkill test seed {seed} (rerun with CHRONIK_SIGKILL_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut all_reported = Vec::new();
    for round in 1..=4 {
        all_reported.extend(run_round(dir.path(), round, rng.random_range(50..1500)));
        check(dir.path(), round, &all_reported);
    }
    println!("{} durable batches survived 4 SIGKILLs", all_reported.len());
}
