//! One segment file of a partition log: frames appended at the end, a sparse index in memory.

use std::fs::{File, OpenOptions};
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chronik_types::Offset;

use crate::Result;
use crate::error::IoContext;
use crate::frame::{FrameHeader, FrameMeta};
use crate::index::SegmentIndex;
use crate::scan::{ScanEnd, Visit, scan_frames};
use crate::txns::OpenTxns;

/// File name of the segment whose first offset is `base`: 20 zero-padded digits.
pub fn segment_file_name(base: Offset) -> String {
    format!("{base:020}.wal")
}

pub fn index_file_name(base: Offset) -> String {
    format!("{base:020}.index")
}

/// Parses `<20 digits>.wal` back to a base offset.
pub fn parse_segment_file_name(name: &str) -> Option<Offset> {
    parse_offset_digits(name.strip_suffix(".wal")?)
}

/// Parses `<20 digits>.index` back to the base offset of its segment.
pub(crate) fn parse_index_file_name(name: &str) -> Option<Offset> {
    parse_offset_digits(name.strip_suffix(".index")?)
}

/// Parses the 20 zero-padded digits every file of a log is named by.
pub(crate) fn parse_offset_digits(digits: &str) -> Option<Offset> {
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A segment: its file, how much of it is valid, and its index.
pub struct Segment {
    pub base_offset: Offset,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Bytes of valid frames; appends go here.
    pub size: u64,
    /// Offset after the last frame (`base_offset` when empty).
    pub next_offset: Offset,
    pub index: SegmentIndex,
    /// When this segment became the active one, for roll by age.
    pub active_since: Instant,
    /// Bytes of the file known to be written, data or zeros ([`Segment::zero_ahead`]).
    pub written_len: u64,
    /// Whether appends zero-fill ahead of themselves: set for a log's active segment, not for
    /// a rewrite's cleaned file.
    pub zero_ahead: bool,
}

/// Zero-fill ahead of the appends: a quarter of what the segment holds, within these bounds.
/// An append that overwrites blocks already written changes no file metadata, so its
/// `fdatasync` writes the data and flushes the device without a journal commit: here 100 µs
/// instead of 180 µs at 4 KiB. The bound keeps the zeros of thousands of idle partitions small.
const ZERO_AHEAD_MIN: u64 = 4 * 1024;
const ZERO_AHEAD_MAX: u64 = 256 * 1024;
static ZEROS: [u8; ZERO_AHEAD_MAX as usize] = [0; ZERO_AHEAD_MAX as usize];

impl Segment {
    /// Creates an empty segment file (failing if it already exists), with an empty `index`.
    pub fn create(dir: &Path, base_offset: Offset, index: SegmentIndex) -> Result<Self> {
        let mut segment =
            Self::create_at(dir.join(segment_file_name(base_offset)), base_offset, index)?;
        segment.zero_ahead = true;
        Ok(segment)
    }

    /// Creates an empty segment file under another name than its final one (a rewrite's
    /// cleaned file), failing if it already exists.
    pub fn create_at(path: PathBuf, base_offset: Offset, index: SegmentIndex) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        Ok(Self::with_file(
            base_offset,
            path,
            file,
            0,
            base_offset,
            index,
        ))
    }

    /// Opens an existing segment whose valid size, next offset and index are already known
    /// (recovery has cut any zero-filled tail: appends, if it gets any, zero-fill ahead again).
    pub fn open_known(
        path: PathBuf,
        base_offset: Offset,
        size: u64,
        next_offset: Offset,
        index: SegmentIndex,
    ) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .at(&path)?;
        let mut segment = Self::with_file(base_offset, path, file, size, next_offset, index);
        segment.zero_ahead = true;
        Ok(segment)
    }

    fn with_file(
        base_offset: Offset,
        path: PathBuf,
        file: File,
        size: u64,
        next_offset: Offset,
        index: SegmentIndex,
    ) -> Self {
        Self {
            base_offset,
            path,
            file: Arc::new(file),
            size,
            next_offset,
            index,
            active_since: Instant::now(),
            written_len: size,
            zero_ahead: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    pub fn index_path(&self) -> PathBuf {
        self.path.with_file_name(index_file_name(self.base_offset))
    }

    /// Offsets are stored relative to the base in the index; segments never span 2^32 offsets.
    pub fn relative(&self, offset: Offset) -> u32 {
        (offset - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Writes one frame (header then payload, in one vectored write) at the end of the segment.
    pub fn append_frame(
        &mut self,
        meta: &FrameMeta,
        payload: Payload<'_>,
        index_interval: u64,
    ) -> Result<u64> {
        let parts = payload.parts();
        let header = FrameHeader::encode_parts(meta, parts);
        let position = self.size;
        let frame_len = (header.len() + payload.len()) as u64;
        if self.zero_ahead && position + frame_len > self.written_len {
            self.fill_zeros_after(position + frame_len);
        }
        let [head, rest] = parts;
        write_all_vectored_at(&self.file, [&header, head, rest], position).at(&self.path)?;
        self.written_len = self.written_len.max(position + frame_len);
        self.index.on_frame(
            self.relative(meta.base_offset),
            position as u32,
            frame_len,
            meta.max_timestamp,
            index_interval,
        );
        // The batch as given: the fields `head` replaces (base offset, leader epoch) are the
        // ones the index takes from `meta` instead.
        self.index.on_payload(meta.base_offset, payload.batch);
        self.size += frame_len;
        self.next_offset = meta.last_offset + 1;
        Ok(position)
    }

    /// Rebuilds the index from the file, returning where valid frames end. `txns` are the
    /// transactions open where the segment begins (`None` in a log of opaque payloads).
    pub fn scan(
        file: &File,
        path: &Path,
        base_offset: Offset,
        file_len: u64,
        index_interval: u64,
        check_batches: bool,
        txns: Option<OpenTxns>,
    ) -> Result<(ScanEnd, SegmentIndex, Vec<FrameMeta>)> {
        let mut index = SegmentIndex::with_txns(txns);
        let mut epochs_seen: Vec<FrameMeta> = Vec::new();
        let end = scan_frames(file, path, 0, file_len, base_offset, |frame| {
            let meta = frame.header.meta;
            if check_batches {
                check_batch_matches(frame.payload, &meta)?;
            }
            index.on_frame(
                (meta.base_offset - base_offset).clamp(0, i64::from(u32::MAX)) as u32,
                frame.position as u32,
                frame.header.frame_len(),
                meta.max_timestamp,
                index_interval,
            );
            index.on_payload(meta.base_offset, frame.payload);
            if epochs_seen
                .last()
                .is_none_or(|m| m.leader_epoch != meta.leader_epoch)
            {
                epochs_seen.push(meta);
            }
            Ok(Visit::Continue)
        })?;
        Ok((end, index, epochs_seen))
    }

    /// Cuts the segment back to `position` (a frame boundary) and rebuilds its index from what
    /// remains, so that its max timestamp stays exact. Its next offset becomes the one after
    /// the last frame kept: in a cleaned segment the first frame cut may start past a gap, and
    /// a log end beyond the truncation point would skip the leader's offsets in that gap.
    /// Truncation is rare (a follower diverged from its leader), so a rescan is affordable.
    pub fn truncate(&mut self, position: u64, index_interval: u64) -> Result<()> {
        self.file.set_len(position).at(&self.path)?;
        self.written_len = position;
        let txns = (self.index.txns.as_ref()).map(|t| t.open_at_start.clone());
        let (end, index, _) = Self::scan(
            &self.file,
            &self.path,
            self.base_offset,
            position,
            index_interval,
            false,
            txns,
        )?;
        self.size = position;
        self.next_offset = end.next_offset;
        self.index = index;
        Ok(())
    }

    /// Writes zeros after `end` (where the append being made will end), up to a page boundary,
    /// so that later appends overwrite written blocks. A fill that fails (a full disk) only
    /// leaves the appends as they were without it: extending the file.
    fn fill_zeros_after(&mut self, end: u64) {
        let ahead = (self.size / 4).clamp(ZERO_AHEAD_MIN, ZERO_AHEAD_MAX);
        let fill_end = (end + ahead) & !(ZERO_AHEAD_MIN - 1);
        if fill_end <= end {
            return;
        }
        let zeros = &ZEROS[..(fill_end - end) as usize];
        match self.file.write_all_at(zeros, end) {
            Ok(()) => self.written_len = fill_end,
            Err(e) => tracing::debug!(segment = %self.path.display(), error = %e,
                "could not zero-fill ahead of the appends"),
        }
    }

    /// Cuts the zero-filled tail off, leaving the file as long as its frames: done when the
    /// segment is sealed or closed, so that only an active segment after a crash ends in zeros.
    pub fn cut_zero_tail(&mut self) -> Result<()> {
        if self.written_len > self.size {
            self.file.set_len(self.size).at(&self.path)?;
            self.written_len = self.size;
        }
        Ok(())
    }

    /// Finds the position of the first frame holding offsets at or after `target` (the one
    /// holding it, or after a gap the next one), scanning from the index. `None` when `target`
    /// is at or past the end.
    pub fn locate(&self, target: Offset) -> Result<Option<u64>> {
        if target >= self.next_offset {
            return Ok(None);
        }
        let start = self
            .index
            .floor(self.relative(target))
            .map_or(0, |e| u64::from(e.position));
        let mut found = None;
        scan_frames(
            &self.file,
            &self.path,
            start,
            self.size,
            Offset::MIN,
            |frame| {
                if frame.header.meta.last_offset >= target {
                    found = Some(frame.position);
                    return Ok(Visit::Stop);
                }
                Ok(Visit::Continue)
            },
        )?;
        Ok(found)
    }

    /// Writes the index file describing this segment as it is now.
    pub fn store_index(&self) -> Result<()> {
        self.index
            .store(&self.index_path(), self.size, self.next_offset)
    }

    pub fn remove_index(&self) -> Result<()> {
        remove_if_exists(&self.index_path())
    }

    /// Deletes the segment's files.
    pub fn delete(self) -> Result<()> {
        remove_if_exists(&self.index_path())?;
        remove_if_exists(&self.path)
    }
}

/// Checks that a frame's payload is the valid Kafka batch its header describes.
pub fn check_batch_matches(
    payload: &[u8],
    meta: &FrameMeta,
) -> Result<(), crate::frame::FrameDefect> {
    use crate::frame::FrameDefect::PayloadMismatch;
    let header = chronik_records::validate_stored_batch(payload).map_err(|e| PayloadMismatch {
        reason: e.to_string(),
    })?;
    if header.base_offset != meta.base_offset || header.last_offset() != meta.last_offset {
        return Err(PayloadMismatch {
            reason: "batch offsets differ from the frame's".into(),
        });
    }
    Ok(())
}

pub fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(path),
        _ => Ok(()),
    }
}

/// A frame's payload: `batch`, except that its first `head.len()` bytes are written from
/// `head` (a copy of its header holding the offsets the log assigned), so that the batch, often
/// part of a request's buffer, is neither changed nor copied.
#[derive(Clone, Copy)]
pub(crate) struct Payload<'a> {
    head: &'a [u8],
    batch: &'a [u8],
}

impl<'a> Payload<'a> {
    pub fn whole(batch: &'a [u8]) -> Self {
        Payload { head: &[], batch }
    }

    pub fn with_head(head: &'a [u8], batch: &'a [u8]) -> Self {
        Payload { head, batch }
    }

    pub fn len(&self) -> usize {
        let [head, rest] = self.parts();
        head.len() + rest.len()
    }

    /// The bytes as written, in order.
    fn parts(&self) -> [&'a [u8]; 2] {
        [
            self.head,
            self.batch.get(self.head.len()..).unwrap_or_default(),
        ]
    }
}

/// Writes `parts` one after the other at `position` with one `pwritev`; short writes continue
/// where they stopped.
fn write_all_vectored_at(file: &File, parts: [&[u8]; 3], mut position: u64) -> std::io::Result<()> {
    let mut slices = parts.map(IoSlice::new);
    let mut left: &mut [IoSlice<'_>] = &mut slices;
    while !left.is_empty() {
        match rustix::io::pwritev(file, left, position) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                position += n as u64;
                IoSlice::advance_slices(&mut left, n);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
