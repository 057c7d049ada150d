//! Rewriting a run of sealed segments into one cleaned segment (a log cleaner's output), written
//! beside them while the log goes on; [`PartitionLog::swap_in`] then replaces them with it.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use chronik_records::BatchHeader;
use chronik_types::Offset;

use crate::config::MAX_SEGMENT_BYTES;
use crate::frame::{FRAME_HEADER_LEN, FrameMeta, MAX_FRAME_PAYLOAD};
use crate::index::SegmentIndex;
use crate::log::{LogState, PartitionLog};
use crate::seal::SealTask;
use crate::segment::{Payload, Segment, remove_if_exists};
use crate::swap_files::cleaned_file_name;
use crate::{Result, WalError};

/// A cleaned segment being written to replace the sealed segments `[base_offset, end_offset)`.
/// Dropping it without [`PartitionLog::swap_in`] deletes its file.
pub struct SegmentRewrite {
    pub(crate) log: String,
    pub(crate) dir: PathBuf,
    pub(crate) end: Offset,
    /// The cleaned file, named `<base>-<end>.cleaned` until the swap.
    pub(crate) segment: Segment,
    pub(crate) guard: DiscardOnDrop,
    /// The segments replaced, as they were when the rewrite began.
    pub(crate) replaced: Vec<Replaced>,
    /// The log's truncation generation when the rewrite began.
    pub(crate) generation: u64,
    pub(crate) last_offset: Option<Offset>,
    /// Why a write failed: the file may hold a partial frame, so it must not be swapped in.
    pub(crate) broken: Option<String>,
    index_interval: u64,
}

/// One replaced segment as the rewrite saw it; the swap checks it is still exactly this.
pub(crate) struct Replaced {
    pub(crate) base: Offset,
    pub(crate) file: Arc<File>,
    pub(crate) size: u64,
    pub(crate) next_offset: Offset,
}

/// Deletes an undecided cleaned file when its rewrite is dropped; disarmed once the file has
/// been renamed into the swap protocol, whose files only recovery or the swap itself remove.
pub(crate) struct DiscardOnDrop {
    pub(crate) path: PathBuf,
    pub(crate) armed: bool,
}

impl Drop for DiscardOnDrop {
    fn drop(&mut self) {
        if self.armed
            && let Err(e) = remove_if_exists(&self.path)
        {
            tracing::warn!(file = %self.path.display(), error = %e,
                "could not delete an abandoned cleaned segment; the next open of the log deletes it");
        }
    }
}

/// What a rewrite captures of its range under the log lock.
struct RangeSnapshot {
    end: Offset,
    replaced: Vec<Replaced>,
    /// The index the cleaned segment starts from: no entries, the transactions open where
    /// the first replaced segment begins.
    index: SegmentIndex,
}

impl PartitionLog {
    /// Starts rewriting the consecutive sealed segments whose base offsets are `bases` (oldest
    /// first; never the active segment) into one cleaned segment with the first one's base
    /// offset. Appends and reads go on meanwhile; [`PartitionLog::swap_in`] replaces them.
    pub fn begin_rewrite(&self, bases: &[Offset]) -> Result<SegmentRewrite> {
        let (snapshot, generation, index_interval) = self.wait_for_sealed_range(bases)?;
        let base = snapshot.replaced.first().map_or(0, |r| r.base);
        let path = self.dir.join(cleaned_file_name(base, snapshot.end));
        let segment = Segment::create_at(path.clone(), base, snapshot.index).map_err(|e| match e {
            WalError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                self.refused(format!(
                    "a rewrite of [{base}, {}) is already under way ({}); swap it in or drop it first",
                    snapshot.end,
                    path.display()
                ))
            }
            other => other,
        })?;
        Ok(SegmentRewrite {
            log: self.name.clone(),
            dir: self.dir.clone(),
            end: snapshot.end,
            segment,
            guard: DiscardOnDrop { path, armed: true },
            replaced: snapshot.replaced,
            generation,
            last_offset: None,
            broken: None,
            index_interval,
        })
    }

    /// Checks the range under the lock and waits (outside it) until the background seals of its
    /// segments are done, so that no index write for a replaced segment can land later.
    fn wait_for_sealed_range(&self, bases: &[Offset]) -> Result<(RangeSnapshot, u64, u64)> {
        loop {
            let sealing: Vec<SealTask> = {
                let mut state = self.lock();
                self.check_rewritable(&state)?;
                let snapshot = snapshot_range(&state, bases).map_err(|r| self.refused(r))?;
                let range = bases.first().copied().unwrap_or(0)..snapshot.end;
                let (mine, others) = (std::mem::take(&mut state.sealing).into_iter())
                    .partition(|task| range.contains(&task.base) && !task.is_finished());
                state.sealing = others;
                if mine.is_empty() {
                    let interval = state.config.index_interval_bytes;
                    return Ok((snapshot, state.generation, interval));
                }
                mine
            };
            // Joined here rather than at close: the range is checked again after they end.
            for task in sealing {
                task.join();
            }
        }
    }

    /// Refuses rewrites and swaps on a log that is closed, failed or mid-swap.
    pub(crate) fn check_rewritable(&self, state: &LogState) -> Result<()> {
        if state.closed {
            return Err(WalError::Closed(self.name.clone()));
        }
        self.refuse_if_swap_interrupted(state)?;
        match self.pending.failure() {
            Some(reason) => Err(WalError::LogFailed {
                log: self.name.clone(),
                reason,
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn refused(&self, reason: String) -> WalError {
        WalError::RewriteRefused {
            log: self.name.clone(),
            reason,
        }
    }
}

/// The segments `bases` name, if they are consecutive and followed by another segment.
fn snapshot_range(state: &LogState, bases: &[Offset]) -> Result<RangeSnapshot, String> {
    let Some(&first) = bases.first() else {
        return Err("no segments were named".into());
    };
    if !state.segments.contains_key(&first) {
        return Err(format!("there is no segment at offset {first}"));
    }
    let mut following = state.segments.range(first..);
    let mut replaced = Vec::with_capacity(bases.len());
    for &base in bases {
        match following.next() {
            Some((&b, seg)) if b == base => replaced.push(Replaced {
                base,
                file: seg.file.clone(),
                size: seg.size,
                next_offset: seg.next_offset,
            }),
            _ => {
                return Err(format!(
                    "segment {base} is not the one after the previous segment named: name \
                     consecutive segments, oldest first"
                ));
            }
        }
    }
    let Some((&end, _)) = following.next() else {
        return Err(format!(
            "segment {} is the active one: only sealed segments can be rewritten",
            bases[bases.len() - 1]
        ));
    };
    if end - first > i64::from(u32::MAX) {
        return Err(format!(
            "[{first}, {end}) spans more offsets than one segment can index (2^32): rewrite \
             fewer segments at a time"
        ));
    }
    let open = (state.segments.get(&first))
        .and_then(|seg| seg.index.txns.as_ref())
        .map(|t| t.open_at_start.clone());
    Ok(RangeSnapshot {
        end,
        replaced,
        index: SegmentIndex::with_txns(open),
    })
}

impl SegmentRewrite {
    /// The cleaned segment's base offset: the first replaced segment's, even when its first
    /// records are gone, so the log start offset never moves.
    pub fn base_offset(&self) -> Offset {
        self.segment.base_offset
    }

    /// The base offset of the segment after the replaced ones.
    pub fn end_offset(&self) -> Offset {
        self.end
    }

    /// The base offsets of the replaced segments.
    pub fn replaced_bases(&self) -> Vec<Offset> {
        self.replaced.iter().map(|r| r.base).collect()
    }

    /// Bytes written to the cleaned segment so far.
    pub fn bytes(&self) -> u64 {
        self.segment.size
    }

    /// Appends one batch, keeping its offsets and leader epoch. Its offsets must lie within the
    /// replaced range, after the previous batch's (gaps are fine: that is what cleaning leaves).
    /// The batch is validated in full, as a recovery that checks batches would.
    pub fn append(&mut self, batch: &[u8], header: &BatchHeader) -> Result<()> {
        if let Some(reason) = &self.broken {
            return Err(self.refused(format!(
                "an earlier write to the cleaned segment failed ({reason}); drop this rewrite and \
                 start again"
            )));
        }
        let meta = self.check_batch(batch, header)?;
        let written =
            (self.segment).append_frame(&meta, Payload::whole(batch), self.index_interval);
        if let Err(e) = written {
            self.broken = Some(e.to_string());
            return Err(e);
        }
        self.last_offset = Some(meta.last_offset);
        Ok(())
    }

    fn check_batch(&self, batch: &[u8], header: &BatchHeader) -> Result<FrameMeta> {
        if chronik_records::validate_stored_batch(batch)? != *header {
            return Err(self.refused(
                "the header given is not the batch's own: pass the header that validating \
                 this batch returned"
                    .into(),
            ));
        }
        let (base, last) = (header.base_offset, header.last_offset());
        let min = self.last_offset.map_or(self.segment.base_offset, |l| l + 1);
        if base < min || last >= self.end {
            return Err(self.refused(format!(
                "a batch holding offsets {base}..={last} does not fit: batches must be appended \
                 in offset order, from {min}, and end before {}",
                self.end
            )));
        }
        let frame_len = (FRAME_HEADER_LEN + batch.len()) as u64;
        if batch.len() > MAX_FRAME_PAYLOAD as usize
            || self.segment.size + frame_len > MAX_SEGMENT_BYTES
        {
            return Err(self.refused(format!(
                "the cleaned segment would pass {MAX_SEGMENT_BYTES} bytes: rewrite fewer \
                 segments at a time"
            )));
        }
        Ok(FrameMeta {
            base_offset: base,
            last_offset: last,
            max_timestamp: header.max_timestamp,
            leader_epoch: header.partition_leader_epoch,
        })
    }

    fn refused(&self, reason: String) -> WalError {
        WalError::RewriteRefused {
            log: self.log.clone(),
            reason,
        }
    }
}
