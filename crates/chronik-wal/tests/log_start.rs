//! Moving the log start offset inside a segment (DeleteRecords): reads below it fail, it
//! survives a restart, retention and truncation keep it consistent.

mod common;

use chronik_types::FsyncPolicy;
use chronik_wal::{LOG_START_FILE, WalError};
use common::*;

/// 100 batches of 2 records (offsets 0..200) in small segments.
fn filled(
    dir: &std::path::Path,
) -> (
    chronik_wal::DataDir,
    std::sync::Arc<chronik_wal::PartitionLog>,
) {
    let (data, log) = open(dir, FsyncPolicy::Never, small_segments());
    for i in 0..100 {
        log.append(&mut batch(i, 2, 1000 + i as i64), 0).unwrap();
    }
    (data, log)
}

#[test]
fn a_start_inside_a_segment_hides_what_lies_below_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let deleted_segments = {
        let (data, log) = filled(dir.path());
        let segments = log.segments().len();
        let report = log.advance_start(101).unwrap();
        assert_eq!((report.start_offset, log.start_offset()), (101, 101));
        assert!(report.segments_deleted > 0, "segments wholly below go");
        assert!(
            log.segments()[0].base_offset < 101,
            "the segment holding 101 stays"
        );
        assert!(matches!(
            log.read(100, 1 << 20),
            Err(WalError::OffsetOutOfRange { start: 101, .. })
        ));
        // The batch holding 101 (100..=101) is returned whole, as Kafka does.
        assert_eq!(log.read(101, 1).unwrap().first_offset, 100);
        // Moving it back, or to where it is, changes nothing; past the end is refused.
        assert_eq!(log.advance_start(50).unwrap().start_offset, 101);
        assert!(matches!(
            log.advance_start(201),
            Err(WalError::OffsetOutOfRange { .. })
        ));
        assert_eq!(log.start_offset(), 101);
        drop(log);
        data.close().unwrap();
        segments - report.segments_deleted
    };
    let (_data, log) = open(dir.path(), FsyncPolicy::Never, small_segments());
    assert_eq!(log.start_offset(), 101, "the start survives a restart");
    assert_eq!(log.end_offset(), 200);
    assert_eq!(log.segments().len(), deleted_segments);
    let summary = chronik_wal::inspect::summarize_partition(dir.path(), &tp()).unwrap();
    assert_eq!(summary.start_offset, 101, "tools see the moved start");
}

#[test]
fn the_whole_log_can_go_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = filled(dir.path());
    log.advance_start(200).unwrap();
    assert_eq!((log.start_offset(), log.end_offset()), (200, 200));
    assert_eq!(log.read(200, 1 << 20).unwrap().batches, 0);
    let info = log.append(&mut batch(7, 3, 5000), 0).unwrap();
    assert_eq!(info.base_offset, 200);
    assert_eq!(log.read(200, 1 << 20).unwrap().batches, 1);
}

#[test]
fn retention_and_truncation_keep_the_start_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = filled(dir.path());
    log.advance_start(37).unwrap();
    // Deleting segments below the start never moves it down.
    log.delete_before(10).unwrap();
    assert_eq!(log.start_offset(), 37);
    // A follower truncated below its start restarts there, and the old checkpoint is gone.
    log.truncate_to(20).unwrap();
    assert_eq!((log.start_offset(), log.end_offset()), (20, 20));
    assert!(!log.dir().join(LOG_START_FILE).exists());
    drop(log);
    let (_data2, log) = {
        drop(_data);
        open(dir.path(), FsyncPolicy::Never, small_segments())
    };
    assert_eq!((log.start_offset(), log.end_offset()), (20, 20));
}

#[test]
fn a_garbled_checkpoint_is_ignored_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (data, log) = filled(dir.path());
        log.advance_start(3).unwrap();
        drop(log);
        data.close().unwrap();
    }
    let path = dir
        .path()
        .join("partitions")
        .join("events-0")
        .join(LOG_START_FILE);
    assert!(path.exists(), "{}", path.display());
    std::fs::write(&path, b"garbage").unwrap();
    let (_data, log) = open(dir.path(), FsyncPolicy::Never, small_segments());
    assert_eq!(
        log.start_offset(),
        0,
        "the log starts at its first segment again"
    );
    assert_eq!(log.end_offset(), 200);
}
