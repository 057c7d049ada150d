//! The aborted-transaction index kept in each segment's index: transactions whose data and
//! abort marker lie in different segments, the same answer after a clean reopen, after the
//! index files are lost, after truncation and after a rewrite; none for opaque payloads.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chronik_records::{TxnMarker, build_marker_batch, build_transactional_batch};
use chronik_types::{FsyncPolicy, Offset};
use chronik_wal::inspect::verify_partition;
use chronik_wal::{AbortedTxn, DataDir, LogConfig, PartitionLog, RecoveryOptions, WalOptions};
use common::cleaner::clean;
use common::*;

fn txn_data(pid: i64, tag: u64) -> Vec<u8> {
    let value = format!("{tag}:{}", "v".repeat(600));
    build_transactional_batch(&[value.as_bytes()], 0, pid)
}

fn marker(pid: i64, commit: bool) -> Vec<u8> {
    let m = TxnMarker {
        commit,
        coordinator_epoch: 0,
    };
    build_marker_batch(pid, 0, m, 0)
}

/// Appends `batches` and returns what a reader must be told: each abort marker with its
/// producer's first transactional batch since that producer's previous marker.
fn append_all(log: &PartitionLog, batches: &[Vec<u8>]) -> Vec<AbortedTxn> {
    let mut open: BTreeMap<i64, Offset> = BTreeMap::new();
    let mut aborted = Vec::new();
    for b in batches {
        let mut b = b.clone();
        let info = log.append(&mut b, 0).unwrap();
        let header = chronik_records::BatchHeader::parse(&b).unwrap();
        let pid = header.producer_id;
        match chronik_records::read_marker(&b) {
            None => {
                open.entry(pid).or_insert(info.base_offset);
            }
            Some(m) => {
                if let (false, Some(first_offset)) = (m.commit, open.remove(&pid)) {
                    aborted.push(AbortedTxn {
                        producer_id: pid,
                        first_offset,
                        last_offset: info.base_offset,
                    });
                }
            }
        }
    }
    aborted
}

/// Three producers interleaved over many small segments: 1 aborts twice, 2 commits, 3 aborts
/// a transaction that began four segments before its marker, 4 stays open.
fn workload() -> Vec<Vec<u8>> {
    let mut batches = Vec::new();
    for round in 0..6u64 {
        batches.push(txn_data(1, round));
        batches.push(txn_data(2, round));
        if round == 0 {
            batches.push(txn_data(3, round));
        }
        batches.push(txn_data(1, round + 100));
        if round % 3 == 2 {
            batches.push(marker(1, false));
            batches.push(marker(2, true));
        }
    }
    batches.push(marker(3, false));
    batches.push(txn_data(4, 0));
    batches
}

fn reopen(dir: &Path) -> (DataDir, Arc<PartitionLog>) {
    open(dir, FsyncPolicy::Never, small_segments())
}

fn index_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let partition = dir.join("partitions").join(tp().dir_name());
    let mut files: Vec<_> = (std::fs::read_dir(&partition).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "index"))
        .collect();
    files.sort();
    files
}

#[test]
fn aborted_transactions_span_segments_and_survive_reopening_and_lost_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = reopen(dir.path());
    let expected = append_all(&log, &workload());
    assert_eq!(
        expected.len(),
        3,
        "two aborts of producer 1, one of producer 3"
    );
    assert!(log.segments().len() > 5, "the workload spans segments");
    let end = log.end_offset();
    assert_eq!(log.aborted_txns(0, end), expected);
    let long = expected.iter().find(|t| t.producer_id == 3).unwrap();
    assert_eq!(long.first_offset, 2);
    // A reader from inside producer 3's transaction is still told of it; one past its marker
    // is not, nor one whose range ends at its first record.
    assert!(log.aborted_txns(long.last_offset, end).contains(long));
    assert!(!log.aborted_txns(long.last_offset + 1, end).contains(long));
    assert!(!log.aborted_txns(0, long.first_offset).contains(long));
    log.close().unwrap();
    data.close().unwrap();

    let (data, log) = reopen(dir.path());
    assert_eq!(log.aborted_txns(0, end), expected, "after a clean reopen");
    data.close().unwrap();

    for keep in [index_files(dir.path()).len() - 3, 0] {
        for f in &index_files(dir.path())[keep..] {
            std::fs::remove_file(f).unwrap();
        }
        let (data, log) = reopen(dir.path());
        assert_eq!(log.aborted_txns(0, end), expected, "rebuilt by rescanning");
        data.close().unwrap();
    }
}

#[test]
fn truncation_forgets_aborts_past_the_cut_but_not_the_open_transactions_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = reopen(dir.path());
    let expected = append_all(&log, &workload());
    let long = *expected.iter().find(|t| t.producer_id == 3).unwrap();
    log.truncate_to(long.last_offset).unwrap();
    let before_cut: Vec<AbortedTxn> = (expected.iter())
        .filter(|t| t.last_offset < long.last_offset)
        .copied()
        .collect();
    assert_eq!(log.aborted_txns(0, Offset::MAX), before_cut);

    let mut abort = marker(3, false);
    let info = log.append(&mut abort, 1).unwrap();
    let again = AbortedTxn {
        last_offset: info.base_offset,
        ..long
    };
    assert_eq!(log.aborted_txns(long.last_offset, Offset::MAX), vec![again]);
    data.close().unwrap();
}

#[test]
fn a_rewritten_range_keeps_its_aborted_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = reopen(dir.path());
    let expected = append_all(&log, &workload());
    let bases: Vec<Offset> = log.segments().iter().map(|s| s.base_offset).collect();
    let (rewrite, _) = clean(&log, &bases[1..bases.len() - 2], |_| {
        common::cleaner::Fate::Keep
    });
    log.swap_in(rewrite).unwrap();
    assert_eq!(log.aborted_txns(0, Offset::MAX), expected);
    data.close().unwrap();
    let (data, log) = reopen(dir.path());
    assert_eq!(
        log.aborted_txns(0, Offset::MAX),
        expected,
        "after reopening"
    );
    data.close().unwrap();
}

#[test]
fn a_log_of_opaque_payloads_keeps_no_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, _) = data
        .open_internal_log("raft", LogConfig::default())
        .unwrap();
    log.append_raw(&txn_data(9, 0), 1, 0, 0).unwrap();
    log.append_raw(&marker(9, false), 1, 0, 0).unwrap();
    assert_eq!(log.aborted_txns(0, Offset::MAX), vec![]);
    data.close().unwrap();
}

/// Changes the first offset of the last aborted transaction a segment index keeps (the entries
/// end the file, before its CRC), keeping the file's CRC valid.
fn falsify_last_abort(index_file: &Path) {
    let mut bytes = std::fs::read(index_file).unwrap();
    let body = bytes.len() - 4;
    let first_offset = body - 16;
    bytes[first_offset..first_offset + 8].copy_from_slice(&1_000i64.to_be_bytes());
    let crc = crc32fast::hash(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(index_file, bytes).unwrap();
}

#[test]
fn verify_finds_an_index_that_disagrees_with_its_segment_and_a_thorough_recovery_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = reopen(dir.path());
    let expected = append_all(&log, &workload());
    let segments = log.segments();
    data.close().unwrap();
    let first_abort = expected[0].last_offset;
    let holding = (segments.iter())
        .rfind(|s| s.base_offset <= first_abort)
        .unwrap();
    let index_file = holding.path.with_extension("index");
    falsify_last_abort(&index_file);

    let found = verify_partition(dir.path(), &tp()).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].file, index_file);
    assert!(found[0].reason.contains("recover"), "{}", found[0].reason);

    let thorough = RecoveryOptions {
        full_scan: true,
        check_batches: true,
        opaque_payloads: false,
    };
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, _) = (data.open_partition_with(&tp(), small_segments(), thorough)).unwrap();
    assert_eq!(log.aborted_txns(0, Offset::MAX), expected);
    data.close().unwrap();
    assert_eq!(verify_partition(dir.path(), &tp()).unwrap(), vec![]);
}
