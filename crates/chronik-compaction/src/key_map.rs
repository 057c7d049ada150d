//! The key map of one cleaning pass: for each key in the dirty range, the offset of its latest
//! record (Kafka's `OffsetMap`, filled by `buildOffsetMap`).
//!
//! Keys are stored exactly, not as digests. Kafka's `SkimpyOffsetMap` keeps a 16-byte MD5 per
//! key so that its memory is a fixed number of slots; a digest collision there makes the
//! cleaner delete a live record that merely shares the digest of a newer one. MD5's 128 bits
//! make that negligible, but no 128-bit digest is among this workspace's dependencies and a
//! 64-bit hash would not be negligible over billions of keys. Exact keys cannot collide; the
//! price is that long keys use more of the budget, so a log of long keys needs more passes.
//!
//! The budget is in bytes. Each key costs its length plus [`ENTRY_OVERHEAD`], an upper bound on
//! what the hash table spends per entry: a 24-byte slot (boxed key, offset) and its control
//! byte at a load factor down to 7/16 just after the table doubles (≈ 57 bytes), plus the
//! allocator's rounding of the boxed key (≤ 31 bytes). While the table resizes, old and new
//! tables briefly coexist.

use std::collections::HashMap;
use std::ops::Range;

use chronik_types::Offset;

use crate::Result;
use crate::batch::{check_batch, records_of};
use crate::record::Records;

/// Bytes charged per key on top of its length (see the module documentation).
pub const ENTRY_OVERHEAD: usize = 88;

/// The most a batch's records may decompress to unless the caller says otherwise.
pub const DEFAULT_UNCOMPRESSED_LIMIT: usize = 64 * 1024 * 1024;

/// Whether the pass may go on feeding batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapProgress {
    /// The batch's records in the dirty range are mapped; feed the next one.
    Continue,
    /// The budget is spent: the map covers the dirty range up to `end` (exclusive), which is
    /// where the next pass starts. Further batches are ignored.
    Full { end: Offset },
}

/// Key → offset of its latest record, over the dirty range `[first dirty, first uncleanable)`
/// or the part of it that fit in the budget.
#[derive(Debug)]
pub struct KeyMap {
    latest: HashMap<Box<[u8]>, Offset>,
    budget: usize,
    used: usize,
    dirty: Range<Offset>,
    /// Once full: the offset of the first record that did not fit.
    stopped_at: Option<Offset>,
    uncompressed_limit: usize,
}

impl KeyMap {
    /// A map of at most `budget_bytes` (see [`ENTRY_OVERHEAD`]) over `dirty`: from the first
    /// dirty offset (the cleaner's checkpoint) to the first uncleanable offset.
    pub fn new(budget_bytes: usize, dirty: Range<Offset>) -> Self {
        Self {
            latest: HashMap::new(),
            budget: budget_bytes,
            used: 0,
            dirty,
            stopped_at: None,
            uncompressed_limit: DEFAULT_UNCOMPRESSED_LIMIT,
        }
    }

    /// Refuses batches whose records decompress to more than `bytes`.
    pub fn with_uncompressed_limit(mut self, bytes: usize) -> Self {
        self.uncompressed_limit = bytes;
        self
    }

    /// Maps the keyed records of one batch that lie in the dirty range. Feed the batches of the
    /// dirty range in offset order; stop at [`MapProgress::Full`].
    ///
    /// Control and transactional batches are not mapped: a transaction's records may be
    /// aborted, so they must not hide older records (Kafka skips aborted ones; the cleaner does
    /// not resolve transactions, so every transactional batch is treated as possibly aborted).
    pub fn map_batch(&mut self, batch: &[u8]) -> Result<MapProgress> {
        let header = check_batch(batch)?;
        if let Some(end) = self.stopped_at {
            return Ok(MapProgress::Full { end });
        }
        let outside =
            header.last_offset() < self.dirty.start || header.base_offset >= self.dirty.end;
        if outside || header.is_control() || header.is_transactional() {
            return Ok(MapProgress::Continue);
        }
        let records = records_of(batch, &header, self.uncompressed_limit)?;
        for record in Records::new(&header, &records) {
            let record = record?;
            let Some(key) = record.key else { continue };
            if !self.dirty.contains(&record.offset) {
                continue;
            }
            if !self.put(key, record.offset) {
                self.stopped_at = Some(record.offset);
                return Ok(MapProgress::Full { end: record.offset });
            }
        }
        Ok(MapProgress::Continue)
    }

    /// Records `offset` as the latest for `key`; false when a new key does not fit. The first
    /// key always fits, whatever its size: every pass must make progress.
    fn put(&mut self, key: &[u8], offset: Offset) -> bool {
        if let Some(latest) = self.latest.get_mut(key) {
            *latest = (*latest).max(offset);
            return true;
        }
        let cost = key.len().saturating_add(ENTRY_OVERHEAD);
        if !self.latest.is_empty() && self.used.saturating_add(cost) > self.budget {
            return false;
        }
        self.used = self.used.saturating_add(cost);
        self.latest.insert(key.into(), offset);
        true
    }

    /// The offset of `key`'s latest record in the covered range.
    pub fn latest_offset(&self, key: &[u8]) -> Option<Offset> {
        self.latest.get(key).copied()
    }

    /// Where the covered range ends (exclusive): the next pass's first dirty offset. Records
    /// at or past it are not covered and the filter keeps them. Until the map is full this
    /// is the end of the dirty range, so read it once every batch of the range was fed.
    pub fn end(&self) -> Offset {
        self.stopped_at.unwrap_or(self.dirty.end)
    }

    /// The range this map was built over: `[first dirty, first uncleanable)`.
    pub fn dirty_range(&self) -> Range<Offset> {
        self.dirty.clone()
    }

    pub fn is_full(&self) -> bool {
        self.stopped_at.is_some()
    }

    /// How many keys are mapped.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }

    /// Bytes charged against the budget so far.
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    pub fn budget_bytes(&self) -> usize {
        self.budget
    }
}
