//! Group commit: a data dir's flusher threads fsync each log when it is due and release the
//! appends the fsync made durable. A log whose appends wait for their fsync is due at once, so
//! many appenders share each fsync without any fixed sleep; a log with a looser policy
//! (`flush.messages`, `flush.ms`) is due once enough records are unflushed or the oldest has
//! waited long enough. A worker takes every log due when it wakes, so logs on one filesystem
//! that fall due together are made durable together ([`Syncer::sync_together`]).

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use chronik_types::{FsyncPolicy, Offset};
use tokio::sync::oneshot;

use crate::config::FlushPolicy;
use crate::durable::Durable;
use crate::pending::{PendingSync, Waiter, write_together};
use crate::syncer::Syncer;
use crate::together;
use crate::{Result, WalError};

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

pub(crate) struct Shared {
    queue: Mutex<Queue>,
    pub(crate) wake: Condvar,
    stats: FlushStats,
    syncer: Arc<dyn Syncer>,
    policy: FsyncPolicy,
}

/// When a log is due, and the order it was scheduled in.
type ScheduleKey = (Instant, u64);

#[derive(Default)]
struct Queue {
    /// Logs by the time they are due, then by when they were scheduled: a log due now waits
    /// only behind logs that were due earlier, never behind ones written more often.
    due: std::collections::BTreeMap<ScheduleKey, Arc<PendingSync>>,
    next_seq: u64,
    shutdown: bool,
    /// Rounds syncing many logs with one call now. While one runs, a worker leaves a few due
    /// logs to gather into the next such round rather than fsync them one by one: that is
    /// group commit across logs.
    rounds_together: usize,
}

/// Files due in one round from which one [`Syncer::sync_together`] replaces their syncs and
/// gathers the next round. Below it, syncing each file is cheaper than writing back everything
/// dirty on the filesystem, unless the logs were appended together (see [`sync_logs`]).
pub(crate) const GROUP_MIN_FILES: usize = 8;

/// Threads fsyncing. fsyncs of different files proceed in parallel in the kernel and the
/// device, so logs do not wait for one another.
const SYNC_WORKERS: usize = 4;

/// The data dir's flusher. Dropping it syncs what is scheduled and stops its threads.
pub struct Flusher {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Flusher {
    /// A flusher whose logs follow `policy` unless their config names their own.
    pub fn start(policy: FsyncPolicy, syncer: Arc<dyn Syncer>) -> Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            stats: FlushStats::default(),
            syncer,
            policy,
        });
        let mut threads = Vec::with_capacity(SYNC_WORKERS);
        for i in 0..SYNC_WORKERS {
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

    /// The data dir's policy.
    pub fn policy(&self) -> FsyncPolicy {
        self.shared.policy
    }

    /// The flush policy of a log whose config names none.
    pub(crate) fn default_flush(&self) -> FlushPolicy {
        FlushPolicy::of(self.shared.policy)
    }

    pub fn stats(&self) -> FlushStatsSnapshot {
        self.shared.stats.snapshot()
    }

    pub(crate) fn syncer(&self) -> &Arc<dyn Syncer> {
        &self.shared.syncer
    }

    /// Records that `file` of `log` now holds `records` more records, up to `last_offset`,
    /// and schedules the log's sync as `policy` asks; returns the handle the append waits on
    /// (resolved at once unless the policy makes appends wait for their fsync).
    pub(crate) fn note_write(
        &self,
        log: &Arc<PendingSync>,
        file: &Arc<File>,
        last_offset: Offset,
        records: u64,
        policy: FlushPolicy,
    ) -> Durable {
        if policy.is_never() {
            return Durable::ready(&log.name);
        }
        let now = Instant::now();
        let (rx, schedule) = {
            let mut inner = log.lock();
            if !inner.files.iter().any(|f| Arc::ptr_eq(f, file)) {
                inner.files.push(file.clone());
            }
            if let Some(call) = together::current_call() {
                inner.appended_by = Some(call);
            }
            inner.unflushed = inner.unflushed.saturating_add(records);
            let rx = policy.appends_wait().then(|| {
                let (tx, rx) = oneshot::channel();
                match &inner.failed {
                    // Nothing after a failed fsync can be trusted to reach the disk.
                    Some(reason) => drop(tx.send(Err(reason.clone()))),
                    None => inner.waiters.push((last_offset, tx)),
                }
                rx
            });
            let due = match policy.appends_wait() || inner.unflushed >= policy.messages {
                true => Some(now),
                false => policy.interval.and_then(|every| now.checked_add(every)),
            };
            // The common cases, settled without the schedule's lock: a sync is running (the
            // next one is asked for) or one is already due no later than this.
            let schedule = match due {
                Some(_) if inner.failed.is_some() => None,
                Some(due) if inner.in_flight => {
                    inner.wanted = Some(inner.wanted.map_or(due, |w| w.min(due)));
                    None
                }
                Some(due) if inner.scheduled.is_some_and(|(at, _)| at <= due) => None,
                due => due,
            };
            (rx, schedule)
        };
        if let Some(due) = schedule
            && self.shared.schedule(log, due)
        {
            together::wake(&self.shared);
        }
        match rx {
            Some(rx) => Durable::waiting(&log.name, rx),
            None => Durable::ready(&log.name),
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
    /// Makes `log` due by `due`: an entry due no later is kept, a later one is replaced, and
    /// while a sync of it runs the next one is asked for instead (so no caller can push a sync
    /// back in time). Returns whether a worker must be woken for a new entry.
    fn schedule(&self, log: &Arc<PendingSync>, due: Instant) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mut inner = log.lock();
        if inner.in_flight {
            inner.wanted = Some(inner.wanted.map_or(due, |w| w.min(due)));
            return false;
        }
        if let Some(old) = inner.scheduled {
            if old.0 <= due {
                return false;
            }
            queue.due.remove(&old);
        }
        let key = (due, queue.next_seq);
        queue.next_seq += 1;
        inner.scheduled = Some(key);
        drop(inner);
        queue.due.insert(key, log.clone());
        true
    }
}

/// The most logs one worker takes in a round.
const ROUND_MAX_LOGS: usize = 4096;

fn run(shared: &Shared) {
    while let Some(due) = next_due(shared) {
        let logs: Vec<Arc<PendingSync>> = (due.into_iter())
            .filter(|(key, log)| begin_sync(log, *key))
            .map(|(_, log)| log)
            .collect();
        shared
            .stats
            .rounds
            .fetch_add(logs.len() as u64, Ordering::Relaxed);
        sync_logs(shared, &logs);
        for log in &logs {
            finish_sync(shared, log);
        }
    }
}

/// Marks `log` as being synced by this worker, unless the entry `key` is stale or a sync of
/// it already runs (then the sync after it is asked for).
fn begin_sync(log: &PendingSync, key: ScheduleKey) -> bool {
    let mut inner = log.lock();
    if inner.scheduled != Some(key) {
        return false;
    }
    inner.scheduled = None;
    if inner.in_flight {
        inner.wanted = Some(inner.wanted.map_or(key.0, |w| w.min(key.0)));
        return false;
    }
    inner.in_flight = true;
    true
}

/// Waits until a log is due and takes it with every other log due by then, with no fixed
/// sleep; after shutdown every scheduled log is due, and `None` means nothing is left.
fn next_due(shared: &Shared) -> Option<Vec<(ScheduleKey, Arc<PendingSync>)>> {
    let mut queue = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let first = queue.due.first_key_value().map(|(key, _)| *key);
        let now = Instant::now();
        match first {
            Some(key) if queue.shutdown || key.0 <= now => {
                let ready = (queue.due.keys())
                    .take_while(|k| k.0 <= now)
                    .take(GROUP_MIN_FILES)
                    .count();
                if !queue.shutdown && queue.rounds_together > 0 && ready < GROUP_MIN_FILES {
                    queue = shared.wake.wait(queue).unwrap_or_else(|p| p.into_inner());
                    continue;
                }
                let mut due = Vec::new();
                while due.len() < ROUND_MAX_LOGS {
                    match queue.due.first_key_value() {
                        Some((key, _)) if queue.shutdown || key.0 <= now => {}
                        _ => break,
                    }
                    due.extend(queue.due.pop_first());
                }
                return Some(due);
            }
            None if queue.shutdown => return None,
            Some((at, _)) => {
                queue = (shared.wake)
                    .wait_timeout(queue, at - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            None => queue = shared.wake.wait(queue).unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// Ends a log's sync: if a sync was asked for meanwhile, it is scheduled. No worker is woken
/// for it: the worker that ends the round looks for due logs next and takes all those its
/// round left due together, rather than idle workers taking them one at a time.
fn finish_sync(shared: &Shared, log: &Arc<PendingSync>) {
    let next = {
        let mut inner = log.lock();
        inner.in_flight = false;
        let wanted = inner.wanted.take();
        wanted.filter(|_| inner.failed.is_none())
    };
    if let Some(due) = next {
        shared.schedule(log, due);
    }
}

/// One log's part of a round: its written files and the appends they release.
struct Taken<'a> {
    log: &'a PendingSync,
    files: Vec<Arc<File>>,
    waiters: Vec<(Offset, Waiter)>,
    appended_by: Option<u64>,
}

/// Makes the written files of `logs` durable and releases the appends waiting for them. Logs
/// on one filesystem are synced together when the syncer can and the round is worth it: it
/// holds [`GROUP_MIN_FILES`] files, or two or more of its logs were written by one
/// [`crate::appends_together`] call (one request's partitions, or a transaction's markers).
/// That caller waits for the slowest, and the device takes separate syncs one after another,
/// so one call for them all is at most one device flush instead of several in a row.
/// Otherwise each file is synced on its own. A failed sync fails every log it covered for
/// good: after it, nothing written can be trusted to be on disk.
fn sync_logs(shared: &Shared, logs: &[Arc<PendingSync>]) {
    let mut by_device: std::collections::BTreeMap<Option<u64>, Vec<Taken>> = Default::default();
    for log in logs {
        if let Some(taken) = take_written(log) {
            by_device.entry(log.device).or_default().push(taken);
        }
    }
    for (device, group) in by_device {
        let group = write_staged(shared, device, group);
        let files: Vec<&File> = group
            .iter()
            .flat_map(|t| t.files.iter().map(|f| &**f))
            .collect();
        let many = files.len() >= GROUP_MIN_FILES;
        let worth = many || written_by_one_call(&group);
        let started = Instant::now();
        let together = (device.is_some() && worth)
            .then(|| sync_together(shared, &files, many))
            .flatten();
        match together {
            Some(result) => {
                shared.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                add_elapsed(shared, started);
                let result = result.map_err(|e| e.to_string());
                for taken in group {
                    release(shared, taken, result.clone());
                }
            }
            None => {
                for taken in group {
                    let started = Instant::now();
                    let result = sync_each(shared, &taken.files);
                    add_elapsed(shared, started);
                    release(shared, taken, result.map_err(|e| e.to_string()));
                }
            }
        }
    }
}

/// Whether two or more logs of `group` were written by one [`crate::appends_together`] call.
fn written_by_one_call(group: &[Taken]) -> bool {
    let mut calls: Vec<u64> = group.iter().filter_map(|t| t.appended_by).collect();
    calls.sort_unstable();
    calls.windows(2).any(|w| w[0] == w[1])
}

/// [`Syncer::sync_together`]. When it `gathers` (a round of many files), it counts as a round
/// together while it runs, and its end wakes the workers that left logs for the next one.
fn sync_together(shared: &Shared, files: &[&File], gathers: bool) -> Option<std::io::Result<()>> {
    if !gathers {
        return shared.syncer.sync_together(files);
    }
    let queue = || shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    queue().rounds_together += 1;
    let result = shared.syncer.sync_together(files);
    queue().rounds_together -= 1;
    shared.wake.notify_all();
    result
}

/// Takes what `log` wrote since its last sync; `None` (its waiters told) when the log has
/// failed.
fn take_written(log: &PendingSync) -> Option<Taken<'_>> {
    let (files, waiters, appended_by) = {
        let mut inner = log.lock();
        if let Some(reason) = inner.failed.clone() {
            for (_, w) in inner.waiters.drain(..) {
                let _ = w.send(Err(reason.clone()));
            }
            return None;
        }
        inner.unflushed = 0;
        (
            std::mem::take(&mut inner.files),
            std::mem::take(&mut inner.waiters),
            inner.appended_by.take(),
        )
    };
    Some(Taken {
        log,
        files,
        waiters,
        appended_by,
    })
}

/// Writes the metadata the logs of `group` (on one filesystem) staged, which must be on disk
/// before their data is released: together when enough of them staged an epoch checkpoint (a
/// thousand new partitions each write one at their first append), else each on its own.
/// Returns the logs whose staged writes succeeded; the others are failed.
fn write_staged<'a>(shared: &Shared, device: Option<u64>, group: Vec<Taken<'a>>) -> Vec<Taken<'a>> {
    let staged: Vec<_> = group.iter().map(|t| t.log.take_staged()).collect();
    let checkpoints = staged.iter().filter(|s| s.has_checkpoint()).count();
    let together = (device.is_some() && checkpoints >= GROUP_MIN_FILES)
        .then(|| write_together(&staged, &*shared.syncer))
        .flatten();
    if let Some(result) = together {
        drop(staged);
        let Err(e) = result else {
            return group;
        };
        let reason = format!("writing the leader-epoch checkpoints of a flush round failed: {e}");
        for taken in group {
            fail(taken.log, taken.waiters, reason.clone());
        }
        return Vec::new();
    }
    let mut written = Vec::with_capacity(group.len());
    for (taken, staged) in group.into_iter().zip(staged) {
        match staged.write() {
            Ok(()) => written.push(taken),
            Err(e) => {
                let reason = format!(
                    "writing the leader-epoch checkpoint or a new segment's dir entry failed: {e}"
                );
                fail(taken.log, taken.waiters, reason);
            }
        }
    }
    written
}

fn sync_each(shared: &Shared, files: &[Arc<File>]) -> std::io::Result<()> {
    for file in files {
        shared.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        shared.syncer.sync(file)?;
    }
    Ok(())
}

fn add_elapsed(shared: &Shared, started: Instant) {
    (shared.stats.fsync_nanos).fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// Tells a log's waiters how its sync went; a failure fails the log.
fn release(shared: &Shared, taken: Taken, result: std::result::Result<(), String>) {
    if let Err(e) = result {
        fail(taken.log, taken.waiters, format!("fsync failed: {e}"));
        return;
    }
    (shared.stats.appends_released).fetch_add(taken.waiters.len() as u64, Ordering::Relaxed);
    for (_, w) in taken.waiters {
        let _ = w.send(Ok(()));
    }
}

/// Fails `log` for good, before telling anyone, so no append sneaks in between.
fn fail(log: &PendingSync, waiters: Vec<(Offset, Waiter)>, reason: String) {
    tracing::error!(log = %log.name, %reason, "log stopped accepting writes");
    log.fail(reason.clone());
    for (_, w) in waiters {
        let _ = w.send(Err(reason.clone()));
    }
}
