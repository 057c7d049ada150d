//! A crash at each step of a segment swap, then a reopen: the log reads exactly as before the
//! swap (it was not decided) or exactly as after it (it was), never a mix, and a second reopen
//! changes nothing. A failed fsync stops the swap code where it is, leaving the directory as a
//! crash at that step would; other states are made by hand from those.

mod common;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chronik_types::FsyncPolicy;
use chronik_wal::{
    DataDir, PartitionLog, RecoveryOptions, SegmentRewrite, SwapState, Syncer, WalError,
    WalOptions, plan_recovery,
};
use common::cleaner::*;
use common::*;

/// Which fsync to fail.
#[derive(Debug, Clone, Copy)]
enum FailAt {
    /// The cleaned file's, before the swap is decided.
    CleanedFile,
    /// The partition directory's, after this many successful ones.
    DirSync(usize),
}

/// A syncer that fails one chosen fsync, once.
#[derive(Default)]
struct FailingSyncer {
    armed: Mutex<Option<FailAt>>,
}

fn path_of(file: &File) -> PathBuf {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap_or_default()
}

impl Syncer for FailingSyncer {
    fn sync(&self, file: &File) -> std::io::Result<()> {
        let mut armed = self.armed.lock().unwrap();
        let fail = match *armed {
            Some(FailAt::CleanedFile) => path_of(file).to_string_lossy().ends_with(".cleaned"),
            Some(FailAt::DirSync(n)) if file.metadata()?.is_dir() => {
                *armed = (n > 0).then(|| FailAt::DirSync(n - 1));
                n == 0
            }
            _ => false,
        };
        if fail {
            *armed = None;
            return Err(std::io::Error::other("injected fsync failure"));
        }
        file.sync_data()
    }
}

/// A log with a rewrite of three segments ready to swap, and the views before and after.
struct Scenario {
    data: DataDir,
    log: Arc<PartitionLog>,
    syncer: Arc<FailingSyncer>,
    rewrite: SegmentRewrite,
    before: LogView,
    after: LogView,
    replaced: Vec<PathBuf>,
}

fn scenario(dir: &Path) -> Scenario {
    let syncer = Arc::new(FailingSyncer::default());
    let options = WalOptions {
        fsync: FsyncPolicy::Never,
        syncer: syncer.clone(),
    };
    let data = DataDir::open(dir, options).unwrap();
    let (log, _) = data.open_partition(&tp(), small_segments()).unwrap();
    fill(&log);
    let before = view(&log);
    let bases = before.bases[1..4].to_vec();
    let (rewrite, kept) = clean(&log, &bases, every_third);
    let after = expected_after(&before, &bases, before.bases[4], &kept);
    let replaced = (log.segments().into_iter())
        .filter(|s| bases.contains(&s.base_offset))
        .map(|s| s.path)
        .collect();
    Scenario {
        data,
        log,
        syncer,
        rewrite,
        before,
        after,
        replaced,
    }
}

/// Opens the log as a restarted broker would; returns its view and recovery report.
fn reopen(dir: &Path) -> (LogView, chronik_wal::RecoveryReport) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, report) = data.open_partition(&tp(), small_segments()).unwrap();
    let seen = view(&log);
    assert_every_offset_reads_right(&log, &seen);
    (seen, report.unwrap())
}

/// The files of a log dir but its index files (and their temp files), which the crashed
/// instance's background seals of segments outside the swap may still be writing.
fn data_files(log_dir: &Path) -> Vec<String> {
    let names = file_names(log_dir).into_iter();
    names
        .filter(|f| !f.ends_with(".index") && !f.ends_with(".index.tmp"))
        .collect()
}

/// Reopens twice: the first open must give `expected` (finishing or discarding `swaps` swaps),
/// the second exactly the same with nothing left to do.
fn assert_recovers_to(dir: &Path, expected: &LogView, swaps: usize, what: &str) {
    let log_dir = dir.join("partitions").join(tp().dir_name());
    let files = data_files(&log_dir);
    let planned = plan_recovery(&log_dir, &tp().dir_name(), RecoveryOptions::default()).unwrap();
    assert_eq!(planned.swaps.len(), swaps, "{what}: dry run {planned:?}");
    assert_eq!(
        data_files(&log_dir),
        files,
        "{what}: the dry run changed nothing"
    );
    let (seen, report) = reopen(dir);
    assert_eq!(&seen, expected, "{what}: first reopen");
    assert_eq!(
        (report.swaps.len(), report.cut.clone()),
        (swaps, None),
        "{what}: {report:?}"
    );
    let settled = data_files(&log_dir);
    assert!(
        !settled
            .iter()
            .any(|f| f.ends_with(".swap") || f.ends_with(".cleaned")),
        "{what}: {settled:?}"
    );
    let (again, report) = reopen(dir);
    assert_eq!(&again, expected, "{what}: second reopen");
    assert!(
        report.swaps.is_empty() && report.cut.is_none(),
        "{what}: {report:?}"
    );
    assert_eq!(
        data_files(&log_dir),
        settled,
        "{what}: second reopen changed files"
    );
}

fn has_file(log: &PartitionLog, suffix: &str) -> bool {
    file_names(log.dir()).iter().any(|f| f.ends_with(suffix))
}

#[test]
fn a_crash_before_the_decision_leaves_the_log_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path());
    assert!(has_file(&s.log, ".cleaned"));
    // A crash: nothing runs after the cleaned file was written.
    std::mem::forget(s.rewrite);
    drop((s.log, s.data));
    assert_recovers_to(dir.path(), &s.before, 1, "undecided");
}

#[test]
fn a_failed_fsync_of_the_cleaned_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path());
    *s.syncer.armed.lock().unwrap() = Some(FailAt::CleanedFile);
    let failed = s.log.swap_in(s.rewrite);
    assert!(matches!(failed, Err(WalError::Io { .. })), "{failed:?}");
    assert_eq!(view(&s.log), s.before);
    assert!(!has_file(&s.log, ".cleaned") && !has_file(&s.log, ".swap"));
    assert_eq!(s.log.failure(), None, "the log goes on");
    s.log.append(&mut batch(999, 1, 0), 2).unwrap();
}

#[test]
fn a_swap_interrupted_after_each_decided_step_is_completed_on_open() {
    // Dir fsync 0 follows the rename to .swap, 1 the deletions, 2 the final rename.
    for step in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let s = scenario(dir.path());
        *s.syncer.armed.lock().unwrap() = Some(FailAt::DirSync(step));
        let failed = s.log.swap_in(s.rewrite);
        assert!(
            matches!(failed, Err(WalError::SwapInterrupted { .. })),
            "step {step}: {failed:?}"
        );
        // The first replaced segment's name comes back as the cleaned segment's at step 2.
        let on_disk = (
            has_file(&s.log, ".swap"),
            s.replaced[1..].iter().any(|p| p.exists()),
            s.replaced[0].exists(),
        );
        let expected = (step < 2, step == 0, step != 1);
        assert_eq!(on_disk, expected, "step {step}: where the swap stopped");
        assert_eq!(
            view(&s.log),
            s.before,
            "step {step}: reads go on from the open files"
        );
        let refused = [
            s.log.append(&mut batch(999, 1, 0), 2).err(),
            s.log.truncate_to(s.before.end - 1).err(),
            s.log.delete_before(s.before.end).err(),
            s.log.begin_rewrite(&s.before.bases[0..1]).err(),
        ];
        assert!(
            refused.iter().all(Option::is_some),
            "step {step}: {refused:?}"
        );
        drop((s.log, s.data));
        let swaps = usize::from(step < 2);
        assert_recovers_to(dir.path(), &s.after, swaps, &format!("step {step}"));
    }
}

#[test]
fn a_crash_while_deleting_the_replaced_segments_is_completed_on_open() {
    for deleted in 1..7u32 {
        let dir = tempfile::tempdir().unwrap();
        let s = scenario(dir.path());
        *s.syncer.armed.lock().unwrap() = Some(FailAt::DirSync(0));
        assert!(s.log.swap_in(s.rewrite).is_err());
        // Each bit of `deleted` names a replaced segment already gone, index first.
        for (i, path) in s.replaced.iter().enumerate() {
            if deleted & (1 << i) != 0 {
                let _ = std::fs::remove_file(path.with_extension("index"));
                std::fs::remove_file(path).unwrap();
            }
        }
        drop((s.log, s.data));
        assert_recovers_to(dir.path(), &s.after, 1, &format!("deleted {deleted:03b}"));
    }
}

#[test]
fn overlapping_decided_swaps_are_refused_not_guessed_at() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path());
    let log_dir = s.log.dir().to_path_buf();
    drop((s.rewrite, s.log, s.data));
    let swap = |base: i64, end: i64| log_dir.join(format!("{base:020}-{end:020}.swap"));
    std::fs::write(swap(s.before.bases[0], s.before.bases[2]), b"").unwrap();
    std::fs::write(swap(s.before.bases[1], s.before.bases[3]), b"").unwrap();
    let found = chronik_wal::interrupted_swaps(&log_dir);
    assert!(matches!(found, Err(WalError::Corrupt { .. })), "{found:?}");
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    let opened = data.open_partition(&tp(), small_segments());
    assert!(matches!(opened, Err(WalError::Corrupt { .. })));
    assert!(
        log_dir
            .join(format!("{:020}.wal", s.before.bases[1]))
            .exists(),
        "nothing removed"
    );
}

#[test]
fn interrupted_swaps_are_listed_with_what_they_replace() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path());
    *s.syncer.armed.lock().unwrap() = Some(FailAt::DirSync(0));
    assert!(s.log.swap_in(s.rewrite).is_err());
    let found = chronik_wal::interrupted_swaps(s.log.dir()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state, SwapState::Decided);
    assert_eq!(
        (found[0].base_offset, found[0].end_offset),
        (s.before.bases[1], s.before.bases[4])
    );
    assert_eq!(found[0].replaced_segments, s.replaced);
}
