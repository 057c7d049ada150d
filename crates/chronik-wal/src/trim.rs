//! Removing data from a log: truncation at the end (replication), whole-segment deletion at
//! the start (retention) and moving the log start offset (DeleteRecords).

use chronik_types::Offset;

use crate::Result;
use crate::index::SegmentIndex;
use crate::log::{LogState, PartitionLog};
use crate::segment::Segment;
use crate::txns::OpenTxns;

/// What a retention pass or `delete_before` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionReport {
    pub segments_deleted: usize,
    pub bytes_deleted: u64,
    pub start_offset: Offset,
}

impl PartitionLog {
    /// Removes every batch holding an offset at or after `offset`; a batch that straddles it
    /// goes whole. Returns the new log end offset. Below the log start, the log is emptied and
    /// restarted at `offset` (a follower behind a leader's retention).
    pub fn truncate_to(&self, offset: Offset) -> Result<Offset> {
        let mut state = self.lock();
        self.refuse_if_swap_interrupted(&state)?;
        if offset >= state.next_offset {
            return Ok(state.next_offset);
        }
        if offset <= state.start_offset {
            self.reset_locked(&mut state, offset)?;
        } else {
            self.truncate_locked(&mut state, offset)?;
        }
        let end = state.next_offset;
        if state.epochs.truncate_from_end(end) {
            self.store_epochs(&state.epochs)?;
        }
        self.pending.drop_waiters_from(end);
        Ok(end)
    }

    fn truncate_locked(&self, state: &mut LogState, offset: Offset) -> Result<()> {
        state.generation += 1;
        let later: Vec<Offset> = state
            .segments
            .range(offset + 1..)
            .map(|(b, _)| *b)
            .collect();
        let containing = *state
            .segments
            .range(..=offset)
            .next_back()
            .map(|(b, _)| b)
            .unwrap_or(&state.start_offset);
        for base in later {
            if let Some(seg) = state.segments.remove(&base) {
                seg.delete()?;
            }
        }
        let interval = state.config.index_interval_bytes;
        if let Some(seg) = state.segments.get_mut(&containing) {
            seg.remove_index()?;
            if let Some(position) = seg.locate(offset)? {
                seg.truncate(position, interval)?;
            }
            state.next_offset = seg.next_offset;
        }
        Ok(())
    }

    /// Empties the log and restarts it at `offset` (a Raft log taking a snapshot, a follower
    /// whose leader no longer has its offsets).
    pub fn restart_at(&self, offset: Offset) -> Result<()> {
        let mut state = self.lock();
        self.refuse_if_swap_interrupted(&state)?;
        self.reset_locked(&mut state, offset)?;
        state.epochs = crate::epoch::EpochCache::default();
        self.store_epochs(&state.epochs)?;
        self.pending.drop_waiters_from(Offset::MIN);
        Ok(())
    }

    /// Deletes every segment and starts an empty one at `offset`.
    fn reset_locked(&self, state: &mut LogState, offset: Offset) -> Result<()> {
        state.generation += 1;
        for (_, seg) in std::mem::take(&mut state.segments) {
            seg.delete()?;
        }
        // The new first segment's base is the start, and all of it is dirty; older
        // checkpoints may lie above it.
        crate::offsets::remove(&self.dir, crate::offsets::LOG_START_FILE)?;
        crate::offsets::remove(&self.dir, crate::offsets::CLEANER_OFFSET_FILE)?;
        let index = SegmentIndex::with_txns(self.kafka_batches.then(OpenTxns::new));
        state
            .segments
            .insert(offset, Segment::create(&self.dir, offset, index)?);
        crate::epoch::sync_dir(&self.dir)?;
        state.start_offset = offset;
        state.next_offset = offset;
        Ok(())
    }

    /// Moves the log start offset up to `offset` (Kafka's DeleteRecords), which may lie inside
    /// a segment: reads below it fail from now on, and it survives restarts (the checkpoint is
    /// durable before anything is deleted). Segments wholly below it are deleted; the active
    /// segment stays. An `offset` at or below the start changes nothing; one past the log end
    /// is refused.
    pub fn advance_start(&self, offset: Offset) -> Result<RetentionReport> {
        let mut state = self.lock();
        if offset > state.next_offset {
            return Err(crate::WalError::OffsetOutOfRange {
                requested: offset,
                start: state.start_offset,
                end: state.next_offset,
            });
        }
        if offset <= state.start_offset {
            return Ok(RetentionReport {
                start_offset: state.start_offset,
                ..RetentionReport::default()
            });
        }
        crate::offsets::store(&self.dir, crate::offsets::LOG_START_FILE, offset)?;
        state.start_offset = offset;
        let doomed = leading_segments(&state, |seg| seg.next_offset <= offset);
        let report = self.delete_leading(&mut state, doomed)?;
        let start = state.start_offset;
        if state.epochs.truncate_from_start(start) {
            self.store_epochs(&state.epochs)?;
        }
        tracing::info!(log = %self.name, start_offset = state.start_offset, "log start offset moved");
        Ok(report)
    }

    /// Deletes whole segments whose offsets are all below `offset`. The active segment stays.
    pub fn delete_before(&self, offset: Offset) -> Result<RetentionReport> {
        let mut state = self.lock();
        self.refuse_if_swap_interrupted(&state)?;
        let doomed = leading_segments(&state, |seg| seg.next_offset <= offset);
        self.delete_leading(&mut state, doomed)
    }

    /// Applies `retention.ms` (against `now_ms`) and `retention.bytes`, deleting the oldest whole
    /// segments, but only segments that lie wholly below `upper_bound` (the partition's high
    /// watermark, as in Kafka: records consumers and followers have not been able to read yet
    /// stay). An expired active segment is rolled first so that it can go too.
    pub fn enforce_retention(&self, now_ms: i64, upper_bound: Offset) -> Result<RetentionReport> {
        let mut state = self.lock();
        self.refuse_if_swap_interrupted(&state)?;
        let retention_ms = state.config.retention_ms;
        let expired = |seg: &Segment| {
            retention_ms.is_some_and(|ms| seg.index.max_timestamp < now_ms.saturating_sub(ms))
        };
        let active_expired = {
            let active = state.active();
            !active.is_empty() && expired(active) && active.next_offset <= upper_bound
        };
        if active_expired {
            self.roll(&mut state)?;
        }
        let readable = |seg: &Segment| seg.next_offset <= upper_bound;
        let mut doomed = leading_segments(&state, |seg| expired(seg) && readable(seg));
        if let Some(limit) = state.config.retention_bytes {
            let mut total: u64 = state.segments.values().map(|s| s.size).sum();
            let sizes: Vec<(Offset, u64, bool)> = (state.segments.values())
                .map(|s| (s.base_offset, s.size, readable(s)))
                .collect();
            for (base, size, readable) in &sizes[..sizes.len() - 1] {
                // Kafka's rule: delete a segment only if what stays is still at least the limit.
                if !readable || total - size < limit {
                    break;
                }
                total -= size;
                if !doomed.contains(base) {
                    doomed.push(*base);
                }
            }
        }
        self.delete_leading(&mut state, doomed)
    }

    fn delete_leading(&self, state: &mut LogState, doomed: Vec<Offset>) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        for base in doomed {
            if let Some(seg) = state.segments.remove(&base) {
                report.segments_deleted += 1;
                report.bytes_deleted += seg.size;
                seg.delete()?;
            }
        }
        if report.segments_deleted > 0 {
            let first = *state.segments.keys().next().unwrap_or(&state.next_offset);
            state.start_offset = state.start_offset.max(first);
            if state.epochs.truncate_from_start(state.start_offset) {
                self.store_epochs(&state.epochs)?;
            }
            tracing::info!(log = %self.name, segments = report.segments_deleted, bytes = report.bytes_deleted,
                start_offset = state.start_offset, "deleted old segments");
        }
        report.start_offset = state.start_offset;
        Ok(report)
    }
}

/// The oldest segments, in order, for which `pred` holds, never including the active one.
fn leading_segments(state: &LogState, pred: impl Fn(&Segment) -> bool) -> Vec<Offset> {
    let sealed = state.segments.len().saturating_sub(1);
    state
        .segments
        .iter()
        .take(sealed)
        .take_while(|(_, s)| pred(s))
        .map(|(b, _)| *b)
        .collect()
}
