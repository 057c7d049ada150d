//! Sequential reading of the frames in a segment file, checking each one. Recovery, `verify`,
//! `dump` and index rebuilding all walk segments through here.

use std::borrow::Borrow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use chronik_types::Offset;

use crate::Result;
use crate::error::IoContext;
use crate::frame::{FRAME_HEADER_LEN, FrameDefect, FrameHeader};

const CHUNK: usize = 4 * 1024 * 1024;

/// Where a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEnd {
    /// Bytes from the start of the file that hold only valid frames.
    pub valid_len: u64,
    /// Offset after the last valid frame (the `min_base_offset` given when no frame was valid).
    pub next_offset: Offset,
    pub frames: u64,
    /// The first invalid place, if the scan stopped before the end of the file.
    pub defect: Option<(u64, FrameDefect)>,
}

/// What a scan's visitor wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    Continue,
    /// End the scan before this frame, without a defect.
    Stop,
}

/// One valid frame handed to a scan's visitor.
pub struct Frame<'a> {
    pub position: u64,
    pub header: FrameHeader,
    pub payload: &'a [u8],
}

/// Reads a file from `start` to `end` through a reusable buffer; only ever allocates what the
/// file actually holds. Borrows the file for a scan, or owns a handle for an iterator.
pub(crate) struct ChunkReader<F: Borrow<File>, P: AsRef<Path>> {
    file: F,
    path: P,
    end: u64,
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    buf_pos: u64,
}

impl<F: Borrow<File>, P: AsRef<Path>> ChunkReader<F, P> {
    pub(crate) fn new(file: F, path: P, end: u64) -> Self {
        Self {
            file,
            path,
            end,
            buf: Vec::new(),
            buf_pos: 0,
        }
    }

    /// Returns `len` bytes at `pos` (which must be within the file's remaining length).
    pub(crate) fn bytes_at(&mut self, pos: u64, len: usize) -> Result<&[u8]> {
        let have = pos >= self.buf_pos && pos + len as u64 <= self.buf_pos + self.buf.len() as u64;
        if !have {
            let want = len.max(CHUNK).min((self.end - pos) as usize).max(len);
            self.buf.resize(want, 0);
            let file: &File = self.file.borrow();
            file.read_exact_at(&mut self.buf, pos)
                .at(self.path.as_ref())?;
            self.buf_pos = pos;
        }
        let at = (pos - self.buf_pos) as usize;
        Ok(&self.buf[at..at + len])
    }
}

/// Scans frames from byte `start` (a frame boundary) to `end`, calling `visit` for each frame whose
/// header and CRC are valid. The visitor may reject a frame (for payload checks), which ends the
/// scan there like any other defect. Frames must not go backwards: each base offset is at least
/// the previous frame's last offset + 1 (and at least `min_base_offset`).
pub fn scan_frames(
    file: &File,
    path: &Path,
    start: u64,
    end: u64,
    min_base_offset: Offset,
    mut visit: impl FnMut(&Frame<'_>) -> Result<Visit, FrameDefect>,
) -> Result<ScanEnd> {
    let mut reader = ChunkReader::new(file, path, end);
    let mut pos = start;
    let mut next_offset = min_base_offset;
    let mut frames = 0;
    let defect = loop {
        if pos == end {
            break None;
        }
        match read_frame(&mut reader, pos, next_offset)? {
            Ok((header, frame_len)) => {
                let payload_at = pos + FRAME_HEADER_LEN as u64;
                let payload = reader.bytes_at(payload_at, header.payload_len as usize)?;
                let frame = Frame {
                    position: pos,
                    header,
                    payload,
                };
                match visit(&frame) {
                    Ok(Visit::Continue) => {}
                    Ok(Visit::Stop) => break None,
                    Err(d) => break Some((pos, d)),
                }
                next_offset = header.meta.last_offset + 1;
                frames += 1;
                pos += frame_len;
            }
            Err(FrameDefect::ZeroFill) if zeros_to_end(&mut reader, pos)? => break None,
            Err(d) => break Some((pos, d)),
        }
    };
    Ok(ScanEnd {
        valid_len: pos,
        next_offset,
        frames,
        defect,
    })
}

/// Whether every byte from `pos` to the end is zero: an active segment's zero-filled tail
/// ([`crate::segment::Segment::written_len`]), where its frames end cleanly. Zeros followed
/// by anything else are damage.
fn zeros_to_end<F: Borrow<File>, P: AsRef<Path>>(
    reader: &mut ChunkReader<F, P>,
    mut pos: u64,
) -> Result<bool> {
    while pos < reader.end {
        let len = (reader.end - pos).min(CHUNK as u64) as usize;
        if reader.bytes_at(pos, len)?.iter().any(|b| *b != 0) {
            return Ok(false);
        }
        pos += len as u64;
    }
    Ok(true)
}

/// Reads and checks the frame at `pos`: header, bounds, offsets and CRC.
pub(crate) fn read_frame<F: Borrow<File>, P: AsRef<Path>>(
    reader: &mut ChunkReader<F, P>,
    pos: u64,
    min_base_offset: Offset,
) -> Result<Result<(FrameHeader, u64), FrameDefect>> {
    let available = reader.end - pos;
    if available < FRAME_HEADER_LEN as u64 {
        let zero = reader
            .bytes_at(pos, available as usize)?
            .iter()
            .all(|b| *b == 0);
        return Ok(Err(if zero {
            FrameDefect::ZeroFill
        } else {
            FrameDefect::Torn {
                needed: FRAME_HEADER_LEN as u64,
                available,
            }
        }));
    }
    let mut raw = [0u8; FRAME_HEADER_LEN];
    raw.copy_from_slice(reader.bytes_at(pos, FRAME_HEADER_LEN)?);
    let header = match FrameHeader::decode(&raw) {
        Ok(h) => h,
        Err(d) => return Ok(Err(d)),
    };
    let frame_len = header.frame_len();
    if frame_len > available {
        return Ok(Err(FrameDefect::Torn {
            needed: frame_len,
            available,
        }));
    }
    if header.meta.base_offset < min_base_offset {
        return Ok(Err(FrameDefect::OffsetGap {
            expected_at_least: min_base_offset,
            found: header.meta.base_offset,
        }));
    }
    let payload = reader.bytes_at(pos + FRAME_HEADER_LEN as u64, header.payload_len as usize)?;
    Ok(header
        .check_crc(&raw, payload)
        .map(|()| (header, frame_len)))
}

/// Finds the next position after `from` where a frame with a valid header and CRC starts, so
/// that `verify` can report every damaged place rather than only the first.
pub fn resync(file: &File, path: &Path, from: u64, end: u64) -> Result<Option<u64>> {
    let magic = crate::frame::FRAME_MAGIC.to_be_bytes();
    let mut reader = ChunkReader::new(file, path, end);
    let mut pos = from;
    while pos + FRAME_HEADER_LEN as u64 <= end {
        let window = (end - pos).min(CHUNK as u64) as usize;
        let chunk = reader.bytes_at(pos, window)?;
        let Some(hit) = chunk.windows(4).position(|w| w == magic) else {
            pos += window.saturating_sub(3).max(1) as u64;
            continue;
        };
        let candidate = pos + hit as u64;
        if let Ok(Ok(_)) = read_frame(&mut reader, candidate, Offset::MIN) {
            return Ok(Some(candidate));
        }
        pos = candidate + 1;
    }
    Ok(None)
}
