//! The `wal_recovery` fuzz target's entry point on stable: the committed corpus, saved
//! regressions and a fixed-seed pseudo-random pass (see docs/fuzzing.md).

#[path = "../../../fuzz/harness/replay.rs"]
mod replay;
#[path = "../../../fuzz/harness/wal_recovery.rs"]
mod wal_recovery;

use chronik_records::{TxnMarker, build_batch, build_marker_batch, build_transactional_batch};
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, WalOptions};
use replay::{PSEUDO_RANDOM_INPUTS, check_seed_files, pseudo_random_inputs, replay_saved, run_one};
use wal_recovery::{CHECK_BATCHES, FIX_CRCS};

/// The bytes of a segment holding `batches`, as the log writes them (epochs 0, 0, 1, ...).
fn segment(batches: &[Vec<u8>]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let wal = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).expect("data dir");
    let (log, _) = wal
        .open_partition(&TopicPartition::new("seed", 0), LogConfig::default())
        .expect("log");
    for (i, batch) in batches.iter().enumerate() {
        let mut batch = batch.clone();
        log.append(&mut batch, (i / 2) as i32).expect("append");
    }
    let path = log.segments()[0].path.clone();
    drop(log);
    wal.close().expect("close");
    std::fs::read(path).expect("read the segment")
}

fn input(flags: u8, segment: &[u8]) -> Vec<u8> {
    let mut input = vec![flags];
    input.extend_from_slice(segment);
    input
}

fn marker(pid: i64, commit: bool) -> Vec<u8> {
    let m = TxnMarker {
        commit,
        coordinator_epoch: 0,
    };
    build_marker_batch(pid, 0, m, 0)
}

/// The committed seeds: the same clean segment under each option, a torn one, and one of
/// transactions (producer 5 aborts, 6 commits, 7's is open).
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let batches: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            let value = format!("value-{i}");
            build_batch(&[b"key".as_slice(), value.as_bytes()], 1_000 * i)
        })
        .collect();
    let clean = segment(&batches);
    let torn = &clean[..clean.len() - 7];
    vec![
        ("clean", input(0, &clean)),
        (
            "clean-checked-fixed",
            input(FIX_CRCS | CHECK_BATCHES, &clean),
        ),
        ("torn-fixed", input(FIX_CRCS, torn)),
        (
            "transactions",
            input(CHECK_BATCHES, &segment(&transactions())),
        ),
    ]
}

fn transactions() -> Vec<Vec<u8>> {
    vec![
        build_transactional_batch(&[b"a"], 0, 5),
        build_transactional_batch(&[b"b"], 0, 6),
        build_transactional_batch(&[b"c"], 0, 5),
        marker(5, false),
        marker(6, true),
        build_transactional_batch(&[b"d"], 0, 7),
    ]
}

#[test]
fn seed_corpus_matches_the_helpers() {
    let seeds = seeds();
    check_seed_files("wal_recovery", &seeds);
    for (name, input) in &seeds {
        let outcome = wal_recovery::run(input);
        assert_eq!(outcome.cut, *name == "torn-fixed", "{name}");
        let (kept, aborted) = match *name {
            "torn-fixed" => (3, 0),
            "transactions" => (6, 1),
            _ => (4, 0),
        };
        assert_eq!(
            (outcome.batches, outcome.aborted_txns),
            (kept, aborted),
            "{name}"
        );
    }
}

#[test]
fn wal_recovery_corpus_and_regressions_replay() {
    replay_saved("wal_recovery", wal_recovery::run);
}

#[test]
fn wal_recovery_survives_pseudo_random_input() {
    let bases: Vec<Vec<u8>> = seeds().into_iter().map(|(_, b)| b).collect();
    let (mut cut, mut whole, mut batches) = (0, 0, 0);
    for input in pseudo_random_inputs(&bases, PSEUDO_RANDOM_INPUTS, 3) {
        let outcome = run_one("wal_recovery", &input, wal_recovery::run);
        if outcome.cut {
            cut += 1;
        } else {
            whole += 1;
        }
        batches += outcome.batches;
    }
    // The pass means something only if recovery both cut and kept logs.
    assert!(
        cut > 100 && whole > 20 && batches > 1000,
        "{cut} / {whole} / {batches}"
    );
}
