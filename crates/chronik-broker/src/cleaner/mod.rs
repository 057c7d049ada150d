//! The log cleaner (Kafka's `LogCleaner`): a few tasks that, every backoff, pick the filthiest
//! compacted log among the hosted partitions (leaders and followers alike: each replica cleans
//! its own copy) and clean it on a blocking thread, pass after pass while some log is due.
//! A pass over one log is chronik-cleaner's (over chronik-compaction's decisions and
//! chronik-wal's crash-safe segment swap).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chronik_cleaner::{CleanError, CleanSettings, PassContext, PassReport, Throttle};
use chronik_compaction::{ActiveProducers, CleaningCandidate, CompactionConfig};
use chronik_types::TopicPartition;
use tokio::task::JoinHandle;

use crate::partition::PartitionLayer;
use crate::partitions::Hosted;
use crate::topic_config::TopicSettings;

/// How long a log whose pass failed is left alone before it is tried again.
const FAILED_BACKOFF: Duration = Duration::from_secs(600);

/// The cleaner's broker settings (Kafka's `log.cleaner.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct CleanerConfig {
    /// Logs cleaned at once; 0 turns the cleaner off (compacted topics then grow).
    pub threads: usize,
    /// Memory for the key maps of all threads together (`log.cleaner.dedupe.buffer.size`):
    /// a log with more keys than fit is cleaned in several passes.
    pub dedupe_buffer_bytes: usize,
    /// Bytes read plus written per second by all threads together; `None`: unlimited.
    pub io_max_bytes_per_second: Option<f64>,
    /// How long a cleaner waits when no log is due (`log.cleaner.backoff.ms`).
    pub backoff: Duration,
}

impl Default for CleanerConfig {
    /// Kafka's defaults.
    fn default() -> Self {
        CleanerConfig {
            threads: 1,
            dedupe_buffer_bytes: 128 * 1024 * 1024,
            io_max_bytes_per_second: None,
            backoff: Duration::from_secs(15),
        }
    }
}

/// What the cleaner tasks share.
struct Cleaner {
    layer: Arc<PartitionLayer>,
    /// Each thread's key-map budget and I/O rate: the broker's totals shared out.
    map_budget: usize,
    io_rate: Option<f64>,
    /// Logs a thread is cleaning: never two passes over one log.
    busy: Mutex<HashSet<TopicPartition>>,
    /// Logs whose last pass failed, and when.
    failed: Mutex<HashMap<TopicPartition, Instant>>,
    /// Logs whose last pass left tombstones, with their latest delete horizon: once it passes
    /// the log is cleaned again even if nothing new is dirty (Kafka's expired-tombstone rule).
    /// Kept in memory: after a restart they go with the next pass new writes cause.
    horizons: Mutex<HashMap<TopicPartition, i64>>,
}

/// Starts the cleaner tasks (none when `config.threads` is 0).
pub(crate) fn spawn(layer: Arc<PartitionLayer>, config: &CleanerConfig) -> Vec<JoinHandle<()>> {
    let threads = config.threads;
    if threads == 0 {
        return Vec::new();
    }
    let cleaner = Arc::new(Cleaner {
        layer,
        map_budget: config.dedupe_buffer_bytes / threads,
        io_rate: config.io_max_bytes_per_second.map(|r| r / threads as f64),
        busy: Mutex::default(),
        failed: Mutex::default(),
        horizons: Mutex::default(),
    });
    let backoff = config.backoff.max(Duration::from_millis(10));
    (0..threads)
        .map(|_| {
            let cleaner = cleaner.clone();
            tokio::spawn(async move {
                // Aborting this task (shutdown) stops a pass in progress between batches.
                let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
                loop {
                    tokio::time::sleep(backoff).await;
                    loop {
                        let (c, flag) = (cleaner.clone(), stop.0.clone());
                        let cleaned = tokio::task::spawn_blocking(move || c.clean_filthiest(&flag));
                        if !cleaned.await.unwrap_or(false) {
                            break;
                        }
                    }
                }
            })
        })
        .collect()
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A log due for cleaning.
struct Due {
    tp: TopicPartition,
    hosted: Arc<Hosted>,
    settings: CleanSettings,
    candidate: CleaningCandidate,
}

impl Cleaner {
    /// Cleans the filthiest due log, if any; returns whether one was cleaned (so the caller
    /// looks for the next at once).
    fn clean_filthiest(&self, stop: &AtomicBool) -> bool {
        let now_ms = crate::wall_clock::wall_ms();
        let mut due = self.candidates(now_ms);
        let pick =
            chronik_compaction::filthiest(&due.iter().map(|d| d.candidate).collect::<Vec<_>>());
        let Some(due) = pick.map(|i| due.swap_remove(i)) else {
            return false;
        };
        if !lock(&self.busy).insert(due.tp.clone()) {
            return false;
        }
        let outcome = self.clean_one(&due, stop, now_ms);
        lock(&self.busy).remove(&due.tp);
        match outcome {
            Ok(report) => {
                record(&due.tp, &report);
                match report.delete_horizon {
                    Some(h) => lock(&self.horizons).insert(due.tp.clone(), h),
                    None => lock(&self.horizons).remove(&due.tp),
                };
                let moved = report.cleaned_up_to > report.first_dirty || report.records_removed > 0;
                if !report.stale && !moved {
                    // Nothing moved: leave it for FAILED_BACKOFF rather than spin on it.
                    lock(&self.failed).insert(due.tp, Instant::now());
                }
                true
            }
            Err(CleanError::Stopped) => false,
            Err(e) => {
                tracing::warn!(partition = %due.tp, error = %e,
                    "cleaning failed; the log is as before and is tried again in 10 minutes");
                metrics::counter!("chronik_broker_cleaner_failures_total").increment(1);
                lock(&self.failed).insert(due.tp, Instant::now());
                true
            }
        }
    }

    fn clean_one(
        &self,
        due: &Due,
        stop: &AtomicBool,
        now_ms: i64,
    ) -> Result<PassReport, CleanError> {
        let mut producers = ActiveProducers::new();
        for (id, last_offset) in due.hosted.producers().last_offsets() {
            producers.insert(id, last_offset);
        }
        let mut throttle = Throttle::new(self.io_rate, Instant::now());
        let mut ctx = PassContext {
            map_budget: self.map_budget,
            throttle: &mut throttle,
            stop,
            now_ms,
        };
        chronik_cleaner::clean(
            &due.hosted.log,
            &due.candidate,
            &due.settings,
            &producers,
            &mut ctx,
        )
    }

    /// The compacted logs that are due, with their standing.
    fn candidates(&self, now_ms: i64) -> Vec<Due> {
        let busy = lock(&self.busy).clone();
        lock(&self.failed).retain(|_, at| at.elapsed() < FAILED_BACKOFF);
        let failed: HashSet<TopicPartition> = lock(&self.failed).keys().cloned().collect();
        let mut dirtiest = 0.0f64;
        let mut due = Vec::new();
        for (tp, hosted) in self.layer.partitions().all() {
            if busy.contains(&tp) || failed.contains(&tp) {
                continue;
            }
            let Some(settings) = self.layer.topic_settings(&tp) else {
                continue;
            };
            // The offsets topic is compacted whatever configs it was created with.
            if !settings.cleanup.compact && tp.topic != crate::groups::OFFSETS_TOPIC {
                continue;
            }
            let settings = clean_settings(&settings);
            let hw = hosted.replica.high_watermark();
            match chronik_cleaner::assess(&hosted.log, hw, &settings, now_ms) {
                Ok(Some(mut candidate)) => {
                    dirtiest = dirtiest.max(candidate.dirty_ratio);
                    let expired = (lock(&self.horizons).get(&tp)).is_some_and(|h| *h <= now_ms);
                    candidate.due |= expired;
                    if candidate.due {
                        due.push(Due {
                            tp,
                            hosted,
                            settings,
                            candidate,
                        });
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(partition = %tp, error = %e, "cannot assess a compacted log")
                }
            }
        }
        metrics::gauge!("chronik_broker_cleaner_max_dirty_ratio").set(dirtiest);
        due
    }
}

/// A topic's settings as the cleaner follows them.
fn clean_settings(settings: &TopicSettings) -> CleanSettings {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let c = &settings.compaction;
    CleanSettings {
        compaction: CompactionConfig {
            min_compaction_lag_ms: ms(c.min_compaction_lag),
            max_compaction_lag_ms: ms(c.max_compaction_lag),
            min_cleanable_dirty_ratio: c.min_cleanable_dirty_ratio,
        },
        delete_retention_ms: ms(c.delete_retention),
        segment_bytes: settings.segment_bytes,
    }
}

fn record(tp: &TopicPartition, report: &PassReport) {
    metrics::counter!("chronik_broker_cleaner_passes_total").increment(1);
    metrics::counter!("chronik_broker_cleaner_read_bytes_total").increment(report.bytes_read);
    metrics::counter!("chronik_broker_cleaner_written_bytes_total").increment(report.bytes_written);
    metrics::counter!("chronik_broker_cleaner_removed_records_total")
        .increment(report.records_removed);
    tracing::info!(partition = %tp, first_dirty = report.first_dirty,
        cleaned_up_to = report.cleaned_up_to, segments = report.segments_replaced,
        read = report.bytes_read, written = report.bytes_written,
        removed = report.records_removed, stale = report.stale, "log cleaned");
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
