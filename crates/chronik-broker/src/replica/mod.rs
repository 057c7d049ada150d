//! Replication: each hosted partition's role and progress ([`Replica`]), the fetchers that
//! copy leaders' logs to this broker ([`fetcher`]), and the task that asks the controller to
//! shrink or expand the ISRs of partitions this broker leads ([`isr`]).

pub(crate) mod checkpoint;
pub(crate) mod divergence;
pub(crate) mod fetcher;
pub(crate) mod isr;
mod isr_sizes;
mod progress;
mod session;
#[cfg(test)]
mod sim;
mod truncate;

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
    /// Counts what long-polling fetches of this partition wait for: a mark change or an
    /// append. Per partition, so an append wakes only the fetches that read this partition.
    changes: watch::Sender<u64>,
}

impl Replica {
    pub fn new(
        me: BrokerId,
        role: Role,
        log: (i64, i64),
        saved_high_watermark: Option<i64>,
    ) -> Self {
        let progress = Progress::new(me, role, log, saved_high_watermark, Instant::now());
        let marks = watch::channel(mark_of(&progress)).0;
        Replica {
            progress: Mutex::new(progress),
            marks,
            changes: watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the progress and publishes the mark it leaves. The mark is published
    /// while the lock is held: two updates publishing in the other order would leave the
    /// older (lower) high watermark as the last word, and acks=all waiters would sleep until
    /// some later update.
    pub fn update<R>(&self, f: impl FnOnce(&mut Progress) -> R) -> R {
        let mut progress = self.lock();
        let out = f(&mut progress);
        let mark = mark_of(&progress);
        let moved = self.marks.send_if_modified(|m| {
            let changed = *m != mark;
            *m = mark;
            changed
        });
        drop(progress);
        if moved {
            self.changed();
        }
        out
    }

    /// Wakes the fetches parked on this partition: its log grew, or it is going away.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many replicas are known to hold `offset`, once the high watermark has passed it
    /// ([`Progress::replicas_holding`]).
    pub fn replicas_holding(&self, offset: i64) -> Option<usize> {
        self.lock().replicas_holding(offset)
    }

    /// A receiver that sees every later [`Replica::changed`] (and mark change).
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
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

/// `items` grouped by topic, topics in first-seen order and items in their order: the shape
/// of Kafka's per-topic request lists.
pub(crate) fn by_topic<'a, T>(
    items: impl IntoIterator<Item = (&'a str, T)>,
) -> Vec<(&'a str, Vec<T>)> {
    let mut index: std::collections::HashMap<&'a str, usize> = std::collections::HashMap::new();
    let mut out: Vec<(&'a str, Vec<T>)> = Vec::new();
    for (topic, item) in items {
        let at = *index.entry(topic).or_insert_with(|| {
            out.push((topic, Vec::new()));
            out.len() - 1
        });
        out[at].1.push(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    use super::{Replica, Role};

    #[test]
    fn parked_fetches_see_appends_and_mark_moves_of_their_own_partition_only() {
        let leader = || Role::Leader {
            epoch: 0,
            partition_epoch: 0,
            isr: vec![1],
            replicas: vec![1],
        };
        let (mine, other) = (
            Replica::new(1, leader(), (0, 0), None),
            Replica::new(1, leader(), (0, 0), None),
        );
        let mut parked = mine.subscribe_changes();
        other.changed();
        other.update(|p| p.advance(5));
        assert!(!parked.has_changed().unwrap(), "another partition's append");
        mine.update(|p| p.advance(0));
        assert!(
            !parked.has_changed().unwrap(),
            "an update that moves nothing"
        );
        mine.update(|p| p.advance(3));
        assert!(parked.has_changed().unwrap(), "the high watermark moved");
        parked.borrow_and_update();
        mine.changed();
        assert!(parked.has_changed().unwrap(), "an append");
    }

    #[test]
    fn the_published_mark_never_goes_back_under_concurrent_updates() {
        // A race, so several rounds: one round caught the old defect about two times in three.
        for _ in 0..5 {
            updaters_race_one_watcher();
        }
    }

    fn updaters_race_one_watcher() {
        let role = Role::Leader {
            epoch: 0,
            partition_epoch: 0,
            isr: vec![1],
            replicas: vec![1],
        };
        let replica = Arc::new(Replica::new(1, role, (0, 0), None));
        let next = Arc::new(AtomicI64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (replica, done) = (replica.clone(), done.clone());
            std::thread::spawn(move || {
                let mut last = 0;
                while !done.load(Ordering::SeqCst) {
                    let now = replica.high_watermark();
                    assert!(now >= last, "published mark fell from {last} to {now}");
                    last = now;
                }
            })
        };
        let updaters: Vec<_> = (0..4)
            .map(|_| {
                let (replica, next) = (replica.clone(), next.clone());
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        replica.update(|p| p.advance(next.fetch_add(1, Ordering::SeqCst) + 1));
                    }
                })
            })
            .collect();
        for t in updaters {
            t.join().expect("updater thread");
        }
        done.store(true, Ordering::SeqCst);
        watcher.join().expect("the published mark never fell");
        assert_eq!(replica.read(|p| p.high_watermark()), 80_000);
        assert_eq!(
            replica.high_watermark(),
            80_000,
            "the last mark is the latest"
        );
    }
}
