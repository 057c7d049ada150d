//! Rewriting sealed segments and swapping the cleaned segment in: exactly the kept batches at
//! their offsets, offsets in gaps read from the next batch, the log's offsets and epochs
//! unchanged, appends going on, the same after a reopen, and stale swaps changing nothing.

mod common;

use std::path::Path;
use std::sync::Arc;

use chronik_types::FsyncPolicy;
use chronik_wal::inspect::verify_partition;
use chronik_wal::{DataDir, PartitionLog, RecoveryOptions, SwapOutcome, WalError, WalOptions};
use common::cleaner::*;
use common::*;

/// A log of 80 batches over several small segments (see [`fill`]).
fn log_with_segments(dir: &Path) -> (DataDir, Arc<PartitionLog>) {
    let (data, log) = open(dir, FsyncPolicy::Never, small_segments());
    fill(&log);
    (data, log)
}

fn reopen(dir: &Path, options: RecoveryOptions) -> (DataDir, Arc<PartitionLog>) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, report) = data
        .open_partition_with(&tp(), small_segments(), options)
        .unwrap();
    let report = report.unwrap();
    assert_eq!(report.cut, None, "nothing to cut after a swap");
    assert!(report.swaps.is_empty(), "no swap left to finish");
    (data, log)
}

fn swapped(outcome: SwapOutcome) -> chronik_wal::SwapReport {
    match outcome {
        SwapOutcome::Swapped(report) => report,
        SwapOutcome::Stale { reason } => panic!("unexpectedly stale: {reason}"),
    }
}

#[test]
fn three_rewritten_segments_read_back_as_exactly_the_kept_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = log_with_segments(dir.path());
    let before = view(&log);
    let bases = before.bases[1..4].to_vec();
    let end = before.bases[4];
    let (rewrite, kept) = clean(&log, &bases, every_third);
    assert_eq!(
        (rewrite.base_offset(), rewrite.end_offset()),
        (bases[0], end)
    );
    let report = swapped(log.swap_in(rewrite).unwrap());
    assert_eq!(
        (report.segments_replaced, report.base_offset),
        (3, bases[0])
    );
    assert!(report.bytes_after < report.bytes_before);

    let after = expected_after(&before, &bases, end, &kept);
    assert_eq!(view(&log), after);
    assert_eq!((after.start, after.end), (before.start, before.end));
    assert_every_offset_reads_right(&log, &after);
    let mut more = batch(1000, 2, 1000);
    let appended = log.append(&mut more, 2).unwrap();
    assert_eq!(appended.base_offset, before.end, "appends go on at the end");
    let grown = view(&log);
    assert_eq!(grown.batches.last(), Some(&more));
    drop(log);
    data.close().unwrap();

    for options in [
        RecoveryOptions::default(),
        RecoveryOptions {
            full_scan: true,
            check_batches: true,
            opaque_payloads: false,
        },
    ] {
        let (data, log) = reopen(dir.path(), options);
        assert_eq!(view(&log), grown, "reopened with {options:?}");
        assert_every_offset_reads_right(&log, &grown);
        drop(log);
        data.close().unwrap();
    }
    assert!(verify_partition(dir.path(), &tp()).unwrap().is_empty());
}

#[test]
fn a_range_cleaned_of_everything_keeps_an_empty_segment_at_its_base() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = log_with_segments(dir.path());
    let before = view(&log);
    let bases = before.bases[0..2].to_vec();
    let (rewrite, kept) = clean(&log, &bases, |_| Fate::Drop);
    assert!(kept.is_empty());
    assert_eq!(swapped(log.swap_in(rewrite).unwrap()).bytes_after, 0);
    let after = expected_after(&before, &bases, before.bases[2], &kept);
    assert_eq!(view(&log), after);
    assert_eq!(log.start_offset(), 0, "the log start does not move");
    assert_eq!(log.read(0, 1).unwrap().first_offset, before.bases[2]);
    assert_every_offset_reads_right(&log, &after);
    drop(log);
    drop(data);
    // Without a clean close: recovery scans the active segment and trusts the rest.
    let (_data, log) = reopen(dir.path(), RecoveryOptions::default());
    assert_eq!(view(&log), after);
}

#[test]
fn rewrites_may_follow_each_other_over_cleaned_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = log_with_segments(dir.path());
    let before = view(&log);
    let first = before.bases[0..2].to_vec();
    let (rewrite, kept) = clean(&log, &first, every_third);
    swapped(log.swap_in(rewrite).unwrap());
    let middle = view(&log);
    assert_eq!(
        middle,
        expected_after(&before, &first, before.bases[2], &kept)
    );
    let again = middle.bases[0..3].to_vec();
    let (rewrite, kept) = clean(&log, &again, |b| {
        if b.meta.base_offset % 2 == 0 {
            Fate::Drop
        } else {
            Fate::Keep
        }
    });
    swapped(log.swap_in(rewrite).unwrap());
    let after = expected_after(&middle, &again, middle.bases[3], &kept);
    assert_eq!(view(&log), after);
    assert_every_offset_reads_right(&log, &after);
}

#[test]
fn a_stale_swap_changes_nothing_and_removes_the_cleaned_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = log_with_segments(dir.path());
    let bases: Vec<i64> = log.segments()[0..3].iter().map(|s| s.base_offset).collect();
    let (rewrite, _) = clean(&log, &bases, every_third);
    log.delete_before(bases[1]).unwrap();
    let before = view(&log);
    // Index files (and their temporary files) are left out: background seals may still be
    // writing them.
    let files = || -> Vec<String> {
        let names = file_names(log.dir()).into_iter();
        names.filter(|f| !f.contains(".index")).collect()
    };
    let had = files();
    assert!(had.iter().any(|f| f.ends_with(".cleaned")), "{had:?}");
    let outcome = log.swap_in(rewrite).unwrap();
    assert!(matches!(outcome, SwapOutcome::Stale { .. }), "{outcome:?}");
    assert_eq!(view(&log), before);
    let left: Vec<String> = had
        .into_iter()
        .filter(|f| !f.ends_with(".cleaned"))
        .collect();
    assert_eq!(files(), left);

    // Truncation makes a rewrite stale too, even where the segments look the same again.
    let bases: Vec<i64> = log.segments()[0..2].iter().map(|s| s.base_offset).collect();
    let (rewrite, _) = clean(&log, &bases, every_third);
    let end = log.end_offset();
    log.truncate_to(end - 1).unwrap();
    let outcome = log.swap_in(rewrite).unwrap();
    assert!(matches!(outcome, SwapOutcome::Stale { .. }), "{outcome:?}");
    assert!(!file_names(log.dir()).iter().any(|f| f.contains(".cleaned")));
}

#[test]
fn bad_ranges_and_batches_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = log_with_segments(dir.path());
    let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
    let active = *bases.last().unwrap();
    for wrong in [
        vec![],
        vec![1],
        vec![bases[0], bases[2]],
        vec![bases[1], bases[0]],
        vec![active],
    ] {
        let refused = log.begin_rewrite(&wrong).err();
        assert!(
            matches!(refused, Some(WalError::RewriteRefused { .. })),
            "{wrong:?}: {refused:?}"
        );
    }
    let mut rewrite = log.begin_rewrite(&bases[1..3]).unwrap();
    let again = log.begin_rewrite(&bases[1..3]).err().unwrap();
    assert!(again.to_string().contains("already under way"), "{again}");

    let stored: Vec<_> = (log.segment_batches(bases[1]).unwrap())
        .map(Result::unwrap)
        .collect();
    let outside = log
        .segment_batches(bases[0])
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let header = |b: &[u8]| chronik_records::validate_batch(b).unwrap();
    let refused = rewrite.append(&outside.batch, &header(&outside.batch));
    assert!(
        matches!(refused, Err(WalError::RewriteRefused { .. })),
        "{refused:?}"
    );
    rewrite
        .append(&stored[1].batch, &header(&stored[1].batch))
        .unwrap();
    let backwards = rewrite.append(&stored[0].batch, &header(&stored[0].batch));
    assert!(
        matches!(backwards, Err(WalError::RewriteRefused { .. })),
        "{backwards:?}"
    );
    let wrong_header = rewrite.append(&stored[2].batch, &header(&stored[3].batch));
    assert!(
        matches!(wrong_header, Err(WalError::RewriteRefused { .. })),
        "{wrong_header:?}"
    );
    let mut damaged = stored[2].batch.clone();
    *damaged.last_mut().unwrap() ^= 1;
    assert!(matches!(
        rewrite.append(&damaged, &header(&stored[2].batch)),
        Err(WalError::Batch(_))
    ));

    drop(rewrite);
    assert!(
        !file_names(log.dir()).iter().any(|f| f.contains(".cleaned")),
        "dropped, deleted"
    );
    assert!(log.begin_rewrite(&bases[1..3]).is_ok());
}

#[test]
fn a_reader_of_a_replaced_segment_keeps_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = log_with_segments(dir.path());
    let bases: Vec<i64> = log.segments()[1..3].iter().map(|s| s.base_offset).collect();
    let whole: Vec<_> = (log.segment_batches(bases[0]).unwrap())
        .map(Result::unwrap)
        .collect();
    let mut reading = log.segment_batches(bases[0]).unwrap();
    let first = reading.next().unwrap().unwrap();
    let (rewrite, _) = clean(&log, &bases, |_| Fate::Drop);
    swapped(log.swap_in(rewrite).unwrap());
    let rest: Vec<_> = reading.map(Result::unwrap).collect();
    assert_eq!(
        [vec![first], rest].concat(),
        whole,
        "the unlinked file still reads in full"
    );
    assert_eq!(
        log.segment_batches(bases[0]).unwrap().count(),
        0,
        "the new segment is empty"
    );
    assert!(matches!(
        log.segment_batches(bases[1]),
        Err(WalError::NoSuchSegment { .. })
    ));
}

#[test]
fn appends_and_reads_go_on_while_segments_are_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = log_with_segments(dir.path());
    let appender = {
        let log = log.clone();
        std::thread::spawn(move || {
            (0..300u64)
                .map(|i| {
                    let mut b = batch(10_000 + i, 1, 0);
                    let info = log.append(&mut b, 3).unwrap();
                    (info.base_offset, b)
                })
                .collect::<Vec<_>>()
        })
    };
    let mut cleaned_below = 0;
    for _ in 0..5 {
        let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
        if bases.len() < 4 {
            continue;
        }
        let (rewrite, _) = clean(&log, &bases[1..3], every_third);
        cleaned_below = rewrite.end_offset();
        swapped(log.swap_in(rewrite).unwrap());
    }
    for (offset, appended) in appender.join().unwrap() {
        let read = log.read(offset, 1).unwrap();
        let got = split_batches(&read.data);
        // Batches the cleaner kept as they were, or never saw, read back exactly.
        if offset >= cleaned_below || offset % 3 == 2 {
            assert_eq!(got.first(), Some(&appended), "append at {offset}");
        }
    }
    let all = view(&log);
    assert_every_offset_reads_right(&log, &all);
}

#[test]
fn truncating_into_a_gap_ends_the_log_after_the_last_batch_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = log_with_segments(dir.path());
    let before = view(&log);
    let bases = before.bases[1..3].to_vec();
    let (rewrite, kept) = clean(&log, &bases, every_third);
    swapped(log.swap_in(rewrite).unwrap());
    // A dropped batch after a kept one: its offsets are a gap now.
    let header = |b: &[u8]| chronik_records::BatchHeader::parse(b).unwrap();
    let pair = kept
        .windows(2)
        .find(|w| header(&w[1]).base_offset > header(&w[0]).last_offset() + 1);
    let last_kept = header(&pair.expect("a gap between kept batches")[0]).last_offset();
    let end = log.truncate_to(last_kept + 1).unwrap();
    assert_eq!(
        end,
        last_kept + 1,
        "the log ends after the last batch kept, not past the gap"
    );
    let left = view(&log);
    assert_eq!(left.end, end);
    assert!(
        left.batches
            .iter()
            .all(|b| header(b).last_offset() <= last_kept)
    );
    let mut more = batch(5000, 1, 0);
    assert_eq!(log.append(&mut more, 3).unwrap().base_offset, end);
    let grown = view(&log);
    drop(log);
    drop(data);
    let (_data, log) = reopen(dir.path(), RecoveryOptions::default());
    assert_eq!(view(&log), grown);
    assert_every_offset_reads_right(&log, &grown);
}
