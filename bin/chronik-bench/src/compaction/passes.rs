//! Cleaning the log as the broker's cleaner task would, but back to back: assess, clean, and
//! again while the log is due, plus one more pass once the tombstones' delete horizon has
//! passed (the broker's cleaner remembers horizons for that), so the run ends in the state a
//! consumer reading from 0 would see after compaction settles.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chronik_cleaner::{CleanSettings, PassContext, PassReport, Throttle};
use chronik_compaction::ActiveProducers;
use chronik_wal::PartitionLog;

use super::build::now_ms;

/// A bound on passes, so that a cleaner making no headway fails the run instead of spinning:
/// even a key map of one key per pass would not need this many on the logs a bench builds.
const MAX_PASSES: u64 = 1_000_000;

/// What the passes did together.
#[derive(Debug, Default)]
pub struct Totals {
    pub passes: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_removed: u64,
    pub segments_replaced: u64,
    /// Assessing and cleaning, all passes.
    pub elapsed: Duration,
}

impl Totals {
    fn add(&mut self, r: &PassReport) {
        self.passes += 1;
        self.bytes_read += r.bytes_read;
        self.bytes_written += r.bytes_written;
        self.records_removed += r.records_removed;
        self.segments_replaced += r.segments_replaced as u64;
    }
}

/// Cleans `log` (nothing else touches it) until no pass is due; `map_budget` is the key map's
/// bytes, so a small one makes several passes.
pub fn clean_until_done(
    log: &PartitionLog,
    settings: &CleanSettings,
    map_budget: usize,
    bar: &indicatif::ProgressBar,
) -> Result<Totals> {
    let stop = AtomicBool::new(false);
    let producers = ActiveProducers::new();
    let mut totals = Totals::default();
    let mut horizon: Option<i64> = None;
    let started = Instant::now();
    loop {
        let now = now_ms();
        // Nothing is produced during the run: the high watermark is the log end.
        let Some(mut candidate) = chronik_cleaner::assess(log, log.end_offset(), settings, now)?
        else {
            break;
        };
        candidate.due |= horizon.is_some_and(|h| h <= now);
        if !candidate.due {
            break;
        }
        if totals.passes >= MAX_PASSES {
            bail!("still due after {MAX_PASSES} passes");
        }
        let mut throttle = Throttle::new(None, Instant::now());
        let mut ctx = PassContext {
            map_budget,
            throttle: &mut throttle,
            stop: &stop,
            now_ms: now,
        };
        let report = chronik_cleaner::clean(log, &candidate, settings, &producers, &mut ctx)?;
        if report.stale {
            bail!(
                "pass {} went stale, though nothing else writes the log",
                totals.passes + 1
            );
        }
        let moved = report.cleaned_up_to > report.first_dirty || report.records_removed > 0;
        if !moved && report.delete_horizon == horizon {
            bail!(
                "pass {} made no progress at offset {}",
                totals.passes + 1,
                report.first_dirty
            );
        }
        horizon = report.delete_horizon;
        totals.add(&report);
        bar.set_position(totals.passes);
    }
    totals.elapsed = started.elapsed();
    bar.finish_and_clear();
    Ok(totals)
}
