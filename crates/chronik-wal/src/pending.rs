//! What a log has written and not yet fsynced, shared between the log and the flusher: the
//! files to sync, the appends waiting for it, metadata staged to write first, and where the
//! log stands in the flusher's schedule.

use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use chronik_types::Offset;
use tokio::sync::oneshot;

use crate::{Result, WalError};

pub(crate) type Waiter = oneshot::Sender<Result<(), String>>;

/// What a log has written but not yet made durable. Shared between the log and the flusher.
pub(crate) struct PendingSync {
    pub(crate) name: String,
    /// The filesystem the log's files are on (`st_dev` of its dir): logs on one filesystem
    /// may be made durable together.
    pub(crate) device: Option<u64>,
    inner: Mutex<PendingInner>,
    /// Held while staged metadata is written, so an older epoch checkpoint never lands after
    /// a newer one.
    checkpoint_io: Mutex<()>,
}

/// A leader-epoch checkpoint to write before the next fsync releases an append: the epoch a
/// log's new records were written in must be on disk before they are acknowledged.
struct StagedCheckpoint {
    dir: std::path::PathBuf,
    encoded: String,
}

#[derive(Default)]
pub(crate) struct PendingInner {
    /// The flusher's schedule entry for this log (when it is due, and the entry's sequence
    /// number); entries not matching it are stale and skipped.
    pub(crate) scheduled: Option<(Instant, u64)>,
    /// A worker is fsyncing this log now; one at a time per log, so each fsync covers
    /// everything written while the previous one ran.
    pub(crate) in_flight: bool,
    /// When the next sync is due, asked for while one was in flight.
    pub(crate) wanted: Option<Instant>,
    /// Records written since the last sync began (`flush.messages` counts them).
    pub(crate) unflushed: u64,
    pub(crate) files: Vec<Arc<File>>,
    pub(crate) waiters: Vec<(Offset, Waiter)>,
    pub(crate) failed: Option<String>,
    checkpoint: Option<StagedCheckpoint>,
    /// A partition dir whose entries (a new segment) must be made durable before the next
    /// release.
    dir_sync: Option<std::path::PathBuf>,
}

impl PendingSync {
    pub(crate) fn new(name: String, device: Option<u64>) -> Arc<Self> {
        Arc::new(Self {
            name,
            device,
            inner: Mutex::new(PendingInner::default()),
            checkpoint_io: Mutex::new(()),
        })
    }

    /// Stages the epoch checkpoint of `dir` (replacing one not yet written) for the next
    /// sync of this log; nothing is written here, so callers may hold the log's lock.
    pub(crate) fn stage_checkpoint(&self, dir: &std::path::Path, encoded: String) {
        self.lock().checkpoint = Some(StagedCheckpoint {
            dir: dir.to_path_buf(),
            encoded,
        });
    }

    /// Stages a sync of `dir` (a segment was created in it) for the next sync of this log.
    pub(crate) fn stage_dir_sync(&self, dir: &std::path::Path) {
        self.lock().dir_sync = Some(dir.to_path_buf());
    }

    /// Writes what was staged: the epoch checkpoint (temp file, fsync, rename, which also
    /// syncs its dir) or else a dir sync.
    pub(crate) fn write_staged(&self) -> Result<()> {
        let _io = self.checkpoint_io.lock().unwrap_or_else(|p| p.into_inner());
        let (checkpoint, dir) = {
            let mut inner = self.lock();
            (inner.checkpoint.take(), inner.dir_sync.take())
        };
        match (checkpoint, dir) {
            (Some(staged), _) => crate::epoch::store_encoded(&staged.dir, &staged.encoded),
            (None, Some(dir)) => crate::epoch::sync_dir(&dir),
            (None, None) => Ok(()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, PendingInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reason the log stopped accepting writes, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        self.lock().failed.clone()
    }

    pub(crate) fn fail(&self, reason: String) {
        let mut inner = self.lock();
        for (_, w) in inner.waiters.drain(..) {
            let _ = w.send(Err(reason.clone()));
        }
        inner.failed.get_or_insert(reason);
    }

    /// Fails the waiters of appends at or after `end` (truncated before becoming durable).
    pub(crate) fn drop_waiters_from(&self, end: Offset) {
        let mut inner = self.lock();
        let (gone, kept): (Vec<_>, Vec<_>) = inner.waiters.drain(..).partition(|(o, _)| *o >= end);
        inner.waiters = kept;
        for (_, w) in gone {
            let _ = w.send(Err(WalError::Truncated.to_string()));
        }
    }
}
