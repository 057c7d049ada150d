//! One cleaning pass over one compacted log (Kafka's `Cleaner.doClean`): map the latest offset
//! of every key in the dirty range, rewrite the segments below the map's end keeping only what
//! the map and the tombstone rule keep, swap each rewritten group in, then checkpoint the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chronik_compaction::{
    ActiveProducers, BatchFate, CleanPolicy, CleaningCandidate, CompactionConfig, CompactionError,
    KeyMap, LogFacts, MapProgress, SegmentFacts, filter_batch,
};
use chronik_types::Offset;
use chronik_wal::{PartitionLog, SegmentInfo, SwapOutcome, WalError};

use crate::throttle::Throttle;

/// Why a pass stopped before its end; the log is as it was before the group being rewritten.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error("log: {0}")]
    Wal(#[from] WalError),
    #[error("a stored batch cannot be cleaned: {0}")]
    Compaction(#[from] CompactionError),
    #[error("a batch the cleaner rebuilt does not validate: {0}")]
    Rebuilt(String),
    #[error("the broker is shutting down")]
    Stopped,
}

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub first_dirty: Offset,
    /// The new checkpoint: the log is clean below it.
    pub cleaned_up_to: Offset,
    pub segments_replaced: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_removed: u64,
    /// A group's segments changed under the pass (retention, DeleteRecords, truncation).
    pub stale: bool,
    /// The latest delete horizon of the tombstones left: a pass after it removes them.
    pub delete_horizon: Option<i64>,
}

/// The topic's settings a pass follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanSettings {
    /// When a log is due and which part of it may be cleaned.
    pub compaction: CompactionConfig,
    /// `delete.retention.ms`: how long a tombstone stays once cleaned.
    pub delete_retention_ms: i64,
    /// `segment.bytes`: consecutive segments are cleaned into one of at most about this size.
    pub segment_bytes: u64,
}

/// What a pass needs besides the log.
pub struct PassContext<'a> {
    /// The key map's memory bound (Kafka's dedupe buffer share of this cleaner).
    pub map_budget: usize,
    pub throttle: &'a mut Throttle,
    /// Set at shutdown: the pass stops between batches.
    pub stop: &'a AtomicBool,
    pub now_ms: i64,
}

/// The scheduler's view of `log`: its segments' facts (the first batch timestamp is read for
/// dirty sealed segments only: it decides max.compaction.lag.ms).
fn segment_facts(log: &PartitionLog, checkpoint: Option<Offset>) -> Vec<SegmentFacts> {
    let infos = log.segments();
    let last = infos.len().saturating_sub(1);
    let first_dirty = checkpoint.unwrap_or(Offset::MIN);
    (infos.iter().enumerate())
        .map(|(i, s)| {
            let sealed = i < last;
            let first_batch_timestamp_ms = (sealed && s.next_offset > first_dirty)
                .then(|| first_batch_timestamp(log, s))
                .flatten();
            SegmentFacts {
                base_offset: s.base_offset,
                size_bytes: s.bytes,
                max_timestamp_ms: s.max_timestamp,
                first_batch_timestamp_ms,
                sealed,
            }
        })
        .collect()
}

fn first_batch_timestamp(log: &PartitionLog, s: &SegmentInfo) -> Option<i64> {
    let first = log.segment_batches(s.base_offset).ok()?.next()?.ok()?;
    Some(first.meta.max_timestamp)
}

/// Assesses `log` for a scheduler: its dirty ratio and whether it is due, over what lies below
/// `high_watermark` (nothing a consumer or follower cannot see yet is cleaned); `None` when it
/// holds nothing.
pub fn assess(
    log: &PartitionLog,
    high_watermark: Offset,
    settings: &CleanSettings,
    now_ms: i64,
) -> Result<Option<CleaningCandidate>, CleanError> {
    let checkpoint = log.cleaner_offset()?;
    let segments = segment_facts(log, checkpoint);
    let facts = LogFacts {
        segments: &segments,
        log_start_offset: log.start_offset(),
        log_end_offset: log.end_offset(),
        last_stable_offset: high_watermark,
    };
    let config = &settings.compaction;
    Ok(chronik_compaction::assess(
        &facts, checkpoint, config, now_ms,
    ))
}

/// Cleans `log` over `candidate`'s range (from [`assess`]); see the module doc.
pub fn clean(
    log: &PartitionLog,
    candidate: &CleaningCandidate,
    settings: &CleanSettings,
    producers: &ActiveProducers,
    ctx: &mut PassContext<'_>,
) -> Result<PassReport, CleanError> {
    let offsets = candidate.offsets;
    let dirty = offsets.first_dirty_offset..offsets.first_uncleanable_offset;
    let mut report = PassReport {
        first_dirty: dirty.start,
        ..PassReport::default()
    };
    let segments = log.segments();
    let map = build_map(log, &segments, dirty.clone(), ctx, &mut report)?;
    let end = map.end();
    // Every sealed segment holding an offset below the map's end is rewritten.
    let sealed = &segments[..segments.len().saturating_sub(1)];
    let cleanable: Vec<&SegmentInfo> = (sealed.iter())
        .filter(|s| s.base_offset < end && s.base_offset < dirty.end)
        .collect();
    let policy = CleanPolicy::new(ctx.now_ms, settings.delete_retention_ms, producers);
    for group in group_by_size(&cleanable, settings.segment_bytes) {
        if !rewrite_group(log, &group, &map, &policy, ctx, &mut report)? {
            report.stale = true;
            return Ok(report);
        }
    }
    log.store_cleaner_offset(end)?;
    report.cleaned_up_to = end;
    Ok(report)
}

/// Maps the keys of the dirty range, stopping when the budget is spent.
fn build_map(
    log: &PartitionLog,
    segments: &[SegmentInfo],
    dirty: std::ops::Range<Offset>,
    ctx: &mut PassContext<'_>,
    report: &mut PassReport,
) -> Result<KeyMap, CleanError> {
    let mut map = KeyMap::new(ctx.map_budget, dirty.clone());
    let overlapping =
        (segments.iter()).filter(|s| s.next_offset > dirty.start && s.base_offset < dirty.end);
    'segments: for segment in overlapping {
        for batch in log.segment_batches(segment.base_offset)? {
            let batch = batch?;
            report.bytes_read += batch.batch.len() as u64;
            pace(ctx, batch.batch.len() as u64)?;
            if let MapProgress::Full { .. } = map.map_batch(&batch.batch)? {
                break 'segments;
            }
        }
    }
    Ok(map)
}

/// Rewrites one group of consecutive segments and swaps it in; false when it went stale.
fn rewrite_group(
    log: &PartitionLog,
    group: &[&SegmentInfo],
    map: &KeyMap,
    policy: &CleanPolicy<'_>,
    ctx: &mut PassContext<'_>,
    report: &mut PassReport,
) -> Result<bool, CleanError> {
    let bases: Vec<Offset> = group.iter().map(|s| s.base_offset).collect();
    let mut rewrite = log.begin_rewrite(&bases)?;
    let mut out = Vec::new();
    for base in &bases {
        for batch in log.segment_batches(*base)? {
            let batch = batch?;
            out.clear();
            let filtered = filter_batch(&batch.batch, map, policy, &mut out)?;
            report.records_removed +=
                (filtered.records_read.saturating_sub(filtered.records_kept)) as u64;
            report.delete_horizon = report.delete_horizon.max(filtered.delete_horizon);
            report.bytes_read += filtered.bytes_read as u64;
            report.bytes_written += filtered.bytes_written as u64;
            pace(ctx, (filtered.bytes_read + filtered.bytes_written) as u64)?;
            if filtered.fate == BatchFate::Removed {
                continue;
            }
            if let Some(range) = filtered.retained {
                let kept = &out[range];
                let header = chronik_records::validate_stored_batch(kept)
                    .map_err(|e| CleanError::Rebuilt(e.to_string()))?;
                rewrite.append(kept, &header)?;
            }
        }
    }
    match log.swap_in(rewrite)? {
        SwapOutcome::Swapped(swap) => {
            report.segments_replaced += swap.segments_replaced;
            Ok(true)
        }
        SwapOutcome::Stale { reason } => {
            tracing::debug!(log = log.name(), %reason, "cleaning pass went stale");
            Ok(false)
        }
    }
}

/// Counts I/O against the rate limit (sleeping as it says) and checks for shutdown.
fn pace(ctx: &mut PassContext<'_>, bytes: u64) -> Result<(), CleanError> {
    if ctx.stop.load(Ordering::Relaxed) {
        return Err(CleanError::Stopped);
    }
    let sleep = ctx.throttle.account(bytes, Instant::now());
    if !sleep.is_zero() {
        std::thread::sleep(sleep);
    }
    Ok(())
}

/// Consecutive segments grouped so that each group's bytes stay within `max_bytes` (Kafka's
/// `groupSegmentsBySize`): one cleaned segment replaces each group.
fn group_by_size<'s>(segments: &[&'s SegmentInfo], max_bytes: u64) -> Vec<Vec<&'s SegmentInfo>> {
    let mut groups: Vec<Vec<&SegmentInfo>> = Vec::new();
    let mut size = 0u64;
    for segment in segments {
        let fits = (groups.last()).is_some_and(|g| {
            !g.is_empty()
                && size.saturating_add(segment.bytes) <= max_bytes
                && segment.next_offset - g[0].base_offset < i64::from(u32::MAX)
        });
        if fits {
            size += segment.bytes;
            if let Some(g) = groups.last_mut() {
                g.push(segment);
            }
        } else {
            size = segment.bytes;
            groups.push(vec![segment]);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(base: Offset, next: Offset, bytes: u64) -> SegmentInfo {
        SegmentInfo {
            base_offset: base,
            next_offset: next,
            bytes,
            max_timestamp: 0,
            path: std::path::PathBuf::new(),
        }
    }

    #[test]
    fn groups_stay_within_the_segment_size() {
        let segments = [
            info(0, 10, 400),
            info(10, 20, 400),
            info(20, 30, 400),
            info(30, 40, 900),
        ];
        let refs: Vec<&SegmentInfo> = segments.iter().collect();
        let groups = group_by_size(&refs, 1000);
        let bases: Vec<Vec<Offset>> = (groups.iter())
            .map(|g| g.iter().map(|s| s.base_offset).collect())
            .collect();
        assert_eq!(bases, vec![vec![0, 10], vec![20], vec![30]]);
        assert!(group_by_size(&[], 1000).is_empty());
    }
}
