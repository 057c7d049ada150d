//! Read-only walks over a data dir for `chronik-walctl`: summaries, batch listings and a full
//! verification that reports every damaged place rather than stopping at the first.

use std::fs::File;
use std::path::{Path, PathBuf};

use chronik_types::{Offset, TopicPartition};

use crate::error::IoContext;
use crate::frame::FrameMeta;
use crate::scan::{Visit, resync, scan_frames};
use crate::segment::{check_batch_matches, parse_segment_file_name};
use crate::swap_files::{InterruptedSwap, SwapState, interrupted_swaps};
use crate::txn_check::{check_txn_indexes, starting_txns};
use crate::txns::SegmentTxns;
use crate::{PARTITIONS_DIR, Result};
use chronik_records::BatchHeader;

/// One segment as found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SegmentSummary {
    pub file: PathBuf,
    pub base_offset: Offset,
    pub next_offset: Offset,
    pub bytes: u64,
    pub batches: u64,
    pub records: u64,
    pub min_timestamp: Option<i64>,
    pub max_timestamp: Option<i64>,
    /// Transactions whose abort marker is in this segment.
    pub aborted_transactions: u64,
    /// Why reading stopped early, when the segment is damaged.
    pub damaged: Option<String>,
}

/// One partition's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartitionSummary {
    pub topic: String,
    pub partition: i32,
    pub start_offset: Offset,
    pub end_offset: Offset,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    pub min_timestamp: Option<i64>,
    pub max_timestamp: Option<i64>,
    /// Where the log cleaner's next pass starts (`None`: never cleaned).
    pub cleaner_offset: Option<Offset>,
    /// Aborted transactions in the log (what read_committed readers are told to skip).
    pub aborted_transactions: u64,
    /// Transactions with data in the log and no marker yet.
    pub open_transactions: u64,
    pub segments: Vec<SegmentSummary>,
}

impl PartitionSummary {
    /// The share of the log's bytes the cleaner has not cleaned yet (segments at or above its
    /// checkpoint), as Kafka's dirty ratio; `None` for a log the cleaner never cleaned.
    pub fn dirty_ratio(&self) -> Option<f64> {
        let clean_below = self.cleaner_offset?;
        let dirty: u64 = (self.segments.iter())
            .filter(|s| s.next_offset > clean_below)
            .map(|s| s.bytes)
            .sum();
        Some(if self.bytes == 0 {
            0.0
        } else {
            dirty as f64 / self.bytes as f64
        })
    }
}

/// One batch as stored, for `dump`.
#[derive(Debug, Clone)]
pub struct BatchView {
    pub file: PathBuf,
    pub position: u64,
    pub meta: FrameMeta,
    pub header: Option<BatchHeader>,
    pub crc_ok: bool,
    pub payload: Vec<u8>,
}

/// A damaged place found by [`verify_partition`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Corruption {
    pub file: PathBuf,
    pub position: u64,
    /// The offset expected or found there, when known.
    pub offset: Option<Offset>,
    pub reason: String,
}

pub fn partition_dir(root: &Path, tp: &TopicPartition) -> PathBuf {
    root.join(PARTITIONS_DIR).join(tp.dir_name())
}

/// The segment files of a partition, oldest first.
pub fn segment_files(dir: &Path) -> Result<Vec<(Offset, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        if let Some(base) = parse_segment_file_name(&entry.file_name().to_string_lossy()) {
            out.push((base, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn open_len(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).at(path)?;
    let len = file.metadata().at(path)?.len();
    Ok((file, len))
}

/// Totals for a partition, reading every frame up to the first damaged one in each segment.
pub fn summarize_partition(root: &Path, tp: &TopicPartition) -> Result<PartitionSummary> {
    let mut summary = PartitionSummary {
        topic: tp.topic.clone(),
        partition: tp.partition,
        ..Default::default()
    };
    let dir = partition_dir(root, tp);
    summary.cleaner_offset = crate::offsets::load(&dir, crate::offsets::CLEANER_OFFSET_FILE)?;
    let mut txns: Option<SegmentTxns> = None;
    for (base, path) in segment_files(&dir)? {
        let (file, len) = open_len(&path)?;
        let mut seg_txns = starting_txns(txns.as_ref(), &path, base)?;
        let mut seg = SegmentSummary {
            file: path.clone(),
            base_offset: base,
            next_offset: base,
            bytes: len,
            ..Default::default()
        };
        let end = scan_frames(&file, &path, 0, len, base, |frame| {
            seg.batches += 1;
            let meta = frame.header.meta;
            seg_txns.on_batch(meta.base_offset, frame.payload);
            let first_ts = match BatchHeader::parse(frame.payload) {
                Ok(h) => {
                    seg.records += h.records_count.max(0) as u64;
                    h.base_timestamp
                }
                Err(_) => meta.max_timestamp,
            };
            seg.min_timestamp = Some(seg.min_timestamp.map_or(first_ts, |t| t.min(first_ts)));
            seg.max_timestamp = Some(
                seg.max_timestamp
                    .map_or(meta.max_timestamp, |t| t.max(meta.max_timestamp)),
            );
            Ok(Visit::Continue)
        })?;
        seg.next_offset = end.next_offset;
        seg.damaged = end.defect.map(|(pos, d)| format!("at byte {pos}: {d}"));
        seg.aborted_transactions = seg_txns.aborted.len() as u64;
        summary.segments.push(seg);
        txns = Some(seg_txns);
    }
    summary.open_transactions = txns.map_or(0, |t| t.open.len() as u64);
    if let (Some(first), Some(last)) = (summary.segments.first(), summary.segments.last()) {
        summary.end_offset = last.next_offset;
        // A start moved inside the first segment (DeleteRecords) is checkpointed beside it.
        summary.start_offset = (crate::offsets::load(&dir, crate::offsets::LOG_START_FILE)?)
            .map_or(first.base_offset, |c| c.max(first.base_offset))
            .min(summary.end_offset.max(first.base_offset));
    }
    for seg in &summary.segments {
        summary.aborted_transactions += seg.aborted_transactions;
        summary.batches += seg.batches;
        summary.records += seg.records;
        summary.bytes += seg.bytes;
        summary.min_timestamp = merge(summary.min_timestamp, seg.min_timestamp, i64::min);
        summary.max_timestamp = merge(summary.max_timestamp, seg.max_timestamp, i64::max);
    }
    Ok(summary)
}

fn merge(a: Option<i64>, b: Option<i64>, f: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// Calls `visit` for each valid batch holding offsets at or after `from`, oldest first, until it
/// returns false. Returns the places where a segment's valid frames ended early (damage), so
/// that a caller never skips damaged data silently.
pub fn for_each_batch(
    root: &Path,
    tp: &TopicPartition,
    from: Offset,
    mut visit: impl FnMut(BatchView) -> bool,
) -> Result<Vec<Corruption>> {
    let mut damage = Vec::new();
    for (base, path) in segment_files(&partition_dir(root, tp))? {
        let (file, len) = open_len(&path)?;
        let mut stopped = false;
        let end = scan_frames(&file, &path, 0, len, base, |frame| {
            let meta = frame.header.meta;
            if meta.last_offset < from {
                return Ok(Visit::Continue);
            }
            let view = BatchView {
                file: path.clone(),
                position: frame.position,
                meta,
                header: BatchHeader::parse(frame.payload).ok(),
                crc_ok: chronik_records::crc_matches(frame.payload),
                payload: frame.payload.to_vec(),
            };
            if visit(view) {
                Ok(Visit::Continue)
            } else {
                stopped = true;
                Ok(Visit::Stop)
            }
        })?;
        if let Some((position, defect)) = end.defect {
            damage.push(Corruption {
                file: path.clone(),
                position,
                offset: Some(end.next_offset),
                reason: defect.to_string(),
            });
        }
        if stopped {
            break;
        }
    }
    Ok(damage)
}

/// Checks every frame's CRC-32 and every batch's CRC-32C in a partition, resynchronising after
/// damage so that each damaged place is reported. A decided swap's file is checked too, since
/// opening the log makes it a segment; the swap itself is not damage (see
/// [`partition_swaps`]).
pub fn verify_partition(root: &Path, tp: &TopicPartition) -> Result<Vec<Corruption>> {
    let dir = partition_dir(root, tp);
    let mut found = Vec::new();
    let mut expected = Offset::MIN;
    let mut rebuilt: Vec<(Offset, PathBuf, SegmentTxns)> = Vec::new();
    for (base, path) in segment_files(&dir)? {
        if base < expected {
            found.push(Corruption { file: path.clone(), position: 0, offset: Some(base),
                reason: format!("segment starts at offset {base}, inside the previous segment (which ends at {expected})") });
        }
        let mut txns = starting_txns(rebuilt.last().map(|(_, _, t)| t), &path, base)?;
        expected = verify_segment(&path, base, &mut found, &mut txns)?.max(expected);
        rebuilt.push((base, path, txns));
    }
    for swap in interrupted_swaps(&dir)? {
        if swap.state == SwapState::Decided {
            let mut txns = SegmentTxns::default();
            verify_segment(&swap.file, swap.base_offset, &mut found, &mut txns)?;
        }
    }
    // Transactions rebuilt across damage would only report the damage again.
    if found.is_empty() {
        check_txn_indexes(&rebuilt, &mut found)?;
    }
    Ok(found)
}

/// The segment swaps a crash interrupted in a partition. They are not damage: opening the log
/// (a broker start or `chronik-walctl recover`) completes the decided ones and discards the
/// others.
pub fn partition_swaps(root: &Path, tp: &TopicPartition) -> Result<Vec<InterruptedSwap>> {
    interrupted_swaps(&partition_dir(root, tp))
}

/// Verifies one segment, following its transactions into `txns`; returns the offset after its
/// last valid frame.
fn verify_segment(
    path: &Path,
    base: Offset,
    found: &mut Vec<Corruption>,
    txns: &mut SegmentTxns,
) -> Result<Offset> {
    let (file, len) = open_len(path)?;
    let mut pos = 0;
    let mut next = base;
    loop {
        let end = scan_frames(&file, path, pos, len, next, |frame| {
            txns.on_batch(frame.header.meta.base_offset, frame.payload);
            if let Err(d) = check_batch_matches(frame.payload, &frame.header.meta) {
                found.push(Corruption {
                    file: path.to_path_buf(),
                    position: frame.position,
                    offset: Some(frame.header.meta.base_offset),
                    reason: d.to_string(),
                });
            }
            Ok(Visit::Continue)
        })?;
        next = end.next_offset;
        let Some((at, defect)) = end.defect else {
            return Ok(next);
        };
        found.push(Corruption {
            file: path.to_path_buf(),
            position: at,
            offset: Some(next),
            reason: defect.to_string(),
        });
        match resync(&file, path, at + 1, len)? {
            Some(p) => {
                pos = p;
                next = Offset::MIN;
            }
            None => return Ok(next),
        }
    }
}
