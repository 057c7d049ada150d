//! A child process appends under `--fsync always`, printing each offset once durable, while a
//! cleaner thread rewrites random runs of sealed segments (dropping, shrinking and keeping
//! batches by offset) and swaps them in. The parent SIGKILLs it at a random moment, reopens the
//! log and checks every durable batch: kept ones read back exactly, shrunk ones as the original
//! or its shrunk copy, dropped ones as the original or not at all. Several rounds on one dir.
//!
//! This test binary is its own child: with `CHRONIK_SWAP_CHILD=DIR` it appends and cleans.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chronik_records::{set_base_offset, set_partition_leader_epoch};
use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, LogConfig, PartitionLog, SwapOutcome, WalOptions};
use common::cleaner::{
    Fate, assert_every_offset_reads_right, clean, every_third, fate_by_offset, shrunk, view,
};
use common::*;
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "CHRONIK_SWAP_CHILD";
const ROUND_ENV: &str = "CHRONIK_SWAP_ROUND";
const SEED_ENV: &str = "CHRONIK_SIGKILL_SWAP_SEED";
const ROUNDS: u64 = 5;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 8 * 1024,
        ..LogConfig::default()
    }
}

/// Batch contents for a tag; the parent rebuilds them to compare.
fn tagged(tag: u64) -> Vec<u8> {
    batch(tag, 1 + (tag % 4) as usize, tag as i64)
}

fn child(dir: &Path, round: u64, seed: u64) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Always)).expect("child opens dir");
    let (log, _) = (data.open_partition(&tp(), config())).expect("child opens log");
    for t in 0..2u64 {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0.. {
                let tag = round * 1_000_000_000 + t * 100_000_000 + i;
                let info = log.append(&mut tagged(tag), round as i32).expect("append");
                info.durable.wait().expect("durable");
                println!("A {} {}", info.base_offset, tag);
            }
        });
    }
    // Until the parent kills this process.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ round);
    loop {
        clean_some(&log, &mut rng);
    }
}

/// Rewrites a random run of two or three sealed segments, if there are enough.
fn clean_some(log: &PartitionLog, rng: &mut impl Rng) {
    let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
    let sealed = bases.len().saturating_sub(1);
    let count = rng.random_range(2..=3usize);
    if sealed < count {
        std::thread::sleep(Duration::from_millis(1));
        return;
    }
    let from = rng.random_range(0..=sealed - count);
    let (rewrite, _) = clean(log, &bases[from..from + count], every_third);
    let (base, end) = (rewrite.base_offset(), rewrite.end_offset());
    match log.swap_in(rewrite).expect("swap in") {
        SwapOutcome::Swapped(_) => println!("S {base} {end}"),
        SwapOutcome::Stale { reason } => panic!("nothing else changes this log: {reason}"),
    }
}

/// What a round's child reported.
#[derive(Default)]
struct Reports {
    durable: Vec<(i64, u64)>,
    swaps: usize,
}

/// Runs one child, kills it after `kill_after` durable reports (or a deadline).
fn run_round(dir: &Path, round: u64, seed: u64, kill_after: usize, into: &mut Reports) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .env(SEED_ENV, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut durable = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read child output");
        let mut words = line.split(' ');
        match words.next() {
            Some("A") => {
                let offset = words.next().and_then(|o| o.parse().ok()).expect("offset");
                let tag = words.next().and_then(|t| t.parse().ok()).expect("tag");
                into.durable.push((offset, tag));
                durable += 1;
            }
            Some("S") => into.swaps += 1,
            _ => panic!("round {round}: unexpected child output {line:?}"),
        }
        if durable >= kill_after || Instant::now() > deadline {
            break;
        }
    }
    let exited = child.try_wait().expect("poll the child");
    assert!(
        exited.is_none(),
        "round {round}: the child died on its own: {exited:?}"
    );
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    assert!(durable > 0, "round {round}: the child reported nothing");
}

/// Checks every batch reported durable so far, in this round and earlier ones.
fn check(dir: &Path, round: u64, reports: &Reports) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Always)).expect("reopen");
    let (log, report) = data.open_partition(&tp(), config()).expect("recover");
    let report = report.expect("a fresh open reports recovery");
    for (offset, tag) in &reports.durable {
        let read = (log.read(*offset, 1))
            .unwrap_or_else(|e| panic!("round {round}: offset {offset} unreadable: {e}"));
        let mut original = tagged(*tag);
        set_base_offset(&mut original, *offset);
        set_partition_leader_epoch(&mut original, (tag / 1_000_000_000) as i32);
        let got = split_batches(&read.data);
        let got = got.first();
        let fate = fate_by_offset(*offset);
        let fine = got == Some(&original)
            || match fate {
                Fate::Keep => false,
                Fate::Shrink => got == Some(&shrunk(&original)),
                Fate::Drop => read.first_offset > *offset,
            };
        assert!(
            fine,
            "round {round}: durable batch at {offset} (tag {tag}, {fate:?}) lost or changed; \
             read from {}; {report:?}",
            read.first_offset
        );
    }
    let all = log.read(log.start_offset(), usize::MAX).expect("read all");
    assert_every_offset_reads_right(&log, &view(&log));
    let decided = (report.swaps.iter())
        .filter(|s| s.state == chronik_wal::SwapState::Decided)
        .count();
    println!(
        "round {round}: {} durable batches intact ({} in the log), {} swaps so far; on open \
         {decided} decided swap(s) finished, {} undecided discarded",
        reports.durable.len(),
        all.batches,
        reports.swaps,
        report.swaps.len() - decided
    );
    data.close().expect("close");
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let (round, seed) = (
            env_u64(ROUND_ENV).unwrap_or(0),
            env_u64(SEED_ENV).unwrap_or(0),
        );
        child(Path::new(&dir), round, seed);
        return;
    }
    let seed = env_u64(SEED_ENV).unwrap_or_else(rand::random);
    println!("sigkill swap test seed {seed} (rerun with {SEED_ENV}={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut reports = Reports::default();
    for round in 1..=ROUNDS {
        let kill_after = rng.random_range(100..1200);
        run_round(dir.path(), round, seed, kill_after, &mut reports);
        check(dir.path(), round, &reports);
    }
    assert!(
        reports.swaps > 0,
        "no swap happened: the test tested nothing"
    );
    println!(
        "{} durable batches survived {ROUNDS} SIGKILLs during {} swaps",
        reports.durable.len(),
        reports.swaps
    );
}
