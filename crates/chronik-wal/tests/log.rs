mod common;

use chronik_records::{BATCH_HEADER_LEN, BatchHeader, validate_batch};
use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, LogConfig, WalError, WalOptions};
use common::*;

#[test]
fn appends_get_consecutive_offsets_and_read_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = open(dir.path(), FsyncPolicy::Never, LogConfig::default());
    let mut stored = Vec::new();
    for i in 0..10 {
        let mut b = batch(i, 3, 1000 + i as i64);
        let info = log.append(&mut b, 7).unwrap();
        assert_eq!(info.base_offset, i as i64 * 3);
        assert_eq!(info.last_offset, i as i64 * 3 + 2);
        info.durable.wait().unwrap();
        stored.push(b);
    }
    assert_eq!(log.end_offset(), 30);
    let read = log.read(0, usize::MAX).unwrap();
    assert_eq!(read.batches, 10);
    assert_eq!(read.next_offset, 30);
    let batches = split_batches(&read.data);
    assert_eq!(batches, stored);
    for b in &batches {
        let h = validate_batch(b).expect("CRC-32C still valid after offset rewrite");
        assert_eq!(h.partition_leader_epoch, 7);
    }
}

#[test]
fn a_validated_append_stores_the_assigned_offsets_and_leaves_the_callers_batch_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = open(dir.path(), FsyncPolicy::Never, LogConfig::default());
    log.append(&mut batch(0, 2, 1000), 3).unwrap();
    let given = batch(1, 4, 2000);
    let header = validate_batch(&given).unwrap();
    let info = log.append_validated(&given, &header, 9).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (2, 5));
    assert_eq!(given, batch(1, 4, 2000), "the caller's batch was changed");
    let check = |log: &chronik_wal::PartitionLog| {
        let read = log.read(2, usize::MAX).unwrap();
        let stored = split_batches(&read.data);
        assert_eq!(stored.len(), 1);
        let h = validate_batch(&stored[0]).expect("CRC-32C still valid");
        assert_eq!((h.base_offset, h.partition_leader_epoch), (2, 9));
        assert_eq!(stored[0][BATCH_HEADER_LEN..], given[BATCH_HEADER_LEN..]);
    };
    check(&log);
    // Reopened after a crash (no close), the segment is scanned and every frame's CRC checked.
    drop(log);
    drop(data);
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, report) = data.open_partition(&tp(), LogConfig::default()).unwrap();
    let report = report.unwrap();
    assert_eq!(report.segments_scanned, 1, "{report:?}");
    assert!(report.cut.is_none(), "{report:?}");
    assert_eq!(log.end_offset(), 6);
    check(&log);
}

#[test]
fn reads_start_at_the_batch_holding_the_offset_and_respect_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = open(dir.path(), FsyncPolicy::Never, small_segments());
    for i in 0..40 {
        log.append(&mut batch(i, 2, i as i64), 0).unwrap();
    }
    assert!(log.segments().len() >= 3, "small segments roll");
    let mid = log.read(25, 1).unwrap();
    assert_eq!(
        mid.batches, 1,
        "the first batch comes even when larger than max_bytes"
    );
    assert_eq!(mid.first_offset, 24);
    assert_eq!(mid.next_offset, 26);
    let all = log.read(25, usize::MAX).unwrap();
    assert_eq!(all.next_offset, 80);
    assert_eq!(split_batches(&all.data).len(), 28);
    let bounded = log.read_bounded(25, usize::MAX, 30).unwrap();
    assert_eq!(bounded.next_offset, 30);
    let too_small = log.read_fitting(25, mid.data.len() - 1, 80).unwrap();
    assert!(
        too_small.data.is_empty(),
        "a fitting read returns no batch larger than max_bytes"
    );
    assert_eq!(too_small.next_offset, 25);
    let fits = log.read_fitting(25, mid.data.len() * 2 - 1, 80).unwrap();
    assert_eq!(fits.data, mid.data, "only the batches that fit whole");
    assert!(log.read(80, 100).unwrap().data.is_empty());
    assert!(matches!(
        log.read(81, 100),
        Err(WalError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn truncate_removes_whole_batches_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = open(dir.path(), FsyncPolicy::Never, small_segments());
    for i in 0..40 {
        log.append(&mut batch(i, 2, i as i64), i as i32 / 10)
            .unwrap();
    }
    assert_eq!(
        log.truncate_to(33).unwrap(),
        32,
        "offset 33 sits in batch 32..33"
    );
    assert_eq!(log.end_offset(), 32);
    assert_eq!(log.read(0, usize::MAX).unwrap().next_offset, 32);
    assert_eq!(
        log.epochs().last().unwrap().epoch,
        1,
        "epochs starting after the end are dropped"
    );
    let info = log.append(&mut batch(99, 1, 0), 5).unwrap();
    assert_eq!(info.base_offset, 32);
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 32)));
    assert_eq!(log.end_offset_for_epoch(5), Some((5, 33)));
}

#[test]
fn timestamp_lookup_finds_the_first_batch_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = open(dir.path(), FsyncPolicy::Never, small_segments());
    for i in 0..50 {
        log.append(&mut batch(i, 1, 1000 + i as i64 * 10), 0)
            .unwrap();
    }
    let hit = log.offset_for_timestamp(1255).unwrap().unwrap();
    assert_eq!((hit.offset, hit.timestamp), (26, 1260));
    assert_eq!(log.offset_for_timestamp(0).unwrap().unwrap().offset, 0);
    assert_eq!(log.offset_for_timestamp(5000).unwrap(), None);
    // Timestamps need not grow: the largest may sit before the log end.
    log.append(&mut batch(50, 1, 9000), 0).unwrap();
    log.append(&mut batch(51, 1, 2000), 0).unwrap();
    assert_eq!(log.max_timestamp(), 9000);
    let hit = log.offset_for_timestamp(9000).unwrap().unwrap();
    assert_eq!((hit.offset, hit.timestamp), (50, 9000));
}

/// A log of small segments with 1 s retention, holding 200 batches of 2 records; batch `i`
/// has timestamp `timestamp(i)`.
fn retained_log(
    dir: &std::path::Path,
    timestamp: impl Fn(u64) -> i64,
) -> (
    chronik_wal::DataDir,
    std::sync::Arc<chronik_wal::PartitionLog>,
) {
    let config = LogConfig {
        retention_ms: Some(1000),
        ..small_segments()
    };
    let (data, log) = open(dir, FsyncPolicy::Never, config);
    for i in 0..200 {
        log.append(&mut batch(i, 2, timestamp(i)), 0).unwrap();
    }
    (data, log)
}

#[test]
fn retention_keeps_what_lies_at_or_above_the_upper_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = retained_log(dir.path(), |_| 100);
    // Every record is expired; only those below offset 150 may go.
    log.enforce_retention(5_000, 150).unwrap();
    let start = log.start_offset();
    assert!(start > 0 && start <= 150, "start {start}");
    assert_eq!(log.read(start, usize::MAX).unwrap().first_offset, start);
    // With nothing readable, the expired active segment is neither rolled nor deleted.
    log.enforce_retention(5_000, 0).unwrap();
    assert_eq!(log.start_offset(), start);
    assert_eq!(log.end_offset(), 400);
    log.enforce_retention(5_000, log.end_offset()).unwrap();
    assert_eq!(
        log.start_offset(),
        400,
        "everything expired and readable goes"
    );
}

#[test]
fn retention_deletes_whole_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = retained_log(dir.path(), |i| if i < 100 { 100 } else { 10_000 });
    let report = log.enforce_retention(5_000, log.end_offset()).unwrap();
    assert!(report.segments_deleted > 0);
    let start = log.start_offset();
    assert_eq!(report.start_offset, start);
    assert!(
        start > 0 && start <= 200,
        "only segments of old batches go: start {start}"
    );
    let first = log.read(start, usize::MAX).unwrap();
    assert_eq!(first.first_offset, start);
    assert_eq!(log.end_offset(), 400);

    let by_size = LogConfig {
        retention_ms: None,
        retention_bytes: Some(4096),
        ..small_segments()
    };
    log.set_config(by_size).unwrap();
    log.enforce_retention(5_000, log.end_offset()).unwrap();
    let size = log.size_bytes();
    assert!(
        (4096..4096 + 2048).contains(&size),
        "size after retention.bytes: {size}"
    );
    assert!(log.delete_before(1).unwrap().segments_deleted == 0);
}

/// Appends `n` batches of two records in leader epoch 3, each waited for until durable.
fn append_durably(log: &chronik_wal::PartitionLog, n: u64) {
    for i in 0..n {
        log.append(&mut batch(i, 2, 0), 3)
            .unwrap()
            .durable
            .wait()
            .unwrap();
    }
}

#[test]
fn only_the_active_segment_is_zero_filled_ahead_and_a_clean_close_cuts_the_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = open(dir.path(), FsyncPolicy::Always, small_segments());
    append_durably(&log, 30);
    let file_len = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    let segments = log.segments();
    let (active, sealed) = segments.split_last().unwrap();
    assert!(!sealed.is_empty());
    for s in sealed {
        assert_eq!(
            file_len(&s.path),
            s.bytes,
            "a sealed segment ends at its last frame"
        );
    }
    assert!(
        file_len(&active.path) > active.bytes,
        "zeros ahead of the appends"
    );
    drop(log);
    data.close().unwrap();
    assert_eq!(
        file_len(&active.path),
        active.bytes,
        "a clean close cuts the zeros"
    );
}

#[test]
fn a_clean_close_reopens_without_scanning_and_a_crash_rescans() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (data, log) = open(dir.path(), FsyncPolicy::Always, small_segments());
        append_durably(&log, 30);
        drop(log);
        data.close().unwrap();
    }
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Always)).unwrap();
    let (log, report) = data.open_partition(&tp(), small_segments()).unwrap();
    let report = report.unwrap();
    assert_eq!(report.segments_scanned, 0, "{report:?}");
    assert_eq!(report.end_offset, 60);
    log.append(&mut batch(1, 1, 0), 3)
        .unwrap()
        .durable
        .wait()
        .unwrap();
    drop(log);
    drop(data); // no close: like a crash
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Always)).unwrap();
    let (log, report) = data.open_partition(&tp(), small_segments()).unwrap();
    let report = report.unwrap();
    assert_eq!(
        report.segments_scanned, 1,
        "only the active segment is scanned: {report:?}"
    );
    assert!(report.cut.is_none());
    assert_eq!(log.end_offset(), 61);
    assert_eq!(log.epochs().len(), 1);
}

#[test]
fn a_second_opener_is_refused_with_the_holder_named() {
    let dir = tempfile::tempdir().unwrap();
    let _held = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    match DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)) {
        Err(WalError::DirLocked { holder, .. }) => {
            assert!(holder.contains(&std::process::id().to_string()))
        }
        other => panic!("expected a lock refusal, got {:?}", other.err()),
    }
}

#[test]
fn malformed_batches_are_refused_without_changing_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = open(dir.path(), FsyncPolicy::Never, LogConfig::default());
    let good = batch(1, 2, 0);
    for mut bad in [
        good[..good.len() - 1].to_vec(),
        good[..20].to_vec(),
        vec![0u8; 100],
    ] {
        assert!(log.append(&mut bad, 0).is_err());
    }
    assert_eq!(log.end_offset(), 0);
    assert_eq!(log.size_bytes(), 0);
    let h = BatchHeader::parse(&good).unwrap();
    assert_eq!(h.records_count, 2);
}

#[test]
fn bad_configs_and_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    let tiny = LogConfig {
        segment_bytes: 10,
        ..LogConfig::default()
    };
    assert!(matches!(
        data.open_partition(&tp(), tiny),
        Err(WalError::Config(_))
    ));
    let bad_name = chronik_types::TopicPartition::new("../escape", 0);
    assert!(
        data.open_partition(&bad_name, LogConfig::default())
            .is_err()
    );
}

#[test]
fn internal_logs_hold_opaque_payloads_and_can_restart_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Always)).unwrap();
    assert!(
        data.open_internal_log("partitions", LogConfig::default())
            .is_err()
    );
    assert!(
        data.open_internal_log("../x", LogConfig::default())
            .is_err()
    );
    let (log, _) = data
        .open_internal_log("raft", LogConfig::default())
        .unwrap();
    log.restart_at(2).unwrap();
    for i in 0..5u8 {
        let info = log.append_raw(&[i; 10], 1, 0, 1).unwrap();
        assert_eq!(info.base_offset, 2 + i as i64);
        info.durable.wait().unwrap();
    }
    log.flush().unwrap();
    drop(log);
    data.close().unwrap();
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Always)).unwrap();
    let (log, _) = data
        .open_internal_log("raft", LogConfig::default())
        .unwrap();
    assert_eq!((log.start_offset(), log.end_offset()), (2, 7));
    let read = log.read(4, usize::MAX).unwrap();
    assert_eq!(&read.data[..10], &[2u8; 10]);
    assert_eq!(read.batches, 3);
}

#[test]
fn a_follower_copy_keeps_offsets_and_epochs_and_refuses_an_overlap() {
    let (ldir, fdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_l, leader) = open(ldir.path(), FsyncPolicy::Never, LogConfig::default());
    let (_f, follower) = open(fdir.path(), FsyncPolicy::Never, LogConfig::default());
    for (i, epoch) in [1, 1, 3].into_iter().enumerate() {
        leader.append(&mut batch(i as u64, 2, 10), epoch).unwrap();
    }
    let read = leader.read(0, usize::MAX).unwrap();
    let batches = split_batches(&read.data);
    let replicate = |b: &[u8]| follower.append_replicated(b, &validate_batch(b).unwrap());
    replicate(&batches[0]).unwrap();
    assert!(
        matches!(
            replicate(&batches[0]),
            Err(WalError::BelowEnd {
                base: 0,
                end: 2,
                ..
            })
        ),
        "a repeat is refused"
    );
    for b in &batches[1..] {
        replicate(b).unwrap();
    }
    assert_eq!(follower.end_offset(), 6);
    assert_eq!(follower.read(0, usize::MAX).unwrap().data, read.data);
    assert_eq!(follower.epochs(), leader.epochs());
    assert_eq!(follower.end_offset_for_epoch(1), Some((1, 4)));
}

/// A cleaned leader's log has gaps where whole batches went; a follower fetching from an
/// offset in one gets the next batch kept and must take it (as Kafka's followers do), or it
/// never catches up.
#[test]
fn a_follower_copy_takes_the_gaps_a_cleaned_leader_left() {
    let (ldir, fdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_l, leader) = open(ldir.path(), FsyncPolicy::Never, small_segments());
    for (i, epoch) in [1, 1, 1, 3, 3].into_iter().enumerate() {
        leader.append(&mut batch(i as u64, 2, 10), epoch).unwrap();
    }
    // What a cleaned leader serves: batches 1 (offsets 2..4) and 3 (6..8) are gone.
    let all = split_batches(&leader.read(0, usize::MAX).unwrap().data);
    let kept = [all[0].clone(), all[2].clone(), all[4].clone()];
    {
        let (data, follower) = open(fdir.path(), FsyncPolicy::Never, small_segments());
        let replicate = |b: &[u8]| follower.append_replicated(b, &validate_batch(b).unwrap());
        replicate(&kept[0]).unwrap();
        replicate(&kept[1]).unwrap();
        assert_eq!(
            follower.end_offset(),
            6,
            "the log ends after the batch past the gap"
        );
        follower.roll_segment().unwrap();
        replicate(&kept[2]).unwrap();
        assert!(
            matches!(replicate(&kept[1]), Err(WalError::BelowEnd { .. })),
            "what lies below the end is still refused"
        );
        assert_eq!(follower.end_offset(), 10);
        follower.flush().unwrap();
        drop(follower);
        data.close().unwrap();
    }
    // Recovery keeps the gaps (within and between segments), and reads skip them.
    let (_f, follower) = open(fdir.path(), FsyncPolicy::Never, small_segments());
    assert_eq!((follower.start_offset(), follower.end_offset()), (0, 10));
    let read = |from| split_batches(&follower.read(from, usize::MAX).unwrap().data);
    assert_eq!(read(0), kept.to_vec());
    assert_eq!(
        read(2),
        kept[1..].to_vec(),
        "a read from a gap starts at the next batch"
    );
    assert_eq!(read(6), kept[2..].to_vec());
    let epochs: Vec<(i32, i64)> = (follower.epochs().iter())
        .map(|e| (e.epoch, e.start_offset))
        .collect();
    assert_eq!(
        epochs,
        vec![(1, 0), (3, 8)],
        "an epoch starts at the first batch of it the follower holds"
    );
}

#[test]
fn the_data_dir_reports_the_space_of_its_filesystem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path(), WalOptions::new(FsyncPolicy::Always)).unwrap();
    let space = dir.space().unwrap();
    assert!(space.total > 0, "{space:?}");
    assert!(space.available <= space.total, "{space:?}");
}

/// A log's first epoch checkpoint is written without a sync of its own, so a crash may leave
/// it missing or torn: the epochs must then come back from the frames, all of them.
#[test]
fn epochs_come_back_from_the_frames_when_the_checkpoint_is_missing_or_torn() {
    let dir = tempfile::tempdir().unwrap();
    let (expected, log_dir) = {
        let (_data, log) = open(dir.path(), FsyncPolicy::Always, small_segments());
        for (i, epoch) in [0, 0, 4, 4, 4, 9, 9].into_iter().enumerate() {
            let mut b = batch(i as u64, 60, 0);
            log.append(&mut b, epoch).unwrap().durable.wait().unwrap();
        }
        assert!(log.segments().len() >= 3, "small segments roll");
        (log.epochs(), log.dir().to_path_buf())
    };
    assert_eq!(expected.len(), 3);
    let checkpoint = log_dir.join("leader-epoch-checkpoint");
    let damages: [Option<&[u8]>; 4] = [
        None,
        Some(b""),
        Some(b"0\n3\n0 0\n"),
        Some(b"0\n3\n0 0\n4 "),
    ];
    for damage in damages {
        match damage {
            None => std::fs::remove_file(&checkpoint).unwrap(),
            Some(bytes) => std::fs::write(&checkpoint, bytes).unwrap(),
        }
        let (_data, log) = open(dir.path(), FsyncPolicy::Always, small_segments());
        assert_eq!(log.epochs(), expected, "after {damage:?}");
    }
}
