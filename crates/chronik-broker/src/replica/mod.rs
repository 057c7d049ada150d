//! Replication: each hosted partition's role and progress ([`Replica`]), the fetchers that
//! copy leaders' logs to this broker ([`fetcher`]), and the task that asks the controller to
//! shrink or expand the ISRs of partitions this broker leads ([`isr`]).

pub(crate) mod fetcher;
pub(crate) mod isr;
mod progress;

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use chronik_metadata::BrokerId;
use tokio::sync::watch;

pub(crate) use progress::{Progress, Role};

/// What produce waiters watch: the high watermark, and the epoch this broker leads at
/// (`None` once it no longer leads, which fails acks=all waits still pending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub high_watermark: i64,
    pub leader_epoch: Option<i32>,
}

/// A hosted partition's [`Progress`], publishing every change of its [`Mark`].
pub(crate) struct Replica {
    progress: Mutex<Progress>,
    marks: watch::Sender<Mark>,
}

impl Replica {
    pub fn new(me: BrokerId, role: Role, log_start: i64, log_end: i64) -> Self {
        let progress = Progress::new(me, role, log_start, log_end, Instant::now());
        let marks = watch::channel(mark_of(&progress)).0;
        Replica {
            progress: Mutex::new(progress),
            marks,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the progress and publishes the mark it leaves.
    pub fn update<R>(&self, f: impl FnOnce(&mut Progress) -> R) -> R {
        let mut progress = self.lock();
        let out = f(&mut progress);
        let mark = mark_of(&progress);
        drop(progress);
        self.marks.send_if_modified(|m| {
            let changed = *m != mark;
            *m = mark;
            changed
        });
        out
    }

    /// Reads the progress without changing it.
    pub fn read<R>(&self, f: impl FnOnce(&Progress) -> R) -> R {
        f(&self.lock())
    }

    pub fn high_watermark(&self) -> i64 {
        self.marks.borrow().high_watermark
    }

    pub fn leader_epoch(&self) -> Option<i32> {
        self.marks.borrow().leader_epoch
    }

    pub fn subscribe(&self) -> watch::Receiver<Mark> {
        self.marks.subscribe()
    }
}

fn mark_of(p: &Progress) -> Mark {
    Mark {
        high_watermark: p.high_watermark(),
        leader_epoch: p.leader_epoch(),
    }
}
