//! Group commit: appenders share fsyncs, and none resolves before an fsync that began after its
//! write.

mod common;

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use chronik_test_support::wait_until;
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, FlushPolicy, LogConfig, PartitionLog, Syncer, WalError, WalOptions};
use common::*;

/// How long a test waits for the flusher before failing.
const WAIT: Duration = Duration::from_secs(20);

/// A syncer whose fsyncs wait at a gate the test opens.
#[derive(Default)]
struct GatedSyncer {
    open: Mutex<bool>,
    changed: Condvar,
    waiting: AtomicU64,
    completed: AtomicU64,
}

impl GatedSyncer {
    fn set_open(&self, open: bool) {
        *self.open.lock().unwrap() = open;
        self.changed.notify_all();
    }
}

impl Syncer for GatedSyncer {
    fn sync(&self, file: &File) -> std::io::Result<()> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.changed.wait(open).unwrap();
        }
        drop(open);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        file.sync_data()?;
        self.completed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A data dir under `fsync always` whose fsyncs wait at the returned gate.
fn gated_dir(dir: &std::path::Path) -> (DataDir, Arc<GatedSyncer>) {
    gated_dir_with(dir, FsyncPolicy::Always)
}

fn gated_dir_with(dir: &std::path::Path, fsync: FsyncPolicy) -> (DataDir, Arc<GatedSyncer>) {
    let syncer = Arc::new(GatedSyncer::default());
    let options = WalOptions {
        fsync,
        syncer: syncer.clone(),
    };
    (DataDir::open(dir, options).unwrap(), syncer)
}

fn with_flush(messages: u64, interval: Option<Duration>) -> LogConfig {
    LogConfig {
        flush: Some(FlushPolicy { messages, interval }),
        ..LogConfig::default()
    }
}

#[test]
fn no_append_resolves_before_its_fsync_and_waiters_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = gated_dir(dir.path());
    let logs: Vec<_> = (0..4)
        .map(|p| {
            data.open_partition(&TopicPartition::new("gc", p), LogConfig::default())
                .unwrap()
                .0
        })
        .collect();

    let mut pending = Vec::new();
    for i in 0..64u64 {
        pending.push(
            logs[(i % 4) as usize]
                .append(&mut batch(i, 1, 0), 0)
                .unwrap()
                .durable,
        );
    }
    wait_until("the flusher to block in an fsync", WAIT, || {
        syncer.waiting.load(Ordering::SeqCst) > 0
    });
    assert_eq!(syncer.completed.load(Ordering::SeqCst), 0);
    for d in &mut pending {
        assert!(
            d.try_wait().is_none(),
            "an append resolved while no fsync had completed"
        );
    }
    syncer.set_open(true);
    for d in pending {
        d.wait().unwrap();
    }
    let stats = data.flush_stats();
    assert_eq!(stats.appends_released, 64);
    assert!(
        stats.fsyncs <= 8,
        "64 appends to 4 logs needed {} fsyncs",
        stats.fsyncs
    );
}

#[test]
fn many_threads_on_many_partitions_share_real_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let data = Arc::new(DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Always)).unwrap());
    let logs: Vec<_> = (0..4)
        .map(|p| {
            data.open_partition(&TopicPartition::new("gc", p), LogConfig::default())
                .unwrap()
                .0
        })
        .collect();
    let threads: Vec<_> = (0..32u64)
        .map(|t| {
            let log = logs[(t % 4) as usize].clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let info = log.append(&mut batch(t * 1000 + i, 1, 0), 0).unwrap();
                    info.durable.wait().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = data.flush_stats();
    assert_eq!(stats.appends_released, 32 * 40);
    let per_fsync = stats.appends_released as f64 / stats.fsyncs as f64;
    assert!(per_fsync > 1.0, "appends per fsync {per_fsync} ({stats:?})");
}

struct FailingSyncer(AtomicBool);

impl Syncer for FailingSyncer {
    fn sync(&self, _: &File) -> std::io::Result<()> {
        if self.0.load(Ordering::SeqCst) {
            Err(std::io::Error::from_raw_os_error(5))
        } else {
            Ok(())
        }
    }
}

#[test]
fn a_failed_fsync_fails_the_waiters_and_every_later_append_but_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let syncer = Arc::new(FailingSyncer(AtomicBool::new(false)));
    let options = WalOptions {
        fsync: FsyncPolicy::Always,
        syncer: syncer.clone(),
    };
    let data = DataDir::open(dir.path(), options).unwrap();
    let (log, _) = data.open_partition(&tp(), LogConfig::default()).unwrap();
    log.append(&mut batch(1, 1, 0), 0)
        .unwrap()
        .durable
        .wait()
        .unwrap();
    syncer.0.store(true, Ordering::SeqCst);
    let err = log
        .append(&mut batch(2, 1, 0), 0)
        .unwrap()
        .durable
        .wait()
        .unwrap_err();
    assert!(matches!(err, WalError::LogFailed { .. }), "{err}");
    syncer.0.store(false, Ordering::SeqCst);
    assert!(matches!(
        log.append(&mut batch(3, 1, 0), 0),
        Err(WalError::LogFailed { .. })
    ));
    // A retried produce waits on the log's durable end: answered, not left hanging.
    let err = log.durable_end().wait().unwrap_err();
    assert!(matches!(err, WalError::LogFailed { .. }), "{err}");
    assert_eq!(log.read(0, usize::MAX).unwrap().batches, 2);
}

#[test]
fn durable_handles_work_from_async_code() {
    let dir = tempfile::tempdir().unwrap();
    let (_data, log) = open(dir.path(), FsyncPolicy::Always, LogConfig::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let info = log.append(&mut batch(1, 1, 0), 0).unwrap();
        info.durable.wait_async().await.unwrap();
    });
}

#[test]
fn durable_end_waits_for_an_fsync_that_began_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = gated_dir(dir.path());
    let (log, _) = data
        .open_partition(&TopicPartition::new("end", 0), LogConfig::default())
        .unwrap();
    let original = log.append(&mut batch(0, 1, 0), 0).unwrap().durable;
    wait_until("the original's fsync to be in flight", WAIT, || {
        syncer.waiting.load(Ordering::SeqCst) > 0
    });
    // A retry of the original asks for everything so far to be durable.
    let mut retry = log.durable_end();
    assert!(retry.try_wait().is_none(), "resolved with no fsync done");
    syncer.set_open(true);
    original.wait().unwrap();
    retry.wait().unwrap();
    assert!(
        syncer.completed.load(Ordering::SeqCst) >= 2,
        "the fsync in flight began before the retry asked; another one must cover it"
    );
}

/// The epoch lines of a partition's leader-epoch checkpoint as on disk now.
fn checkpointed_epochs(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("leader-epoch-checkpoint")).unwrap_or_default();
    text.lines().skip(2).map(str::to_owned).collect()
}

#[test]
fn a_new_leader_epoch_is_checkpointed_by_the_flusher_before_its_append_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = gated_dir(dir.path());
    let tp = TopicPartition::new("epochs", 0);
    let log = data.open_partition(&tp, LogConfig::default()).unwrap().0;
    syncer.set_open(true);
    log.append(&mut batch(0, 1, 0), 0)
        .unwrap()
        .durable
        .wait()
        .unwrap();
    assert_eq!(checkpointed_epochs(log.dir()), ["0 0"]);

    syncer.set_open(false);
    let mut durable = log.append(&mut batch(1, 1, 0), 3).unwrap().durable;
    wait_until("the flusher to block in an fsync", WAIT, || {
        syncer.waiting.load(Ordering::SeqCst) > 0
    });
    assert!(durable.try_wait().is_none(), "resolved before its fsync");
    assert_eq!(log.epochs().len(), 2, "the log knows the new epoch at once");
    syncer.set_open(true);
    durable.wait().unwrap();
    assert_eq!(
        checkpointed_epochs(log.dir()),
        ["0 0", "3 1"],
        "an acknowledged append's epoch is on disk"
    );
}

#[test]
fn dropping_a_data_dir_waits_for_its_background_seals() {
    let dir = tempfile::tempdir().unwrap();
    let syncer = Arc::new(GatedSyncer::default());
    let options = WalOptions {
        fsync: FsyncPolicy::Never,
        syncer: syncer.clone(),
    };
    let data = DataDir::open(dir.path(), options).unwrap();
    let (log, _) = data.open_partition(&tp(), LogConfig::default()).unwrap();
    log.append(&mut batch(1, 1, 0), 0).unwrap();
    log.roll_segment().unwrap();
    // The rolled segment's seal is at the closed gate.
    wait_until("the seal at the gate", WAIT, || {
        syncer.waiting.load(Ordering::SeqCst) == 1
    });
    let dropping = Arc::new(AtomicBool::new(false));
    let opener = {
        let (syncer, dropping) = (syncer.clone(), dropping.clone());
        std::thread::spawn(move || {
            wait_until("the drop to begin", WAIT, || {
                dropping.load(Ordering::SeqCst)
            });
            syncer.set_open(true);
        })
    };
    drop(log);
    dropping.store(true, Ordering::SeqCst);
    drop(data);
    // Nothing of the dropped dir is still writing: its seal finished before the drop returned,
    // so whatever opens the directory next cannot race it.
    assert_eq!(syncer.completed.load(Ordering::SeqCst), 1);
    opener.join().unwrap();
}

#[test]
fn a_log_with_flush_messages_1_waits_for_its_fsync_in_a_dir_that_never_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = gated_dir_with(dir.path(), FsyncPolicy::Never);
    let (strict, _) =
        (data.open_partition(&TopicPartition::new("strict", 0), with_flush(1, None))).unwrap();
    let (loose, _) =
        (data.open_partition(&TopicPartition::new("loose", 0), LogConfig::default())).unwrap();
    let mut loose_append = loose.append(&mut batch(1, 5, 0), 0).unwrap().durable;
    assert!(
        matches!(loose_append.try_wait(), Some(Ok(()))),
        "the dir's policy never waits"
    );
    let mut strict_append = strict.append(&mut batch(2, 5, 0), 0).unwrap().durable;
    wait_until("the strict log's fsync to start", WAIT, || {
        syncer.waiting.load(Ordering::SeqCst) > 0
    });
    assert!(
        strict_append.try_wait().is_none(),
        "resolved before its fsync"
    );
    syncer.set_open(true);
    strict_append.wait().unwrap();
    assert_eq!(
        data.flush_stats().rounds,
        1,
        "only the strict log was synced"
    );
}

#[test]
fn flush_messages_syncs_once_enough_records_wait_and_appends_never_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = gated_dir(dir.path());
    let tp = TopicPartition::new("every-10", 0);
    let (log, _) = data.open_partition(&tp, with_flush(10, None)).unwrap();
    for i in 0..3 {
        let mut d = log.append(&mut batch(i, 3, 0), 0).unwrap().durable;
        assert!(matches!(d.try_wait(), Some(Ok(()))), "append {i} waited");
    }
    // 9 records: below flush.messages, so nothing was scheduled at all.
    assert_eq!(data.flush_stats().rounds, 0);
    assert_eq!(syncer.waiting.load(Ordering::SeqCst), 0);
    let mut tenth = log.append(&mut batch(3, 3, 0), 0).unwrap().durable;
    assert!(matches!(tenth.try_wait(), Some(Ok(()))));
    syncer.set_open(true);
    wait_until("the sync of 12 unflushed records", WAIT, || {
        syncer.completed.load(Ordering::SeqCst) >= 1
    });
    assert_eq!(data.flush_stats().appends_released, 0, "no append waited");
}

#[test]
fn flush_ms_syncs_what_waited_that_long_and_closing_syncs_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = gated_dir_with(dir.path(), FsyncPolicy::Never);
    syncer.set_open(true);
    let soon = data.open_partition(
        &TopicPartition::new("soon", 0),
        with_flush(u64::MAX, Some(Duration::from_millis(100))),
    );
    let late = data.open_partition(
        &TopicPartition::new("late", 0),
        with_flush(u64::MAX, Some(Duration::from_secs(3600))),
    );
    let (soon, late) = (soon.unwrap().0, late.unwrap().0);
    let mut d = late.append(&mut batch(1, 2, 0), 0).unwrap().durable;
    assert!(matches!(d.try_wait(), Some(Ok(()))));
    let mut d = soon.append(&mut batch(2, 2, 0), 0).unwrap().durable;
    assert!(matches!(d.try_wait(), Some(Ok(()))));
    wait_until("the 100 ms log's sync", WAIT, || {
        data.flush_stats().rounds >= 1
    });
    assert_eq!(
        data.flush_stats().rounds,
        1,
        "the hour-long log is not due yet"
    );
    drop((soon, late));
    let synced = syncer.clone();
    drop(data);
    assert_eq!(
        synced.completed.load(Ordering::SeqCst),
        2,
        "closing synced the hour-long log"
    );
}

/// A syncer whose single-file syncs wait at a gate and whose syncs of files together are
/// counted (and fail when told to).
#[derive(Default)]
struct TogetherSyncer {
    gate: GatedSyncer,
    together: AtomicU64,
    files_together: AtomicU64,
    /// Files of each call, in order.
    calls: std::sync::Mutex<Vec<usize>>,
    fail_together: AtomicBool,
}

impl Syncer for TogetherSyncer {
    fn sync(&self, file: &File) -> std::io::Result<()> {
        self.gate.sync(file)
    }

    fn sync_together(&self, files: &[&File]) -> Option<std::io::Result<()>> {
        self.together.fetch_add(1, Ordering::SeqCst);
        (self.files_together).fetch_add(files.len() as u64, Ordering::SeqCst);
        self.calls.lock().unwrap().push(files.len());
        Some(match self.fail_together.load(Ordering::SeqCst) {
            true => Err(std::io::Error::from_raw_os_error(5)),
            false => Ok(()),
        })
    }
}

/// A data dir under `fsync always` syncing through a [`TogetherSyncer`].
fn together_dir(dir: &std::path::Path) -> (DataDir, Arc<TogetherSyncer>) {
    let syncer = Arc::new(TogetherSyncer::default());
    let options = WalOptions {
        fsync: FsyncPolicy::Always,
        syncer: syncer.clone(),
    };
    (DataDir::open(dir, options).unwrap(), syncer)
}

/// Blocks every flusher worker in a gated sync of a log of its own, then appends once to each
/// of `logs`: they fall due together while no worker is free.
fn due_together(
    data: &DataDir,
    syncer: &TogetherSyncer,
    topic: &str,
    logs: i32,
) -> Vec<chronik_wal::Durable> {
    syncer.gate.set_open(false);
    let blocked = block_workers(data, syncer, &format!("{topic}-blocker"));
    let durables = (0..logs)
        .map(|p| {
            let (log, _) = (data
                .open_partition(&TopicPartition::new(topic, p), LogConfig::default()))
            .unwrap();
            log.append(&mut batch(2, 1, 0), 0).unwrap().durable
        })
        .collect();
    syncer.gate.set_open(true);
    for d in blocked {
        d.wait().unwrap();
    }
    durables
}

#[test]
fn logs_due_together_are_synced_by_one_call_whose_failure_fails_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = together_dir(dir.path());

    for d in due_together(&data, &syncer, "ok", 16) {
        d.wait().unwrap();
    }
    // A first append stages its log's epoch checkpoint: two calls write the 16 of them.
    assert_eq!(syncer.together.load(Ordering::SeqCst), 3);
    assert_eq!(syncer.files_together.load(Ordering::SeqCst), 3 * 16);
    for d in due_together(&data, &syncer, "ok", 16) {
        d.wait().unwrap();
    }
    assert_eq!(syncer.together.load(Ordering::SeqCst), 4);
    assert_eq!(syncer.files_together.load(Ordering::SeqCst), 4 * 16);

    for d in due_together(&data, &syncer, "failing", 16) {
        d.wait().unwrap();
    }
    syncer.fail_together.store(true, Ordering::SeqCst);
    for d in due_together(&data, &syncer, "failing", 16) {
        let err = d.wait().unwrap_err();
        assert!(matches!(err, WalError::LogFailed { .. }), "{err}");
    }
    let (log, _) =
        (data.open_partition(&TopicPartition::new("failing", 3), LogConfig::default())).unwrap();
    assert!(matches!(
        log.append(&mut batch(3, 1, 0), 0),
        Err(WalError::LogFailed { .. })
    ));
    let (other, _) =
        (data.open_partition(&TopicPartition::new("ok", 3), LogConfig::default())).unwrap();
    other
        .append(&mut batch(3, 1, 0), 0)
        .unwrap()
        .durable
        .wait()
        .unwrap();
}

#[test]
fn appends_made_together_are_synced_by_one_call_once_all_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = together_dir(dir.path());
    syncer.gate.set_open(true);
    let logs: Vec<_> = (0..16)
        .map(|p| {
            let tp = TopicPartition::new("together", p);
            data.open_partition(&tp, LogConfig::default()).unwrap().0
        })
        .collect();
    // Every flusher worker is idle: without holding back their wake-up, the first append
    // would start a sync of its log alone.
    let durables = chronik_wal::appends_together(|| {
        let durables: Vec<_> = (logs.iter())
            .map(|log| log.append(&mut batch(1, 1, 0), 0).unwrap().durable)
            .collect();
        assert_eq!(syncer.gate.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(syncer.gate.completed.load(Ordering::SeqCst), 0);
        durables
    });
    for d in durables {
        d.wait().unwrap();
    }
    // Two calls for the new logs' epoch checkpoints, one for their data.
    assert_eq!(syncer.together.load(Ordering::SeqCst), 3);
    assert_eq!(syncer.files_together.load(Ordering::SeqCst), 3 * 16);
    assert_eq!(syncer.gate.completed.load(Ordering::SeqCst), 0);
}

/// `count` new logs of `topic` in `data`, each appended to once (so their epoch checkpoints
/// are written before the appends below).
fn written_logs(data: &DataDir, topic: &str, count: i32) -> Vec<Arc<PartitionLog>> {
    let logs: Vec<_> = (0..count)
        .map(|p| {
            let tp = TopicPartition::new(topic, p);
            data.open_partition(&tp, LogConfig::default()).unwrap().0
        })
        .collect();
    for log in &logs {
        log.append(&mut batch(1, 1, 0), 0)
            .unwrap()
            .durable
            .wait()
            .unwrap();
    }
    logs
}

#[test]
fn a_few_logs_appended_together_are_synced_by_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = together_dir(dir.path());
    syncer.gate.set_open(true);
    let logs = written_logs(&data, "pair", 2);
    let singles = append_while_blocked(&data, &syncer, || {
        chronik_wal::appends_together(|| {
            (logs.iter())
                .map(|log| log.append(&mut batch(2, 1, 0), 0).unwrap().durable)
                .collect()
        })
    });
    assert_eq!(singles, 0);
    assert_eq!(syncer.together.load(Ordering::SeqCst), 1);
    assert_eq!(syncer.files_together.load(Ordering::SeqCst), 2);
}

#[test]
fn a_few_logs_due_together_but_appended_by_separate_calls_are_synced_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = together_dir(dir.path());
    syncer.gate.set_open(true);
    let logs = written_logs(&data, "apart", 3);
    // One call each, as single-partition requests make.
    let singles = append_while_blocked(&data, &syncer, || {
        (logs.iter())
            .map(|log| {
                chronik_wal::appends_together(|| {
                    log.append(&mut batch(2, 1, 0), 0).unwrap().durable
                })
            })
            .collect()
    });
    assert_eq!(singles, 3);
    assert_eq!(syncer.together.load(Ordering::SeqCst), 0);
}

/// Runs `append` while every flusher worker is blocked, so that the logs it appends to fall
/// due in one round, then lets the workers go and waits for its appends. Returns the
/// single-file syncs made for them.
fn append_while_blocked(
    data: &DataDir,
    syncer: &TogetherSyncer,
    append: impl FnOnce() -> Vec<chronik_wal::Durable>,
) -> u64 {
    let before = syncer.gate.completed.load(Ordering::SeqCst);
    syncer.gate.set_open(false);
    let blocked = block_workers(data, syncer, "blocker");
    let durables = append();
    syncer.gate.set_open(true);
    for d in durables.into_iter().chain(blocked) {
        d.wait().unwrap();
    }
    syncer.gate.completed.load(Ordering::SeqCst) - before - 4
}

/// Appends to four logs of `topic` while `syncer`'s gate is shut, until every flusher worker
/// is blocked in one of their syncs.
fn block_workers(
    data: &DataDir,
    syncer: &TogetherSyncer,
    topic: &str,
) -> Vec<chronik_wal::Durable> {
    let mut blocked = Vec::new();
    for p in 0..4 {
        let tp = TopicPartition::new(topic, p);
        let (log, _) = data.open_partition(&tp, LogConfig::default()).unwrap();
        blocked.push(log.append(&mut batch(1, 1, 0), 0).unwrap().durable);
        wait_until("a flusher worker to block", WAIT, || {
            syncer.gate.waiting.load(Ordering::SeqCst) == p as u64 + 1
        });
    }
    blocked
}

#[test]
fn the_epoch_checkpoints_of_logs_due_together_are_written_together_or_fail_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = together_dir(dir.path());
    syncer.gate.set_open(true);
    let open = |topic: &str| -> Vec<_> {
        (0..16)
            .map(|p| {
                let tp = TopicPartition::new(topic, p);
                data.open_partition(&tp, LogConfig::default()).unwrap().0
            })
            .collect()
    };
    let append_all = |logs: &[Arc<chronik_wal::PartitionLog>], epoch| {
        chronik_wal::appends_together(|| {
            (logs.iter())
                .map(|log| log.append(&mut batch(1, 1, 0), epoch).unwrap().durable)
                .collect::<Vec<_>>()
        })
    };
    let logs = open("epochs");
    for d in append_all(&logs, 7) {
        d.wait().unwrap();
    }
    // The temp files, then the renames, then the data; no file synced on its own.
    assert_eq!(syncer.together.load(Ordering::SeqCst), 3);
    assert_eq!(syncer.gate.completed.load(Ordering::SeqCst), 0);
    for log in &logs {
        assert_eq!(checkpointed_epochs(log.dir()), ["7 0"]);
        assert!(!log.dir().join("leader-epoch-checkpoint.tmp").exists());
    }
    for d in append_all(&logs, 9) {
        d.wait().unwrap();
    }
    for log in &logs {
        assert_eq!(checkpointed_epochs(log.dir()), ["7 0", "9 1"]);
    }

    syncer.fail_together.store(true, Ordering::SeqCst);
    let failing = open("failing");
    for d in append_all(&failing, 3) {
        let err = d.wait().unwrap_err();
        assert!(matches!(err, WalError::LogFailed { .. }), "{err}");
    }
    assert!(matches!(
        failing[0].append(&mut batch(2, 1, 0), 3),
        Err(WalError::LogFailed { .. })
    ));
}

#[test]
fn the_checkpoints_of_thousands_of_new_logs_are_written_a_bounded_number_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (data, syncer) = together_dir(dir.path());
    syncer.gate.set_open(true);
    let logs: Vec<_> = (0..300)
        .map(|p| {
            let tp = TopicPartition::new("many", p);
            data.open_partition(&tp, LogConfig::default()).unwrap().0
        })
        .collect();
    let durables = chronik_wal::appends_together(|| {
        (logs.iter())
            .map(|log| log.append(&mut batch(1, 1, 0), 4).unwrap().durable)
            .collect::<Vec<_>>()
    });
    for d in durables {
        d.wait().unwrap();
    }
    // One call for the 300 logs' data; the checkpoints' temp files and renames in calls that
    // each hold a part of them open, so the files open at once stay bounded.
    let calls = syncer.calls.lock().unwrap().clone();
    let (data_calls, checkpoint_calls): (Vec<usize>, Vec<usize>) =
        calls.iter().partition(|&&files| files == logs.len());
    assert_eq!(data_calls.len(), 1, "{calls:?}");
    assert!(checkpoint_calls.len() > 2, "{calls:?}");
    assert_eq!(checkpoint_calls.iter().sum::<usize>(), 2 * logs.len());
    for log in &logs {
        assert_eq!(checkpointed_epochs(log.dir()), ["4 0"]);
    }
}
