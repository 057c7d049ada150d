//! When a compacted log is due for cleaning and which part of it may be cleaned: Kafka's
//! `LogCleanerManager.cleanableOffsets`, `calculateCleanableBytes`, `maxCompactionDelay` and
//! the choice in `grabFilthiestCompactedLog`, as pure functions over facts the caller gathers.

use chronik_types::Offset;

/// What the scheduler knows of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentFacts {
    pub base_offset: Offset,
    pub size_bytes: u64,
    /// The largest record timestamp in the segment (its time index's last entry).
    pub max_timestamp_ms: i64,
    /// The first batch's max timestamp (Kafka's `getFirstBatchTimestampForSegments`); `None`
    /// for an empty segment.
    pub first_batch_timestamp_ms: Option<i64>,
    /// Rolled and indexed. The first segment that is not sealed, and the last segment
    /// always, count as the active segment, which is never cleaned.
    pub sealed: bool,
}

/// One partition's log as the scheduler sees it.
#[derive(Debug, Clone, Copy)]
pub struct LogFacts<'a> {
    /// In offset order.
    pub segments: &'a [SegmentFacts],
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    /// Nothing at or past it is cleaned (the broker passes the high watermark: transactional
    /// batches are never changed, so open transactions need no lower bound).
    pub last_stable_offset: Offset,
}

/// The topic's compaction settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionConfig {
    /// `min.compaction.lag.ms`: a segment holding a record younger than this is not cleaned.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: a dirty record older than this makes the log due whatever
    /// its dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: f64,
}

impl Default for CompactionConfig {
    /// Kafka's defaults.
    fn default() -> Self {
        Self {
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio: 0.5,
        }
    }
}

/// The range a pass may clean: `[first_dirty_offset, first_uncleanable_offset)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanableOffsets {
    pub first_dirty_offset: Offset,
    pub first_uncleanable_offset: Offset,
    /// The checkpoint was outside the log (cut by truncation or retention) and the first
    /// dirty offset restarted at the log start: save it.
    pub reset_checkpoint: bool,
}

/// One log's standing for the scheduler (Kafka's `LogToClean`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleaningCandidate {
    /// The first uncleanable offset is moved down to the base of the segment holding it.
    pub offsets: CleanableOffsets,
    /// Bytes of the segments before the first dirty offset.
    pub clean_bytes: u64,
    /// Bytes of the segments from the first dirty to the first uncleanable offset.
    pub cleanable_bytes: u64,
    /// `cleanable / (clean + cleanable)`.
    pub dirty_ratio: f64,
    /// How long past `max.compaction.lag.ms` the oldest dirty record is (0: not overdue).
    pub compaction_delay_ms: i64,
    /// Worth a pass now: overdue with something to clean, or the ratio above the minimum.
    pub due: bool,
}

/// Kafka's `cleanableOffsets`: the first dirty offset (the checkpoint, or the log start when
/// the checkpoint is missing or outside the log) and the first uncleanable offset (the lowest
/// of the last stable offset, the active segment's base and the base of the first dirty
/// segment holding a record younger than `min.compaction.lag.ms`).
pub fn cleanable_offsets(
    log: &LogFacts<'_>,
    checkpoint: Option<Offset>,
    config: &CompactionConfig,
    now_ms: i64,
) -> CleanableOffsets {
    let wanted = checkpoint.unwrap_or(log.log_start_offset);
    let outside = wanted < log.log_start_offset || wanted > log.log_end_offset;
    let first_dirty = if outside {
        log.log_start_offset
    } else {
        wanted
    };
    let mut first_uncleanable = log.last_stable_offset.min(active_base(log));
    let min_lag = config.min_compaction_lag_ms.max(0);
    if min_lag > 0 {
        let too_young = dirty_non_active(log, first_dirty)
            .find(|s| s.max_timestamp_ms > now_ms.saturating_sub(min_lag));
        if let Some(segment) = too_young {
            first_uncleanable = first_uncleanable.min(segment.base_offset);
        }
    }
    CleanableOffsets {
        first_dirty_offset: first_dirty,
        first_uncleanable_offset: first_uncleanable.max(first_dirty),
        reset_checkpoint: outside,
    }
}

/// Kafka's `LogToClean` for this log, or `None` when the log holds no bytes.
pub fn assess(
    log: &LogFacts<'_>,
    checkpoint: Option<Offset>,
    config: &CompactionConfig,
    now_ms: i64,
) -> Option<CleaningCandidate> {
    let offsets = cleanable_offsets(log, checkpoint, config, now_ms);
    let first_dirty = offsets.first_dirty_offset;
    // calculateCleanableBytes: down to the base of the segment holding the uncleanable offset.
    let first_uncleanable = segment_holding(log, offsets.first_uncleanable_offset)
        .map_or_else(|| active_base(log), |s| s.base_offset);
    let clean_bytes = bytes_overlapping(log, Offset::MIN, first_dirty);
    let cleanable_bytes =
        bytes_overlapping(log, first_dirty.min(first_uncleanable), first_uncleanable);
    let total = clean_bytes.saturating_add(cleanable_bytes);
    if total == 0 {
        return None;
    }
    let dirty_ratio = cleanable_bytes as f64 / total as f64;
    let compaction_delay_ms = compaction_delay(log, first_dirty, config, now_ms);
    let due = (compaction_delay_ms > 0 && cleanable_bytes > 0)
        || dirty_ratio > config.min_cleanable_dirty_ratio;
    Some(CleaningCandidate {
        offsets: CleanableOffsets {
            first_uncleanable_offset: first_uncleanable,
            ..offsets
        },
        clean_bytes,
        cleanable_bytes,
        dirty_ratio,
        compaction_delay_ms,
        due,
    })
}

/// Kafka's choice among logs: the due one with the highest dirty ratio.
pub fn filthiest(candidates: &[CleaningCandidate]) -> Option<usize> {
    (candidates.iter().enumerate())
        .filter(|(_, c)| c.due)
        .max_by(|(_, a), (_, b)| a.dirty_ratio.total_cmp(&b.dirty_ratio))
        .map(|(i, _)| i)
}

/// Kafka's `maxCompactionDelay`: how far past `max.compaction.lag.ms` the earliest first-batch
/// timestamp of the dirty, non-active segments is (timestamps of 0 or less are ignored).
fn compaction_delay(
    log: &LogFacts<'_>,
    first_dirty: Offset,
    config: &CompactionConfig,
    now_ms: i64,
) -> i64 {
    let earliest = dirty_non_active(log, first_dirty)
        .filter_map(|s| s.first_batch_timestamp_ms)
        .filter(|&t| t > 0)
        .min();
    let clean_until = now_ms.saturating_sub(config.max_compaction_lag_ms.max(0));
    match earliest {
        Some(t) if t < clean_until => clean_until.saturating_sub(t),
        _ => 0,
    }
}

/// Index of the active segment: the first one not sealed, else the last.
fn active_index(log: &LogFacts<'_>) -> Option<usize> {
    let last = log.segments.len().checked_sub(1)?;
    Some(log.segments.iter().position(|s| !s.sealed).unwrap_or(last))
}

fn active_base(log: &LogFacts<'_>) -> Offset {
    match active_index(log) {
        Some(i) => log.segments[i].base_offset,
        None => log.log_end_offset,
    }
}

/// Where segment `i` ends: the next one's base, or past everything for the last.
fn segment_end(log: &LogFacts<'_>, i: usize) -> Offset {
    log.segments
        .get(i + 1)
        .map_or(Offset::MAX, |s| s.base_offset)
}

/// Kafka's `nonActiveLogSegmentsFrom`: the segment holding `from` and those after it, before
/// the active one.
fn dirty_non_active<'a>(
    log: &'a LogFacts<'a>,
    from: Offset,
) -> impl Iterator<Item = &'a SegmentFacts> + 'a {
    let active = active_index(log).unwrap_or(0);
    (log.segments[..active].iter().enumerate())
        .filter(move |&(i, _)| segment_end(log, i) > from)
        .map(|(_, s)| s)
}

/// The non-active segment holding `offset`, if any.
fn segment_holding<'a>(log: &'a LogFacts<'a>, offset: Offset) -> Option<&'a SegmentFacts> {
    dirty_non_active(log, offset).next()
}

/// Bytes of the segments overlapping `[from, to)` (Kafka's `logSegments(from, to)`).
fn bytes_overlapping(log: &LogFacts<'_>, from: Offset, to: Offset) -> u64 {
    if from >= to {
        return 0;
    }
    (log.segments.iter().enumerate())
        .filter(|&(i, s)| s.base_offset < to && segment_end(log, i) > from)
        .map(|(_, s)| s.size_bytes)
        .fold(0u64, u64::saturating_add)
}
