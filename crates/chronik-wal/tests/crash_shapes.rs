//! Damage a log the ways crashes and bad disks do, then reopen: never a panic, exactly the valid
//! prefix kept, and `verify` names the damage before recovery and finds none after.

mod common;

use std::path::{Path, PathBuf};

use chronik_types::FsyncPolicy;
use chronik_wal::inspect::verify_partition;
use chronik_wal::{DataDir, LogConfig, RecoveryOptions, WalOptions};
use common::*;

const FRAME_HEADER: usize = chronik_wal::frame::FRAME_HEADER_LEN;

/// Writes `n` batches without a clean close; returns the segment path and the stored batches.
/// The segment keeps the zero-filled tail an active segment has ahead of its appends.
fn crashed_log_with_zero_tail(dir: &Path, n: u64) -> (PathBuf, Vec<Vec<u8>>) {
    let (data, log) = open(dir, FsyncPolicy::Never, LogConfig::default());
    let mut stored = Vec::new();
    for i in 0..n {
        let mut b = batch(i, 1 + (i % 3) as usize, i as i64);
        log.append(&mut b, 0).unwrap();
        stored.push(b);
    }
    let path = log.segments()[0].path.clone();
    drop(log);
    drop(data);
    (path, stored)
}

/// [`crashed_log_with_zero_tail`] with the file ending at its last frame, for tests that
/// damage the frames themselves.
fn crashed_log(dir: &Path, n: u64) -> (PathBuf, Vec<Vec<u8>>) {
    let (path, stored) = crashed_log_with_zero_tail(dir, n);
    let end = frame_ends(&stored).last().copied().unwrap_or(0);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(end as u64).unwrap();
    (path, stored)
}

/// Reopens and returns the batches the log now holds, plus the recovery report.
fn reopen(dir: &Path) -> (Vec<Vec<u8>>, chronik_wal::RecoveryReport) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, report) = data.open_partition(&tp(), LogConfig::default()).unwrap();
    let read = log.read(log.start_offset(), usize::MAX).unwrap();
    (split_batches(&read.data), report.unwrap())
}

fn frame_ends(stored: &[Vec<u8>]) -> Vec<usize> {
    stored
        .iter()
        .scan(0, |end, b| {
            *end += FRAME_HEADER + b.len();
            Some(*end)
        })
        .collect()
}

#[test]
fn a_cut_at_every_byte_of_the_last_frames_keeps_exactly_the_whole_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, stored) = crashed_log(dir.path(), 12);
    let original = std::fs::read(&segment).unwrap();
    let ends = frame_ends(&stored);
    let from = ends[ends.len() - 4];
    for cut in from..=original.len() {
        std::fs::write(&segment, &original[..cut]).unwrap();
        let whole = ends.iter().filter(|e| **e <= cut).count();
        let at_boundary = cut == ends.get(whole.wrapping_sub(1)).copied().unwrap_or(0);
        let damage = verify_partition(dir.path(), &tp()).unwrap();
        assert_eq!(
            damage.is_empty(),
            at_boundary,
            "verify before recovery, cut at {cut}: {damage:?}"
        );
        let (kept, report) = reopen(dir.path());
        assert_eq!(kept, stored[..whole], "cut at {cut}");
        assert_eq!(report.cut.is_some(), !at_boundary, "cut at {cut}");
        if let Some(c) = &report.cut {
            assert_eq!(
                c.bytes as usize,
                cut - ends[whole - 1],
                "bytes reported cut at {cut}"
            );
        }
        assert!(
            verify_partition(dir.path(), &tp()).unwrap().is_empty(),
            "verify after recovery, cut at {cut}"
        );
    }
}

#[test]
fn a_flipped_byte_mid_segment_cuts_from_that_frame_on() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, stored) = crashed_log(dir.path(), 20);
    let ends = frame_ends(&stored);
    let mut bytes = std::fs::read(&segment).unwrap();
    let victim = 9;
    let pos = ends[victim - 1] + FRAME_HEADER + 30;
    bytes[pos] ^= 0x55;
    std::fs::write(&segment, &bytes).unwrap();

    let damage = verify_partition(dir.path(), &tp()).unwrap();
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!(damage[0].position as usize, ends[victim - 1]);
    let (kept, report) = reopen(dir.path());
    assert_eq!(kept, stored[..victim]);
    let cut = report.cut.unwrap();
    assert_eq!(
        cut.frames,
        (stored.len() - victim) as u64,
        "the bad frame and those after it are counted"
    );
    assert_eq!(cut.bytes as usize, ends[ends.len() - 1] - ends[victim - 1]);
    assert!(verify_partition(dir.path(), &tp()).unwrap().is_empty());
}

#[test]
fn a_zero_filled_tail_after_a_crash_is_the_clean_end_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, stored) = crashed_log_with_zero_tail(dir.path(), 10);
    let frames_end = *frame_ends(&stored).last().unwrap();
    let bytes = std::fs::read(&segment).unwrap();
    assert!(
        bytes.len() > frames_end,
        "appends zero-fill ahead of themselves"
    );
    assert!(bytes[frames_end..].iter().all(|b| *b == 0));
    let damage = verify_partition(dir.path(), &tp()).unwrap();
    assert!(damage.is_empty(), "{damage:?}");
    let (kept, report) = reopen(dir.path());
    assert_eq!(kept, stored);
    assert_eq!(report.cut, None);
    assert_eq!(
        std::fs::metadata(&segment).unwrap().len() as usize,
        frames_end,
        "recovery cuts the zeros off"
    );
}

#[test]
fn zeros_followed_by_anything_else_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, stored) = crashed_log(dir.path(), 10);
    let mut bytes = std::fs::read(&segment).unwrap();
    let valid = bytes.len();
    bytes.extend_from_slice(&[0u8; 8192]);
    bytes.push(1);
    std::fs::write(&segment, &bytes).unwrap();
    assert!(!verify_partition(dir.path(), &tp()).unwrap().is_empty());
    let (kept, report) = reopen(dir.path());
    assert_eq!(kept, stored);
    assert_eq!(report.cut.unwrap().bytes, 8193);
    assert_eq!(std::fs::metadata(&segment).unwrap().len() as usize, valid);
}

#[test]
fn garbage_and_huge_lengths_after_the_end_are_cut() {
    let mut tail_huge = chronik_wal::frame::FrameHeader::encode(
        &chronik_wal::frame::FrameMeta {
            base_offset: 999,
            last_offset: 999,
            max_timestamp: 0,
            leader_epoch: 0,
        },
        b"x",
    )
    .to_vec();
    tail_huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let tails: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage",
            (0..5000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("huge length", tail_huge),
    ];
    for (what, tail) in tails {
        let dir = tempfile::tempdir().unwrap();
        let (segment, stored) = crashed_log(dir.path(), 10);
        let mut bytes = std::fs::read(&segment).unwrap();
        let valid = bytes.len();
        bytes.extend_from_slice(&tail);
        std::fs::write(&segment, &bytes).unwrap();
        assert!(
            !verify_partition(dir.path(), &tp()).unwrap().is_empty(),
            "{what}: verify sees it"
        );
        let (kept, report) = reopen(dir.path());
        assert_eq!(kept, stored, "{what}");
        assert_eq!(report.cut.unwrap().bytes as usize, tail.len(), "{what}");
        assert_eq!(
            std::fs::metadata(&segment).unwrap().len() as usize,
            valid,
            "{what}"
        );
        assert!(
            verify_partition(dir.path(), &tp()).unwrap().is_empty(),
            "{what}"
        );
    }
}

#[test]
fn damage_in_a_sealed_segment_drops_every_later_segment() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2048,
        ..LogConfig::default()
    };
    let (data, log) = open(dir.path(), FsyncPolicy::Never, config.clone());
    for i in 0..60 {
        log.append(&mut batch(i, 2, 0), 0).unwrap();
    }
    let segments = log.segments();
    assert!(segments.len() >= 4);
    drop(log);
    data.close().unwrap();
    let victim = &segments[1];
    let mut bytes = std::fs::read(&victim.path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&victim.path, &bytes).unwrap();

    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    let full = RecoveryOptions {
        full_scan: true,
        check_batches: true,
        opaque_payloads: false,
    };
    let (log, report) = data.open_partition_with(&tp(), config, full).unwrap();
    let cut = report.unwrap().cut.expect("a full scan finds the flip");
    assert_eq!(
        cut.segments_removed.len(),
        segments.len() - 1,
        "the victim had no valid frame, so it goes too"
    );
    assert!(log.end_offset() < victim.next_offset && log.end_offset() >= victim.base_offset);
    assert!(verify_partition(dir.path(), &tp()).unwrap().is_empty());
}

#[test]
fn a_later_segment_of_pure_garbage_is_removed_not_kept_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, stored) = crashed_log(dir.path(), 5);
    let end: i64 = stored
        .iter()
        .map(|b| {
            chronik_records::BatchHeader::parse(b)
                .unwrap()
                .last_offset_delta as i64
                + 1
        })
        .sum();
    let garbage = segment.with_file_name(chronik_wal::segment_file_name(100));
    std::fs::write(&garbage, vec![0xAB; 300]).unwrap();
    let (kept, report) = reopen(dir.path());
    assert_eq!(kept, stored);
    assert_eq!(
        report.end_offset, end,
        "no gap up to the garbage segment's base"
    );
    assert_eq!(report.cut.unwrap().segments_removed, vec![garbage.clone()]);
    assert!(!garbage.exists());
}
