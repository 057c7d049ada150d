//! Swapping a cleaned segment in for the segments it replaces, crash-safely (the file protocol
//! is in `swap_files`).

use std::path::PathBuf;
use std::sync::Arc;

use chronik_types::Offset;

use crate::error::IoContext;
use crate::log::{LogState, PartitionLog};
use crate::rewrite::SegmentRewrite;
use crate::segment::remove_if_exists;
use crate::swap_files::{finish_swap, swap_file_name, sync_dir_with};
use crate::syncer::Syncer;
use crate::{Result, WalError};

/// What [`PartitionLog::swap_in`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapOutcome {
    /// The cleaned segment replaced the segments.
    Swapped(SwapReport),
    /// The replaced segments changed since the rewrite began (retention, DeleteRecords or
    /// truncation removed or changed some): the cleaned segment was deleted and nothing else
    /// changed. Read the log again and rewrite what is there now.
    Stale { reason: String },
}

/// A completed swap.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SwapReport {
    pub base_offset: Offset,
    pub end_offset: Offset,
    pub segments_replaced: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub path: PathBuf,
}

impl PartitionLog {
    /// Replaces the segments `rewrite` was begun on with its cleaned segment: fsyncs it, then,
    /// under the log lock, checks that those segments are still there unchanged (otherwise the
    /// outcome is [`SwapOutcome::Stale`] and nothing changes), decides the swap by renaming the
    /// file to `<base>-<end>.swap`, deletes the replaced segments and renames it to
    /// `<base>.wal`, fsyncing the directory at each step. The log's start and end offsets and
    /// its leader epochs stay as they were. Reads that began before keep reading the replaced
    /// files through their open handles. If a step after the decision fails, the log stops
    /// accepting writes and removals until a restart, whose recovery completes the swap.
    pub fn swap_in(&self, rewrite: SegmentRewrite) -> Result<SwapOutcome> {
        if rewrite.dir != self.dir {
            return Err(self.refused(format!(
                "the rewrite belongs to log {}, not this one",
                rewrite.log
            )));
        }
        if let Some(reason) = &rewrite.broken {
            return Err(self.refused(format!(
                "a write to the cleaned segment failed ({reason}); start the rewrite again"
            )));
        }
        let syncer = self.flusher.syncer().clone();
        // The longest fsync, outside the lock: appends and reads go on.
        (syncer.sync(&rewrite.segment.file)).at(&rewrite.segment.path)?;
        let mut state = self.lock();
        self.check_rewritable(&state)?;
        if let Some(reason) = stale_reason(&state, &rewrite) {
            drop(state);
            drop(rewrite);
            return Ok(SwapOutcome::Stale { reason });
        }
        self.swap_locked(&mut state, rewrite, syncer)
    }

    fn swap_locked(
        &self,
        state: &mut LogState,
        rewrite: SegmentRewrite,
        syncer: Arc<dyn Syncer>,
    ) -> Result<SwapOutcome> {
        let SegmentRewrite {
            mut segment,
            mut guard,
            replaced,
            end,
            ..
        } = rewrite;
        let base = segment.base_offset;
        let swap_path = self.dir.join(swap_file_name(base, end));
        if let Err(e) = std::fs::rename(&segment.path, &swap_path) {
            // Not decided, unless the rename happened after all: then undo it, or stop.
            if let Err(undo) = remove_if_exists(&swap_path) {
                return Err(self.interrupt(state, format!("{e}; then {undo}")));
            }
            return Err(e).at(&swap_path);
        }
        guard.armed = false;
        let finished = sync_dir_with(syncer.as_ref(), &self.dir)
            .and_then(|()| finish_swap(&self.dir, base, end, &swap_path, syncer.as_ref()));
        let final_path = match finished {
            Ok(path) => path,
            Err(e) => return Err(self.interrupt(state, e.to_string())),
        };
        segment.path = final_path;
        let bytes_before = replaced.iter().map(|r| r.size).sum();
        for r in &replaced {
            state.segments.remove(&r.base);
        }
        if let Err(e) = segment.store_index() {
            tracing::warn!(segment = %segment.path.display(), error = %e,
                "could not write a cleaned segment's index; it will be rescanned on the next open");
        }
        let report = SwapReport {
            base_offset: base,
            end_offset: end,
            segments_replaced: replaced.len(),
            bytes_before,
            bytes_after: segment.size,
            path: segment.path.clone(),
        };
        state.segments.insert(base, segment);
        tracing::info!(log = %self.name, base, end, segments = report.segments_replaced,
            bytes_before, bytes_after = report.bytes_after, "swapped in a cleaned segment");
        Ok(SwapOutcome::Swapped(report))
    }

    /// A decided swap could not be finished: the disk may hold either state, so the log stops
    /// writing and removing data until recovery completes the swap.
    fn interrupt(&self, state: &mut LogState, reason: String) -> WalError {
        let reason = format!("finishing a segment swap failed: {reason}");
        tracing::error!(log = %self.name, %reason, "log stopped accepting writes");
        self.pending.fail(reason.clone());
        state.swap_interrupted = Some(reason.clone());
        WalError::SwapInterrupted {
            log: self.name.clone(),
            reason,
        }
    }
}

/// Why the segments a rewrite replaces are no longer the ones it read, if they are not.
fn stale_reason(state: &LogState, rewrite: &SegmentRewrite) -> Option<String> {
    if state.generation != rewrite.generation {
        return Some("the log was truncated since the rewrite began".into());
    }
    let base = rewrite.segment.base_offset;
    let now: Vec<_> = state.segments.range(base..rewrite.end).collect();
    if now.len() != rewrite.replaced.len() {
        return Some(format!(
            "segments in [{base}, {}) were deleted since the rewrite began",
            rewrite.end
        ));
    }
    for (was, (b, seg)) in rewrite.replaced.iter().zip(now) {
        let same = was.base == *b
            && Arc::ptr_eq(&was.file, &seg.file)
            && was.size == seg.size
            && was.next_offset == seg.next_offset;
        if !same {
            return Some(format!("segment {b} changed since the rewrite began"));
        }
    }
    if !state.segments.contains_key(&rewrite.end) {
        return Some(format!(
            "the segment at {} after the rewritten range is gone",
            rewrite.end
        ));
    }
    None
}
