//! What a log has written and not yet fsynced, shared between the log and the flusher: the
//! files to sync, the appends waiting for it, metadata staged to write first, and where the
//! log stands in the flusher's schedule.

use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use chronik_types::Offset;
use tokio::sync::oneshot;

use crate::syncer::Syncer;
use crate::{Result, WalError};

pub(crate) type Waiter = oneshot::Sender<Result<(), String>>;

/// What a log has written but not yet made durable. Shared between the log and the flusher.
pub(crate) struct PendingSync {
    pub(crate) name: Arc<str>,
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
    /// The [`crate::appends_together`] call that wrote to this log since its last sync, if
    /// any: logs written by one call are waited for together.
    pub(crate) appended_by: Option<u64>,
    pub(crate) failed: Option<String>,
    checkpoint: Option<StagedCheckpoint>,
    /// A partition dir whose entries (a new segment) must be made durable before the next
    /// release.
    dir_sync: Option<std::path::PathBuf>,
}

impl PendingSync {
    pub(crate) fn new(name: String, device: Option<u64>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
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
        self.take_staged().write()
    }

    /// Takes what was staged, to be written before this log's next release; until it is
    /// dropped, no other staged write of this log starts.
    pub(crate) fn take_staged(&self) -> Staged<'_> {
        let io = self.checkpoint_io.lock().unwrap_or_else(|p| p.into_inner());
        let mut inner = self.lock();
        Staged {
            _io: io,
            checkpoint: inner.checkpoint.take(),
            dir_sync: inner.dir_sync.take(),
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

/// What one log staged, taken for writing; holds the log's staged-write lock.
pub(crate) struct Staged<'a> {
    _io: MutexGuard<'a, ()>,
    checkpoint: Option<StagedCheckpoint>,
    dir_sync: Option<std::path::PathBuf>,
}

impl Staged<'_> {
    pub(crate) fn has_checkpoint(&self) -> bool {
        self.checkpoint.is_some()
    }

    /// Writes it on its own: the epoch checkpoint (temp file, fsync, rename, dir sync) or
    /// else a dir sync. A log's first checkpoint is only written and renamed: until it is
    /// whole on disk, recovery finds none (or one it cannot decode) and reads every epoch back
    /// from the frame headers, which hold the same entries. A new partition's first append
    /// thus costs no sync beyond its data's.
    pub(crate) fn write(self) -> Result<()> {
        match (&self.checkpoint, &self.dir_sync) {
            (Some(staged), dir_sync) if !crate::epoch::exists(&staged.dir)? => {
                crate::epoch::write_temp(&staged.dir, &staged.encoded)?;
                crate::epoch::install_temp(&staged.dir)?;
                dir_sync.as_deref().map_or(Ok(()), crate::epoch::sync_dir)
            }
            (Some(staged), _) => crate::epoch::store_encoded(&staged.dir, &staged.encoded),
            (None, Some(dir)) => crate::epoch::sync_dir(dir),
            (None, None) => Ok(()),
        }
    }
}

/// Checkpoint temp files one [`write_together`] call holds open at once. A request or a fetch
/// answer can reach thousands of new partitions, and one descriptor per checkpoint on top of
/// each log's segment would pass the open-files limit (EMFILE, failing those logs).
pub(crate) const CHECKPOINTS_AT_ONCE: usize = 128;

/// Writes what many logs on one filesystem staged with two `sync_together` calls per
/// [`CHECKPOINTS_AT_ONCE`] checkpoints, instead of an fsync, a rename and a dir fsync per
/// checkpoint: the temp files are written and synced together; then each is renamed into
/// place, and the renames and staged dir entries are synced together. A checkpoint is thus
/// whole on disk before its name points at it, and in place before the data it covers is
/// released. `None` when the syncer cannot sync these files together; the temp files written
/// are then written again by [`Staged::write`].
pub(crate) fn write_together(staged: &[Staged], syncer: &dyn Syncer) -> Option<Result<()>> {
    let checkpoints: Vec<&StagedCheckpoint> = staged
        .iter()
        .filter_map(|s| s.checkpoint.as_ref())
        .collect();
    for chunk in checkpoints.chunks(CHECKPOINTS_AT_ONCE) {
        if let Err(e) = write_chunk(chunk, syncer)? {
            return Some(Err(e));
        }
    }
    Some(Ok(()))
}

/// [`write_together`] for one chunk of checkpoints, its temp files open until it ends.
fn write_chunk(chunk: &[&StagedCheckpoint], syncer: &dyn Syncer) -> Option<Result<()>> {
    let mut temps = Vec::with_capacity(chunk.len());
    for c in chunk {
        match crate::epoch::write_temp(&c.dir, &c.encoded) {
            Ok(file) => temps.push((file, &c.dir)),
            Err(e) => return Some(Err(e)),
        }
    }
    let files: Vec<&File> = temps.iter().map(|(f, _)| f).collect();
    if let Err(e) = syncer.sync_together(&files)? {
        return Some(Err(sync_error(temps.first().map(|(_, d)| d.as_path()), e)));
    }
    for (_, dir) in &temps {
        if let Err(e) = crate::epoch::install_temp(dir) {
            return Some(Err(e));
        }
    }
    let installed = syncer.sync_together(&files)?;
    Some(installed.map_err(|e| sync_error(temps.first().map(|(_, d)| d.as_path()), e)))
}

fn sync_error(dir: Option<&std::path::Path>, source: std::io::Error) -> WalError {
    WalError::Io {
        path: dir.map(|d| d.to_path_buf()).unwrap_or_default(),
        source,
    }
}
