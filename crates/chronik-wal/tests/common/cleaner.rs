//! A test log cleaner over the rewrite API, and views of a whole log to compare states with.

use std::path::Path;

use chronik_records::{
    BatchHeader, build_batch, recompute_crc, set_base_offset, set_partition_leader_epoch,
    validate_batch,
};
use chronik_types::Offset;
use chronik_wal::{EpochEntry, PartitionLog, SegmentBatch, SegmentRewrite};

use super::{batch, split_batches};

/// Appends 80 batches of 1 to 3 records (epoch 1, then 2): several small segments.
pub fn fill(log: &PartitionLog) {
    for i in 0..80u64 {
        let epoch = if i < 40 { 1 } else { 2 };
        log.append(&mut batch(i, 1 + (i % 3) as usize, i as i64), epoch)
            .expect("append");
    }
    assert!(log.segments().len() >= 6, "{:?}", log.segments());
}

/// What the test cleaner does with one stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Keep,
    /// Keep one record, keeping the batch's offsets (the rest become a gap inside it).
    Shrink,
    Drop,
}

/// Where a v2 batch header keeps its last offset delta (not exported by chronik-records,
/// which has no setter for it: only a cleaner changes it).
const LAST_OFFSET_DELTA: usize = 23;

/// A batch holding one record but the offsets of `stored`, with its leader epoch.
pub fn shrunk(stored: &[u8]) -> Vec<u8> {
    let header = BatchHeader::parse(stored).expect("stored batch header");
    let value = format!("shrunk-{}", header.base_offset);
    let mut batch = build_batch(&[value.as_bytes()], header.max_timestamp);
    set_base_offset(&mut batch, header.base_offset);
    set_partition_leader_epoch(&mut batch, header.partition_leader_epoch);
    batch[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
        .copy_from_slice(&header.last_offset_delta.to_be_bytes());
    recompute_crc(&mut batch);
    batch
}

/// Reads the segments `bases` and writes the batches `fate` keeps into a rewrite; returns it
/// with the batches it holds, as they will read back.
pub fn clean(
    log: &PartitionLog,
    bases: &[Offset],
    fate: impl Fn(&SegmentBatch) -> Fate,
) -> (SegmentRewrite, Vec<Vec<u8>>) {
    let mut rewrite = log.begin_rewrite(bases).expect("begin rewrite");
    let mut kept = Vec::new();
    for base in bases {
        for stored in log.segment_batches(*base).expect("segment batches") {
            let stored = stored.expect("read a stored batch");
            let batch = match fate(&stored) {
                Fate::Keep => stored.batch.clone(),
                Fate::Shrink => shrunk(&stored.batch),
                Fate::Drop => continue,
            };
            let header = validate_batch(&batch).expect("kept batch is valid");
            rewrite.append(&batch, &header).expect("append to rewrite");
            kept.push(batch);
        }
    }
    (rewrite, kept)
}

/// Drop every third batch, shrink the next, keep the third, by base offset.
pub fn every_third(stored: &SegmentBatch) -> Fate {
    fate_by_offset(stored.meta.base_offset)
}

/// What [`every_third`] does with the batch at `base_offset`.
pub fn fate_by_offset(base_offset: Offset) -> Fate {
    match base_offset % 3 {
        0 => Fate::Drop,
        1 => Fate::Shrink,
        _ => Fate::Keep,
    }
}

/// Everything a reader can see of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    pub start: Offset,
    pub end: Offset,
    pub bases: Vec<Offset>,
    pub epochs: Vec<EpochEntry>,
    pub batches: Vec<Vec<u8>>,
}

pub fn view(log: &PartitionLog) -> LogView {
    let read = log
        .read(log.start_offset(), usize::MAX)
        .expect("read the log");
    LogView {
        start: log.start_offset(),
        end: log.end_offset(),
        bases: log.segments().iter().map(|s| s.base_offset).collect(),
        epochs: log.epochs(),
        batches: split_batches(&read.data),
    }
}

fn base_of(batch: &[u8]) -> Offset {
    BatchHeader::parse(batch).expect("batch header").base_offset
}

fn last_of(batch: &[u8]) -> Offset {
    BatchHeader::parse(batch)
        .expect("batch header")
        .last_offset()
}

/// The view after the segments `[bases[0], end)` were replaced by one holding `kept`.
pub fn expected_after(
    before: &LogView,
    bases: &[Offset],
    end: Offset,
    kept: &[Vec<u8>],
) -> LogView {
    let first = bases[0];
    let mut batches: Vec<Vec<u8>> = (before.batches.iter())
        .filter(|b| base_of(b) < first)
        .cloned()
        .collect();
    batches.extend(kept.iter().cloned());
    batches.extend(before.batches.iter().filter(|b| base_of(b) >= end).cloned());
    LogView {
        bases: (before.bases.iter())
            .filter(|b| **b == first || !bases.contains(b))
            .copied()
            .collect(),
        batches,
        ..before.clone()
    }
}

/// Every offset of the log reads from the batch holding it or, in a gap, from the next batch.
pub fn assert_every_offset_reads_right(log: &PartitionLog, view: &LogView) {
    for offset in view.start..view.end {
        let read = log.read(offset, 1).expect("read one offset");
        let want = view.batches.iter().find(|b| last_of(b) >= offset);
        let got = split_batches(&read.data);
        assert_eq!(got.first(), want, "read at offset {offset}");
    }
}

/// The names of the files in a log directory, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read log dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
