//! Sparse per-segment indexes, kept in memory while a segment is active and written to
//! `<base>.index` when it is sealed or the log is closed cleanly. The file records the segment
//! length it describes, so a segment that changed after its index was written is rescanned.
//! A log of Kafka batches also keeps its segments' transactions here ([`crate::txns`]).
//!
//! ```text
//! u32 magic "CHXT" · u64 segment length · i64 next offset · i64 max timestamp
//! u32 offset entries · u32 time entries
//! offset entries: (u32 relative offset, u32 position) · time entries: (i64 timestamp, u32 relative offset)
//! u8 transactions kept (0 or 1) · if 1: open at start, open at end ((i64 producer id,
//!   i64 first offset) each, after a u32 count), aborted (i64 producer id, i64 first offset,
//!   i64 marker offset, after a u32 count)
//! u32 crc32 of everything before it
//! ```
//!
//! An index file in an older layout (magic "CHIX", no transactions) fails to decode, and its
//! segment is rescanned once.

use std::path::Path;

use chronik_types::Offset;

use crate::Result;
use crate::error::IoContext;
use crate::txns::{OpenTxns, SegmentTxns};

const INDEX_MAGIC: u32 = u32::from_be_bytes(*b"CHXT");
const FIXED_LEN: usize = 4 + 8 + 8 + 8 + 4 + 4;
/// An index file larger than this is corrupt (a 2 GiB segment indexed every 4 KiB needs ~6 MiB).
const MAX_INDEX_FILE: u64 = 64 * 1024 * 1024;

/// One sparse offset index entry: the frame starting at `position` begins at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

/// One time index entry: every frame up to and including the one at `relative_offset` has a max
/// timestamp of at most `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

/// The sparse indexes of one segment and the summary facts recovery needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentIndex {
    pub offsets: Vec<OffsetEntry>,
    pub times: Vec<TimeEntry>,
    /// The running max timestamp over all frames (-1 when empty).
    pub max_timestamp: i64,
    /// The segment's transactions; `None` in a log of opaque payloads (the Raft log).
    pub txns: Option<SegmentTxns>,
    bytes_since_entry: u64,
}

impl SegmentIndex {
    pub fn new() -> Self {
        Self {
            max_timestamp: -1,
            ..Self::default()
        }
    }

    /// An empty index that follows transactions, `open` being those open where it begins
    /// (`None`: a log of opaque payloads, which has none).
    pub fn with_txns(open: Option<OpenTxns>) -> Self {
        Self {
            txns: open.map(SegmentTxns::starting_with),
            ..Self::new()
        }
    }

    /// Follows the payload of a frame appended at `base_offset`, when this index keeps
    /// transactions.
    pub fn on_payload(&mut self, base_offset: Offset, payload: &[u8]) {
        if let Some(txns) = self.txns.as_mut() {
            txns.on_batch(base_offset, payload);
        }
    }

    /// Records a frame written at `position`; adds entries every `interval` bytes.
    pub fn on_frame(
        &mut self,
        relative_offset: u32,
        position: u32,
        frame_len: u64,
        max_timestamp: i64,
        interval: u64,
    ) {
        let due = self.offsets.is_empty() || self.bytes_since_entry >= interval;
        if due {
            self.offsets.push(OffsetEntry {
                relative_offset,
                position,
            });
            self.bytes_since_entry = 0;
        }
        if max_timestamp > self.max_timestamp {
            self.max_timestamp = max_timestamp;
            if due || self.times.is_empty() {
                self.times.push(TimeEntry {
                    timestamp: max_timestamp,
                    relative_offset,
                });
            }
        }
        self.bytes_since_entry += frame_len;
    }

    /// The last offset entry at or before `relative_offset` (the place to start scanning).
    pub fn floor(&self, relative_offset: u32) -> Option<OffsetEntry> {
        let i = self
            .offsets
            .partition_point(|e| e.relative_offset <= relative_offset);
        i.checked_sub(1).map(|i| self.offsets[i])
    }

    /// The relative offset after which a frame with max timestamp >= `timestamp` may first
    /// appear: every frame up to the returned entry is older than `timestamp`.
    pub fn time_floor(&self, timestamp: i64) -> Option<TimeEntry> {
        let i = self.times.partition_point(|e| e.timestamp < timestamp);
        i.checked_sub(1).map(|i| self.times[i])
    }

    /// Serializes the index together with the segment facts it was built for.
    pub fn encode(&self, segment_len: u64, next_offset: Offset) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(FIXED_LEN + self.offsets.len() * 8 + self.times.len() * 12 + 4);
        out.extend_from_slice(&INDEX_MAGIC.to_be_bytes());
        out.extend_from_slice(&segment_len.to_be_bytes());
        out.extend_from_slice(&next_offset.to_be_bytes());
        out.extend_from_slice(&self.max_timestamp.to_be_bytes());
        out.extend_from_slice(&(self.offsets.len() as u32).to_be_bytes());
        out.extend_from_slice(&(self.times.len() as u32).to_be_bytes());
        for e in &self.offsets {
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
            out.extend_from_slice(&e.position.to_be_bytes());
        }
        for e in &self.times {
            out.extend_from_slice(&e.timestamp.to_be_bytes());
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
        }
        match &self.txns {
            None => out.push(0),
            Some(txns) => {
                out.push(1);
                txns.encode(&mut out);
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Parses an index file's bytes; returns the index, the segment length and next offset it
    /// describes.
    pub fn decode(bytes: &[u8]) -> Option<(Self, u64, Offset)> {
        if bytes.len() < FIXED_LEN + 4 {
            return None;
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body) != u32::from_be_bytes(crc.try_into().ok()?) {
            return None;
        }
        let mut r = Reader(body);
        if r.u32()? != INDEX_MAGIC {
            return None;
        }
        let segment_len = r.u64()?;
        let next_offset = r.u64()? as i64;
        let max_timestamp = r.u64()? as i64;
        let n_offsets = r.u32()? as usize;
        let n_times = r.u32()? as usize;
        if n_offsets.checked_mul(8)? + n_times.checked_mul(12)? >= r.0.len() {
            return None;
        }
        let mut index = Self::new();
        index.max_timestamp = max_timestamp;
        for _ in 0..n_offsets {
            index.offsets.push(OffsetEntry {
                relative_offset: r.u32()?,
                position: r.u32()?,
            });
        }
        for _ in 0..n_times {
            index.times.push(TimeEntry {
                timestamp: r.u64()? as i64,
                relative_offset: r.u32()?,
            });
        }
        index.txns = match r.take::<1>()? {
            [0] => None,
            [1] => {
                let (txns, rest) = SegmentTxns::decode(r.0)?;
                r.0 = rest;
                Some(txns)
            }
            _ => return None,
        };
        if !r.0.is_empty() {
            return None;
        }
        index.bytes_since_entry = u64::MAX / 2;
        Some((index, segment_len, next_offset))
    }

    /// Reads `path` if it is a sane size; `None` when absent or unreadable as an index.
    pub fn load(path: &Path) -> Result<Option<(Self, u64, Offset)>> {
        match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_INDEX_FILE => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).at(path),
        }
        let bytes = std::fs::read(path).at(path)?;
        Ok(Self::decode(&bytes))
    }

    /// Writes the index next to its segment (write to a temp file, then rename).
    pub fn store(&self, path: &Path, segment_len: u64, next_offset: Offset) -> Result<()> {
        let tmp = path.with_extension("index.tmp");
        std::fs::write(&tmp, self.encode(segment_len, next_offset)).at(&tmp)?;
        std::fs::rename(&tmp, path).at(path)
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built() -> SegmentIndex {
        let mut idx = SegmentIndex::with_txns(Some(OpenTxns::from([(3, 1)])));
        let mut pos = 0u32;
        for i in 0..100u32 {
            idx.on_frame(i, pos, 1000, i64::from(i) * 10, 4096);
            pos += 1000;
        }
        idx
    }

    #[test]
    fn entries_are_sparse_and_floor_finds_the_start() {
        let idx = built();
        assert!(idx.offsets.len() < 30 && idx.offsets.len() > 10);
        let e = idx.floor(57).unwrap();
        assert!(e.relative_offset <= 57);
        assert_eq!(e.position, e.relative_offset * 1000);
        assert_eq!(idx.floor(0).unwrap().relative_offset, 0);
    }

    #[test]
    fn time_floor_bounds_older_frames() {
        let idx = built();
        let e = idx.time_floor(505).unwrap();
        assert!(e.timestamp < 505);
        assert!(idx.time_floor(0).is_none());
    }

    #[test]
    fn encode_decode_round_trip_and_damage_is_detected() {
        let idx = built();
        let bytes = idx.encode(100_000, 100);
        let (back, len, next) = SegmentIndex::decode(&bytes).unwrap();
        assert_eq!(
            (back.offsets, back.times, back.txns, len, next),
            (
                idx.offsets.clone(),
                idx.times.clone(),
                idx.txns.clone(),
                100_000,
                100
            )
        );
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(SegmentIndex::decode(&bad).is_none(), "flip at {i} accepted");
        }
        assert!(SegmentIndex::decode(&bytes[..bytes.len() - 1]).is_none());
    }

    #[test]
    fn an_index_of_opaque_payloads_keeps_no_transactions() {
        let mut idx = SegmentIndex::new();
        idx.on_frame(0, 0, 100, 5, 4096);
        idx.on_payload(0, b"opaque");
        let (back, _, _) = SegmentIndex::decode(&idx.encode(100, 1)).unwrap();
        assert_eq!(back.txns, None);
    }
}
