//! Group commit: one flusher thread per data dir fsyncs every log written since its last round,
//! starting the next round as soon as the previous one ends, and releases the appends that the
//! round made durable. Many appenders therefore share each fsync without any fixed sleep.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use chronik_types::{FsyncPolicy, Offset};
use tokio::sync::oneshot;

use crate::{Result, WalError};

/// How a file is made durable. Tests and fault injection replace it; production uses
/// `fdatasync`.
pub trait Syncer: Send + Sync + 'static {
    fn sync(&self, file: &File) -> std::io::Result<()>;
}

/// `fdatasync(2)`: data and the metadata needed to read it back.
pub struct FdataSync;

impl Syncer for FdataSync {
    fn sync(&self, file: &File) -> std::io::Result<()> {
        file.sync_data()
    }
}

/// Counters describing the flusher's work so far.
#[derive(Debug, Default)]
pub struct FlushStats {
    rounds: AtomicU64,
    fsyncs: AtomicU64,
    appends_released: AtomicU64,
    fsync_nanos: AtomicU64,
}

/// A copy of [`FlushStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushStatsSnapshot {
    pub rounds: u64,
    pub fsyncs: u64,
    pub appends_released: u64,
    pub fsync_nanos: u64,
}

impl FlushStats {
    pub fn snapshot(&self) -> FlushStatsSnapshot {
        FlushStatsSnapshot {
            rounds: self.rounds.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            appends_released: self.appends_released.load(Ordering::Relaxed),
            fsync_nanos: self.fsync_nanos.load(Ordering::Relaxed),
        }
    }
}

type Waiter = oneshot::Sender<Result<(), String>>;

/// What a log has written but not yet made durable. Shared between the log and the flusher.
pub(crate) struct PendingSync {
    pub(crate) name: String,
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
struct PendingInner {
    /// Waiting in the flusher's queue, or to be put back when the sync in flight ends.
    queued: bool,
    /// A worker is fsyncing this log now; one at a time per log, so each fsync covers
    /// everything written while the previous one ran.
    in_flight: bool,
    files: Vec<Arc<File>>,
    waiters: Vec<(Offset, Waiter)>,
    failed: Option<String>,
    checkpoint: Option<StagedCheckpoint>,
    /// A partition dir whose entries (a new segment) must be made durable before the next
    /// release.
    dir_sync: Option<std::path::PathBuf>,
}

impl PendingSync {
    pub(crate) fn new(name: String) -> Arc<Self> {
        Arc::new(Self {
            name,
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

    fn lock(&self) -> MutexGuard<'_, PendingInner> {
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

/// The handle an append returns: resolves once the append is as durable as the dir's fsync
/// policy promises (after its fsync under `always`; at once otherwise).
#[derive(Debug)]
#[must_use = "an append is only durable once its handle resolves"]
pub struct Durable {
    log: String,
    rx: Option<oneshot::Receiver<Result<(), String>>>,
}

impl Durable {
    pub(crate) fn ready(log: &str) -> Self {
        Self {
            log: log.to_string(),
            rx: None,
        }
    }

    fn outcome(&self, got: Result<Result<(), String>, oneshot::error::RecvError>) -> Result<()> {
        match got {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) if reason == WalError::Truncated.to_string() => {
                Err(WalError::Truncated)
            }
            Ok(Err(reason)) => Err(WalError::LogFailed {
                log: self.log.clone(),
                reason,
            }),
            Err(_) => Err(WalError::Closed(self.log.clone())),
        }
    }

    /// Whether the append has resolved, without waiting: `None` while it is still pending.
    pub fn try_wait(&mut self) -> Option<Result<()>> {
        let Some(rx) = self.rx.as_mut() else {
            return Some(Ok(()));
        };
        let got = match rx.try_recv() {
            Err(oneshot::error::TryRecvError::Empty) => return None,
            Ok(v) => Ok(v),
            Err(oneshot::error::TryRecvError::Closed) => Err(()),
        };
        self.rx = None;
        Some(match got {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(WalError::LogFailed {
                log: self.log.clone(),
                reason,
            }),
            Err(()) => Err(WalError::Closed(self.log.clone())),
        })
    }

    /// Waits in a blocking thread. Must not be called from inside an async task.
    pub fn wait(mut self) -> Result<()> {
        match self.rx.take() {
            None => Ok(()),
            Some(rx) => self.outcome(rx.blocking_recv()),
        }
    }

    /// Waits from async code.
    pub async fn wait_async(mut self) -> Result<()> {
        match self.rx.take() {
            None => Ok(()),
            Some(rx) => {
                let got = rx.await;
                self.outcome(got)
            }
        }
    }
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    stats: FlushStats,
    syncer: Arc<dyn Syncer>,
    policy: FsyncPolicy,
}

#[derive(Default)]
struct Queue {
    /// First in, first out, so that no log waits behind others that are written more often.
    dirty: std::collections::VecDeque<Arc<PendingSync>>,
    shutdown: bool,
}

/// Threads fsyncing under `always`. fsyncs of different files proceed in parallel in the
/// kernel and the device, so logs do not wait for one another.
const SYNC_WORKERS: usize = 4;

/// The data dir's flusher. Dropping it syncs what is queued and stops its threads.
pub struct Flusher {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Flusher {
    pub fn start(policy: FsyncPolicy, syncer: Arc<dyn Syncer>) -> Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            stats: FlushStats::default(),
            syncer,
            policy,
        });
        let workers = match policy {
            FsyncPolicy::Never => 0,
            FsyncPolicy::Interval(_) => 1,
            FsyncPolicy::Always => SYNC_WORKERS,
        };
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("chronik-flusher-{i}"))
                .spawn(move || run(&shared))
                .map_err(|source| WalError::Io {
                    path: "flusher thread".into(),
                    source,
                })?;
            threads.push(handle);
        }
        Ok(Self { shared, threads })
    }

    pub fn policy(&self) -> FsyncPolicy {
        self.shared.policy
    }

    pub fn stats(&self) -> FlushStatsSnapshot {
        self.shared.stats.snapshot()
    }

    pub(crate) fn syncer(&self) -> &Arc<dyn Syncer> {
        &self.shared.syncer
    }

    /// Records that `file` of `log` now holds data up to `last_offset`; returns the handle the
    /// append waits on.
    pub(crate) fn note_write(
        &self,
        log: &Arc<PendingSync>,
        file: &Arc<File>,
        last_offset: Offset,
    ) -> Durable {
        if self.shared.policy == FsyncPolicy::Never {
            return Durable::ready(&log.name);
        }
        let (rx, enqueue) = {
            let mut inner = log.lock();
            if !inner.files.iter().any(|f| Arc::ptr_eq(f, file)) {
                inner.files.push(file.clone());
            }
            let rx = (self.shared.policy == FsyncPolicy::Always).then(|| {
                let (tx, rx) = oneshot::channel();
                inner.waiters.push((last_offset, tx));
                rx
            });
            let enqueue = !inner.queued && !inner.in_flight;
            inner.queued = true;
            (rx, enqueue)
        };
        if enqueue {
            self.shared.enqueue(log.clone());
        }
        Durable {
            log: log.name.clone(),
            rx,
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .shutdown = true;
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Shared {
    fn enqueue(&self, log: Arc<PendingSync>) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.dirty.push_back(log);
        self.wake.notify_one();
    }
}

fn run(shared: &Shared) {
    loop {
        let (dirty, shutdown) = next_work(shared);
        for log in &dirty {
            shared.stats.rounds.fetch_add(1, Ordering::Relaxed);
            sync_log(shared, log);
            finish_sync(shared, log);
        }
        if shutdown && dirty.is_empty() {
            return;
        }
    }
}

/// Waits for work and takes it: one log at once under `always` (each worker syncs as soon as
/// it is free, with no fixed sleep), every dirty log once per interval otherwise.
fn next_work(shared: &Shared) -> (Vec<Arc<PendingSync>>, bool) {
    let mut queue = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    if let FsyncPolicy::Interval(every) = shared.policy {
        let deadline = std::time::Instant::now() + every;
        while !queue.shutdown {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left == Duration::ZERO {
                break;
            }
            queue = shared
                .wake
                .wait_timeout(queue, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        return (queue.dirty.drain(..).collect(), queue.shutdown);
    }
    while queue.dirty.is_empty() && !queue.shutdown {
        queue = shared.wake.wait(queue).unwrap_or_else(|p| p.into_inner());
    }
    let next = queue.dirty.pop_front().into_iter().collect();
    (next, queue.shutdown)
}

/// Ends a log's sync: if it was written meanwhile, it goes back in the queue.
fn finish_sync(shared: &Shared, log: &Arc<PendingSync>) {
    let requeue = {
        let mut inner = log.lock();
        inner.in_flight = false;
        inner.queued && inner.failed.is_none()
    };
    if requeue {
        shared.enqueue(log.clone());
    }
}

/// Fsyncs one log's written files and releases the appends that are now durable. A failed
/// fsync fails the log for good: after it, nothing written can be trusted to be on disk.
fn sync_log(shared: &Shared, log: &PendingSync) {
    let (files, waiters) = {
        let mut inner = log.lock();
        inner.queued = false;
        if inner.failed.is_some() {
            return;
        }
        inner.in_flight = true;
        (
            std::mem::take(&mut inner.files),
            std::mem::take(&mut inner.waiters),
        )
    };
    let started = std::time::Instant::now();
    if let Err(e) = log.write_staged() {
        let reason =
            format!("writing the leader-epoch checkpoint or a new segment's dir entry failed: {e}");
        tracing::error!(log = %log.name, %reason, "log stopped accepting writes");
        log.fail(reason.clone());
        for (_, w) in waiters {
            let _ = w.send(Err(reason.clone()));
        }
        return;
    }
    for file in &files {
        shared.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = shared.syncer.sync(file) {
            let reason = format!("fsync failed: {e}");
            tracing::error!(log = %log.name, %reason, "log stopped accepting writes");
            // Mark the log failed before telling anyone, so no append sneaks in between.
            log.fail(reason.clone());
            for (_, w) in waiters {
                let _ = w.send(Err(reason.clone()));
            }
            return;
        }
    }
    shared
        .stats
        .fsync_nanos
        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    shared
        .stats
        .appends_released
        .fetch_add(waiters.len() as u64, Ordering::Relaxed);
    for (_, w) in waiters {
        let _ = w.send(Ok(()));
    }
}
