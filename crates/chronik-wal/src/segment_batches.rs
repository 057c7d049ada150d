//! Reading one segment's batches in order, for a log cleaner: the file handle is taken under the
//! log lock and read outside it, so appends and reads go on.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use chronik_types::Offset;

use crate::frame::{FRAME_HEADER_LEN, FrameMeta};
use crate::log::PartitionLog;
use crate::scan::{ChunkReader, read_frame};
use crate::{Result, WalError};

/// One stored batch: its frame's facts and the Kafka v2 record batch, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentBatch {
    pub meta: FrameMeta,
    /// Byte position of the batch's frame in the segment file.
    pub position: u64,
    pub batch: Vec<u8>,
}

/// The batches of one segment as it was when [`PartitionLog::segment_batches`] was called.
/// Each frame's CRC is checked; the first error ends the iteration.
pub struct SegmentBatches {
    reader: ChunkReader<Arc<File>, PathBuf>,
    path: PathBuf,
    pos: u64,
    end: u64,
    next_offset: Offset,
    done: bool,
}

impl PartitionLog {
    /// The batches of the segment whose base offset is `base`, oldest first, up to what it held
    /// at this call. A segment deleted meanwhile (retention, a swap) still reads in full from
    /// the open handle; one truncated meanwhile ends with an error, after which a caller
    /// lists the segments again.
    pub fn segment_batches(&self, base: Offset) -> Result<SegmentBatches> {
        let state = self.lock();
        let segment = state
            .segments
            .get(&base)
            .ok_or_else(|| WalError::NoSuchSegment {
                log: self.name.clone(),
                base,
            })?;
        let (file, path, end) = (segment.file.clone(), segment.path.clone(), segment.size);
        drop(state);
        Ok(SegmentBatches {
            reader: ChunkReader::new(file, path.clone(), end),
            path,
            pos: 0,
            end,
            next_offset: base,
            done: false,
        })
    }
}

impl SegmentBatches {
    fn read_next(&mut self) -> Result<SegmentBatch> {
        let (header, frame_len) = match read_frame(&mut self.reader, self.pos, self.next_offset) {
            Ok(Ok(found)) => found,
            Ok(Err(defect)) => return Err(self.corrupt(defect.to_string())),
            Err(WalError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                return Err(self.corrupt(
                    "the segment shrank while being read (truncated meanwhile): list the \
                     segments and read again"
                        .into(),
                ));
            }
            Err(other) => return Err(other),
        };
        let payload_at = self.pos + FRAME_HEADER_LEN as u64;
        let batch = (self.reader)
            .bytes_at(payload_at, header.payload_len as usize)?
            .to_vec();
        let position = self.pos;
        self.pos += frame_len;
        self.next_offset = header.meta.last_offset + 1;
        Ok(SegmentBatch {
            meta: header.meta,
            position,
            batch,
        })
    }

    fn corrupt(&self, what: String) -> WalError {
        WalError::Corrupt {
            path: self.path.clone(),
            reason: format!("at byte {}: {what}", self.pos),
        }
    }
}

impl Iterator for SegmentBatches {
    type Item = Result<SegmentBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.end {
            return None;
        }
        let next = self.read_next();
        self.done = next.is_err();
        Some(next)
    }
}
