//! Opening a log directory: finish a segment swap a crash interrupted once it was decided (or
//! discard one that was not), trust segments whose index file still matches them, scan the rest,
//! and cut the log at the first torn or corrupt frame so that what remains is a valid prefix.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chronik_types::Offset;

use crate::epoch::EpochCache;
use crate::error::IoContext;
use crate::frame::{FRAME_HEADER_LEN, FrameHeader, FrameMeta};
use crate::index::SegmentIndex;
use crate::segment::{Segment, parse_segment_file_name, remove_if_exists, segment_file_name};
use crate::swap_files::{InterruptedSwap, SwapState, finish_swap, interrupted_swaps};
use crate::syncer::FdataSync;
use crate::txns::OpenTxns;
use crate::{Result, WalError};

/// What was cut from a log because it was torn or corrupt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cut {
    /// The segment holding the first bad byte.
    pub segment: PathBuf,
    /// Byte position of the first bad byte within that segment.
    pub position: u64,
    pub reason: String,
    /// Bytes removed in all (the cut segment's tail plus every later segment).
    pub bytes: u64,
    /// Whole frames whose headers were still readable in what was removed.
    pub frames: u64,
    /// Offsets of those frames, if any.
    pub first_offset: Option<Offset>,
    pub last_offset: Option<Offset>,
    /// Later segments removed entirely.
    pub segments_removed: Vec<PathBuf>,
}

/// The outcome of opening one log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    pub log: String,
    pub segments: usize,
    /// Segments read frame by frame (those without a matching index file).
    pub segments_scanned: usize,
    pub bytes_scanned: u64,
    pub frames_scanned: u64,
    pub start_offset: Offset,
    pub end_offset: Offset,
    pub cut: Option<Cut>,
    /// Segment swaps a crash interrupted: decided ones are completed, undecided ones discarded.
    pub swaps: Vec<InterruptedSwap>,
    pub elapsed_ms: u64,
}

/// How thoroughly recovery reads a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryOptions {
    /// Scan every segment, even those whose index file says they were closed cleanly.
    pub full_scan: bool,
    /// Also require each payload to be a valid Kafka batch (CRC-32C included) matching its frame.
    pub check_batches: bool,
    /// The payloads are not Kafka batches (the Raft log), so segment indexes keep no
    /// transactions.
    pub opaque_payloads: bool,
}

/// A segment as recovery decided to keep it.
pub(crate) struct Planned {
    pub base: Offset,
    pub path: PathBuf,
    /// Where the file is before the plan is applied (a decided swap's file, until renamed).
    pub read_from: PathBuf,
    pub valid_len: u64,
    pub next_offset: Offset,
    pub index: SegmentIndex,
    /// Its index was rebuilt from its frames rather than read from its index file.
    pub rescanned: bool,
}

pub(crate) struct Plan {
    pub kept: Vec<Planned>,
    pub epochs: EpochCache,
    pub report: RecoveryReport,
    /// Segments to cut back to their valid length: the one holding the first bad byte, and
    /// any ending in a zero-filled tail (an active segment's, left by a crash).
    truncate: Vec<(PathBuf, u64)>,
    remove: Vec<PathBuf>,
    stale_files: Vec<PathBuf>,
    rebuilt_epochs: bool,
}

/// A segment file recovery keeps or cuts: where it is now, and its path once the interrupted
/// swaps are finished (a decided swap file becomes `<base>.wal`).
struct FoundSegment {
    base: Offset,
    path: PathBuf,
    read_from: PathBuf,
    /// Its index file, if any, belongs to the replaced segment of the same base.
    from_swap: bool,
}

/// The segments the log holds once every decided swap is finished: the replaced segments
/// give way to the swap files.
fn found_segments(dir: &Path, swaps: &[InterruptedSwap]) -> Result<Vec<FoundSegment>> {
    let decided: Vec<&InterruptedSwap> = (swaps.iter())
        .filter(|s| s.state == SwapState::Decided)
        .collect();
    let replaced =
        |base: &Offset| (decided.iter()).any(|s| (s.base_offset..s.end_offset).contains(base));
    let mut found: Vec<FoundSegment> = (crate::inspect::segment_files(dir)?.into_iter())
        .filter(|(base, _)| !replaced(base))
        .map(|(base, path)| FoundSegment {
            base,
            read_from: path.clone(),
            path,
            from_swap: false,
        })
        .collect();
    found.extend(decided.iter().map(|s| FoundSegment {
        base: s.base_offset,
        path: dir.join(segment_file_name(s.base_offset)),
        read_from: s.file.clone(),
        from_swap: true,
    }));
    found.sort_by_key(|f| f.base);
    Ok(found)
}

/// Temp files left by an interrupted index or checkpoint write.
fn stale_temp_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        if entry.file_name().to_string_lossy().ends_with(".tmp") {
            stale.push(entry.path());
        }
    }
    Ok(stale)
}

/// Writes the index rebuilt for a sealed segment, once its bytes are durable (an index only
/// ever describes durable bytes), so the next open reads it instead of rescanning. A failure
/// only costs that rescan.
fn store_rebuilt_index(segment: &Segment) {
    let stored = (segment.file.sync_data())
        .at(&segment.path)
        .and_then(|()| segment.store_index());
    if let Err(e) = stored {
        tracing::warn!(segment = %segment.path.display(), error = %e,
            "could not write a rebuilt segment index; the segment will be rescanned on the next open");
    }
}

/// The transactions open where a segment begins, for rescanning it: those open at the end of
/// the segment kept before it, else those its own (stale) index says were open at its start,
/// else none — a first segment rescanned from nothing finds each transaction's first batch
/// among those it holds, which is all a reader can be told to skip. `None` for opaque payloads.
fn txns_at_start(
    options: &RecoveryOptions,
    previous: Option<&Planned>,
    stored: Option<&(SegmentIndex, u64, Offset)>,
) -> Option<OpenTxns> {
    if options.opaque_payloads {
        return None;
    }
    let from_previous = previous
        .and_then(|p| p.index.txns.as_ref())
        .map(|t| &t.open);
    let from_stored = stored.and_then(|(index, _, _)| index.txns.as_ref());
    let open = from_previous.or(from_stored.map(|t| &t.open_at_start));
    Some(open.cloned().unwrap_or_default())
}

/// Decides what recovery keeps and cuts, without changing anything on disk.
pub(crate) fn plan(
    dir: &Path,
    name: &str,
    index_interval: u64,
    options: RecoveryOptions,
) -> Result<Plan> {
    let started = Instant::now();
    let swaps = interrupted_swaps(dir)?;
    let segments = found_segments(dir, &swaps)?;
    let stale_files = stale_temp_files(dir)?;
    let mut kept: Vec<Planned> = Vec::new();
    let mut report = RecoveryReport {
        log: name.to_string(),
        segments: 0,
        segments_scanned: 0,
        bytes_scanned: 0,
        frames_scanned: 0,
        start_offset: segments.first().map_or(0, |s| s.base),
        end_offset: 0,
        cut: None,
        swaps,
        elapsed_ms: 0,
    };
    let mut seen_epochs: Vec<FrameMeta> = Vec::new();
    let mut truncate = Vec::new();
    let mut remove = Vec::new();
    for found in segments {
        let (base, path) = (found.base, found.path);
        if let Some(cut) = report.cut.as_mut() {
            count_removed(&found.read_from, cut)?;
            cut.segments_removed.push(path.clone());
            remove.push(path);
            continue;
        }
        let prev_next = kept.last().map_or(Offset::MIN, |p| p.next_offset);
        let file = File::open(&found.read_from).at(&found.read_from)?;
        let file_len = file.metadata().at(&found.read_from)?.len();
        let index_path = path.with_file_name(crate::segment::index_file_name(base));
        let stored = SegmentIndex::load(&index_path)?;
        let txns_at_start = txns_at_start(&options, kept.last(), stored.as_ref());
        let trusted = stored
            .filter(|_| !options.full_scan && !found.from_swap)
            .filter(|(_, len, next)| *len == file_len && *next >= base && base >= prev_next)
            .filter(|(index, _, _)| index.txns.is_some() != options.opaque_payloads);
        if let Some((index, len, next)) = trusted {
            kept.push(Planned {
                base,
                path,
                read_from: found.read_from,
                valid_len: len,
                next_offset: next,
                index,
                rescanned: false,
            });
            continue;
        }
        report.segments_scanned += 1;
        report.bytes_scanned += file_len;
        let (end, index, epochs) = if base < prev_next {
            let defect = crate::frame::FrameDefect::OffsetGap {
                expected_at_least: prev_next,
                found: base,
            };
            let end = crate::scan::ScanEnd {
                valid_len: 0,
                next_offset: base,
                frames: 0,
                defect: Some((0, defect)),
            };
            (end, SegmentIndex::with_txns(txns_at_start), Vec::new())
        } else {
            Segment::scan(
                &file,
                &found.read_from,
                base,
                file_len,
                index_interval,
                options.check_batches,
                txns_at_start,
            )?
        };
        report.frames_scanned += end.frames;
        seen_epochs.extend(epochs);
        if let Some((position, defect)) = end.defect {
            let mut cut = Cut {
                segment: path.clone(),
                position,
                reason: defect.to_string(),
                bytes: 0,
                frames: 0,
                first_offset: None,
                last_offset: None,
                segments_removed: Vec::new(),
            };
            count_after(&file, file_len, position, &mut cut)?;
            // A later segment with no valid frame at all goes whole: kept empty, its base
            // would leave a gap after the previous segment's end.
            let drop_whole = end.valid_len == 0 && !kept.is_empty();
            if drop_whole {
                cut.segments_removed.push(path.clone());
                remove.push(path);
                report.cut = Some(cut);
                continue;
            }
            truncate.push((path.clone(), end.valid_len));
            report.cut = Some(cut);
        } else if end.valid_len < file_len {
            truncate.push((path.clone(), end.valid_len));
        }
        kept.push(Planned {
            base,
            path,
            read_from: found.read_from,
            valid_len: end.valid_len,
            next_offset: end.next_offset,
            index,
            rescanned: true,
        });
    }
    let (epochs, rebuilt_epochs) = rebuild_epochs(dir, &kept, &seen_epochs)?;
    report.segments = kept.len();
    report.end_offset = kept.last().map_or(report.start_offset, |p| p.next_offset);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(Plan {
        kept,
        epochs,
        report,
        truncate,
        remove,
        stale_files,
        rebuilt_epochs,
    })
}

/// Counts what a cut removes from `file` after `position`, walking frame headers while they
/// still make sense (best effort: the bytes are damaged by definition).
fn count_after(file: &File, file_len: u64, position: u64, cut: &mut Cut) -> Result<()> {
    use std::os::unix::fs::FileExt;
    cut.bytes += file_len - position;
    let mut pos = position;
    while pos + FRAME_HEADER_LEN as u64 <= file_len {
        let mut raw = [0u8; FRAME_HEADER_LEN];
        if file.read_exact_at(&mut raw, pos).is_err() {
            break;
        }
        let Ok(header) = FrameHeader::decode(&raw) else {
            break;
        };
        if pos + header.frame_len() > file_len {
            break;
        }
        cut.frames += 1;
        cut.first_offset.get_or_insert(header.meta.base_offset);
        cut.last_offset = Some(header.meta.last_offset);
        pos += header.frame_len();
    }
    Ok(())
}

fn count_removed(path: &Path, cut: &mut Cut) -> Result<()> {
    let file = File::open(path).at(path)?;
    let len = file.metadata().at(path)?.len();
    count_after(&file, len, 0, cut)
}

/// The epoch checkpoint, or (when it is missing or damaged) epochs read back from every frame
/// header, plus epochs of frames scanned now; cut to the surviving offsets.
fn rebuild_epochs(
    dir: &Path,
    kept: &[Planned],
    scanned: &[FrameMeta],
) -> Result<(EpochCache, bool)> {
    let loaded = EpochCache::load(dir)?;
    let before = loaded.clone();
    let mut epochs = match loaded {
        Some(cache) => cache,
        None => {
            let mut cache = EpochCache::default();
            for seg in kept {
                for meta in headers_of(&seg.read_from, seg.valid_len)? {
                    cache.assign(meta.leader_epoch, meta.base_offset);
                }
            }
            cache
        }
    };
    for meta in scanned {
        epochs.assign(meta.leader_epoch, meta.base_offset);
    }
    if let (Some(first), Some(last)) = (kept.first(), kept.last()) {
        epochs.truncate_from_end(last.next_offset);
        epochs.truncate_from_start(first.base);
    }
    let changed = before.as_ref() != Some(&epochs);
    Ok((epochs, changed))
}

/// Reads the frame headers of the first `len` bytes of a segment, skipping payloads.
pub(crate) fn headers_of(path: &Path, len: u64) -> Result<Vec<FrameMeta>> {
    use std::os::unix::fs::FileExt;
    let file = File::open(path).at(path)?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + FRAME_HEADER_LEN as u64 <= len {
        let mut raw = [0u8; FRAME_HEADER_LEN];
        file.read_exact_at(&mut raw, pos).at(path)?;
        let header = FrameHeader::decode(&raw).map_err(|d| WalError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("at byte {pos}: {d}"),
        })?;
        out.push(header.meta);
        pos += header.frame_len();
    }
    Ok(out)
}

/// What recovery would do to the log in `dir`, changing nothing (`chronik-walctl recover --dry-run`).
pub fn plan_recovery(dir: &Path, name: &str, options: RecoveryOptions) -> Result<RecoveryReport> {
    Ok(plan(
        dir,
        name,
        crate::LogConfig::default().index_interval_bytes,
        options,
    )?
    .report)
}

impl Plan {
    /// Carries the plan out: truncates the cut segment, deletes what follows it, removes the
    /// active segment's index (it is about to change) and opens the kept segments.
    pub(crate) fn apply(self, dir: &Path) -> Result<(Vec<Segment>, EpochCache, RecoveryReport)> {
        for path in &self.stale_files {
            remove_if_exists(path)?;
        }
        // First, so that the paths below are the finished swaps' final ones.
        for swap in &self.report.swaps {
            match swap.state {
                SwapState::Undecided => remove_if_exists(&swap.file)?,
                SwapState::Decided => {
                    finish_swap(
                        dir,
                        swap.base_offset,
                        swap.end_offset,
                        &swap.file,
                        &FdataSync,
                    )?;
                }
            }
        }
        for (path, len) in &self.truncate {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .at(path)?;
            file.set_len(*len).at(path)?;
            file.sync_all().at(path)?;
        }
        for path in &self.remove {
            if let Some(base) = path
                .file_name()
                .and_then(|n| parse_segment_file_name(&n.to_string_lossy()))
            {
                remove_if_exists(&dir.join(crate::segment::index_file_name(base)))?;
            }
            remove_if_exists(path)?;
        }
        let mut segments = Vec::with_capacity(self.kept.len());
        let sealed = self.kept.len().saturating_sub(1);
        for (i, p) in self.kept.into_iter().enumerate() {
            let rescanned = p.rescanned;
            let segment = Segment::open_known(p.path, p.base, p.valid_len, p.next_offset, p.index)?;
            if rescanned && i < sealed {
                store_rebuilt_index(&segment);
            }
            segments.push(segment);
        }
        if let Some(active) = segments.last() {
            active.remove_index()?;
        }
        if self.report.cut.is_some() || self.rebuilt_epochs {
            self.epochs.store(dir)?;
            crate::epoch::sync_dir(dir)?;
        }
        Ok((segments, self.epochs, self.report))
    }
}
