//! Reading whole batches from a log, and finding offsets by timestamp.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chronik_types::Offset;

use crate::frame::{FRAME_HEADER_LEN, FrameHeader};
use crate::log::PartitionLog;
use crate::scan::{Visit, scan_frames};
use crate::txns::AbortedTxn;
use crate::{Result, WalError};

/// Batches read from a log: their bytes back to back, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBatches {
    pub data: Bytes,
    pub batches: u32,
    /// Base offset of the first batch returned (may be below the requested offset: batches are
    /// never split), or the requested offset when nothing was returned.
    pub first_offset: Offset,
    /// The offset after the last batch returned: where the next read continues.
    pub next_offset: Offset,
}

/// The first batch whose max timestamp reaches a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TimestampOffset {
    pub offset: Offset,
    pub timestamp: i64,
}

/// What a read needs from one segment, captured under the lock so I/O happens outside it.
struct SegmentSlice {
    file: Arc<File>,
    path: PathBuf,
    start: u64,
    end: u64,
}

/// Extra bytes read past the budget so that frames before the requested offset (at most one
/// index interval) and the next frame's header fit in one read.
const READ_SLACK: usize = 16 * 1024;

impl PartitionLog {
    /// Reads whole batches from `from` up to about `max_bytes` (the first batch is returned even
    /// when it alone is larger, as Kafka does).
    pub fn read(&self, from: Offset, max_bytes: usize) -> Result<ReadBatches> {
        self.read_bounded(from, max_bytes, Offset::MAX)
    }

    /// Like [`PartitionLog::read`], but returns only batches that end below `end_exclusive`
    /// (a high watermark).
    pub fn read_bounded(
        &self,
        from: Offset,
        max_bytes: usize,
        end_exclusive: Offset,
    ) -> Result<ReadBatches> {
        self.read_range(from, max_bytes, end_exclusive, true)
    }

    /// Like [`PartitionLog::read_bounded`], but strictly within `max_bytes`: a first batch
    /// larger than the budget is not returned (the read is then empty). Kafka reads this way
    /// once a fetch response already holds data, so the response stays within its limit.
    pub fn read_fitting(
        &self,
        from: Offset,
        max_bytes: usize,
        end_exclusive: Offset,
    ) -> Result<ReadBatches> {
        self.read_range(from, max_bytes, end_exclusive, false)
    }

    fn read_range(
        &self,
        from: Offset,
        max_bytes: usize,
        end_exclusive: Offset,
        first_whole: bool,
    ) -> Result<ReadBatches> {
        let slices = self.slices_from(from)?;
        // Sized once: grown batch by batch, the buffer was copied again at every doubling.
        let mut out = BytesMut::with_capacity(read_capacity(&slices, max_bytes));
        let mut batches = 0u32;
        let mut first_offset = None;
        let mut next_offset = from;
        let mut buf = Vec::new();
        'segments: for slice in slices {
            let mut pos = slice.start;
            while pos < slice.end {
                let room = max_bytes.saturating_sub(out.len());
                let want = room
                    .saturating_add(READ_SLACK)
                    .min((slice.end - pos) as usize);
                let got = read_some(&slice, pos, want, &mut buf)?;
                let mut at = 0usize;
                while at + FRAME_HEADER_LEN <= got {
                    let raw: &[u8; FRAME_HEADER_LEN] = buf[at..at + FRAME_HEADER_LEN]
                        .try_into()
                        .map_err(|_| corrupt(&slice, pos))?;
                    let header = FrameHeader::decode(raw).map_err(|d| WalError::Corrupt {
                        path: slice.path.clone(),
                        reason: format!("at byte {}: {d}", pos + at as u64),
                    })?;
                    let meta = header.meta;
                    let frame_len = header.frame_len() as usize;
                    if meta.last_offset < from {
                        at += frame_len;
                        continue;
                    }
                    if meta.last_offset >= end_exclusive
                        || ((batches > 0 || !first_whole)
                            && out.len() + frame_len - FRAME_HEADER_LEN > max_bytes)
                    {
                        break 'segments;
                    }
                    if at + frame_len > got {
                        if at == 0 {
                            read_exact_frame(&slice, pos, frame_len, &mut buf)?;
                            out.extend_from_slice(&buf[FRAME_HEADER_LEN..frame_len]);
                            at = frame_len;
                        } else {
                            break;
                        }
                    } else {
                        out.extend_from_slice(&buf[at + FRAME_HEADER_LEN..at + frame_len]);
                        at += frame_len;
                    }
                    batches += 1;
                    first_offset.get_or_insert(meta.base_offset);
                    next_offset = meta.last_offset + 1;
                }
                if at == 0 {
                    break;
                }
                pos += at as u64;
                if out.len() >= max_bytes {
                    break 'segments;
                }
            }
        }
        Ok(ReadBatches {
            data: out.freeze(),
            batches,
            first_offset: first_offset.unwrap_or(from),
            next_offset,
        })
    }

    /// The segments a read from `from` may touch, with the byte to start at in the first.
    fn slices_from(&self, from: Offset) -> Result<Vec<SegmentSlice>> {
        let state = self.lock();
        if from < state.start_offset || from > state.next_offset {
            return Err(WalError::OffsetOutOfRange {
                requested: from,
                start: state.start_offset,
                end: state.next_offset,
            });
        }
        let mut slices = Vec::new();
        for segment in state
            .segments
            .range(..=from)
            .next_back()
            .into_iter()
            .map(|(_, s)| s)
            .chain(state.segments.range(from + 1..).map(|(_, s)| s))
        {
            let start = if slices.is_empty() {
                segment
                    .index
                    .floor(segment.relative(from))
                    .map_or(0, |e| u64::from(e.position))
            } else {
                0
            };
            slices.push(SegmentSlice {
                file: segment.file.clone(),
                path: segment.path.clone(),
                start,
                end: segment.size,
            });
        }
        Ok(slices)
    }

    /// The aborted transactions a read_committed reader of `[from, to)` must be told of, in
    /// marker order: those with data below `to` whose abort marker is at or after `from`. Their
    /// markers are in the segment holding `from` or a later one.
    pub fn aborted_txns(&self, from: Offset, to: Offset) -> Vec<AbortedTxn> {
        let state = self.lock();
        let first = (state.segments.range(..=from).next_back()).map_or(Offset::MIN, |(b, _)| *b);
        (state.segments.range(first..))
            .filter_map(|(_, seg)| seg.index.txns.as_ref())
            .flat_map(|txns| txns.overlapping(from, to).copied())
            .collect()
    }

    /// The largest record timestamp in the log (-1 when it holds none): ListOffsets'
    /// MAX_TIMESTAMP looks for the first batch reaching it.
    pub fn max_timestamp(&self) -> i64 {
        let state = self.lock();
        (state.segments.values())
            .map(|s| s.index.max_timestamp)
            .fold(-1, i64::max)
    }

    /// The first batch whose max timestamp is at least `timestamp` (Kafka's ListOffsets by
    /// time, at batch granularity). `None` when every batch is older.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>> {
        let candidates: Vec<(SegmentSlice, Offset)> = {
            let state = self.lock();
            state
                .segments
                .values()
                .filter(|s| s.index.max_timestamp >= timestamp)
                .map(|s| {
                    let rel = s
                        .index
                        .time_floor(timestamp)
                        .map_or(0, |t| t.relative_offset);
                    let start = s.index.floor(rel).map_or(0, |e| u64::from(e.position));
                    let slice = SegmentSlice {
                        file: s.file.clone(),
                        path: s.path.clone(),
                        start,
                        end: s.size,
                    };
                    (slice, s.base_offset)
                })
                .collect()
        };
        for (slice, _) in candidates {
            let mut found = None;
            scan_frames(
                &slice.file,
                &slice.path,
                slice.start,
                slice.end,
                Offset::MIN,
                |frame| {
                    if frame.header.meta.max_timestamp >= timestamp {
                        found = Some(TimestampOffset {
                            offset: frame.header.meta.base_offset,
                            timestamp: frame.header.meta.max_timestamp,
                        });
                        return Ok(Visit::Stop);
                    }
                    Ok(Visit::Continue)
                },
            )?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

fn corrupt(slice: &SegmentSlice, pos: u64) -> WalError {
    WalError::Corrupt {
        path: slice.path.clone(),
        reason: format!("unreadable frame at byte {pos}"),
    }
}

/// Reads up to `want` bytes at `pos`; fewer when the file is shorter (truncated meanwhile).
/// What a read can return at most: the budget, or less when the segments hold less (without
/// the frame headers it strips, the slices' bytes are an upper bound).
fn read_capacity(slices: &[SegmentSlice], max_bytes: usize) -> usize {
    let held: u64 = slices.iter().map(|s| s.end.saturating_sub(s.start)).sum();
    usize::try_from(held).map_or(max_bytes, |held| held.min(max_bytes))
}

fn read_some(slice: &SegmentSlice, pos: u64, want: usize, buf: &mut Vec<u8>) -> Result<usize> {
    buf.resize(want, 0);
    let mut got = 0;
    while got < want {
        match slice.file.read_at(&mut buf[got..], pos + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(WalError::Io {
                    path: slice.path.clone(),
                    source,
                });
            }
        }
    }
    Ok(got)
}

/// Reads one whole frame that did not fit the first read. Its length was checked when the
/// segment was written or recovered, and is bounded by the segment's size.
fn read_exact_frame(
    slice: &SegmentSlice,
    pos: u64,
    frame_len: usize,
    buf: &mut Vec<u8>,
) -> Result<()> {
    if pos + frame_len as u64 > slice.end {
        return Err(corrupt(slice, pos));
    }
    if read_some(slice, pos, frame_len, buf)? < frame_len {
        return Err(corrupt(slice, pos));
    }
    Ok(())
}
