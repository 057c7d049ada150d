//! The broker's changes to produced batches before they are appended, made in one copy of the
//! request's records: recompression with the topic's `compression.type` and, under
//! `message.timestamp.type=LogAppendTime`, the broker's append time.

use bytes::Bytes;
use chronik_compaction::Codec;
use chronik_records::{BatchError, BatchHeader, RecordsError, ValidBatch};

use super::{PartitionError, Result};

/// What to change in every batch.
pub(super) struct Rewrite {
    /// Convert batches using another codec to this one.
    pub recompress: Option<Codec>,
    /// Stamp batches with this append time (milliseconds since the epoch).
    pub append_time: Option<i64>,
    /// The topic's `max.message.bytes`, which a recompressed batch must still respect.
    pub max_message_bytes: usize,
}

impl Rewrite {
    /// `records` with every batch rewritten, and `batches` pointing into the copy; `None` when
    /// there is nothing to change.
    pub fn apply(&self, records: &Bytes, batches: &mut [ValidBatch]) -> Result<Option<Bytes>> {
        let converts = |b: &ValidBatch| {
            let codec = self.recompress.map(|c| c.compression);
            codec.is_some_and(|c| !b.header.is_control() && b.header.compression() != c)
        };
        let recompress = batches.iter().any(converts);
        if !recompress && self.append_time.is_none() {
            return Ok(None);
        }
        match recompress {
            // Decompressing and compressing a large batch takes long: off the async workers.
            true => on_blocking_thread(|| self.rewrite(records, batches)).map(Some),
            false => self.rewrite(records, batches).map(Some),
        }
    }

    fn rewrite(&self, records: &Bytes, batches: &mut [ValidBatch]) -> Result<Bytes> {
        let mut copy = Vec::with_capacity(records.len());
        for batch in batches.iter_mut() {
            let original = &records[batch.range.clone()];
            let start = copy.len();
            let recompressed = match self.recompress {
                Some(codec) => recompress(original, codec, batch.range.start)?,
                None => None,
            };
            copy.extend_from_slice(recompressed.as_deref().unwrap_or(original));
            let bytes = &mut copy[start..];
            if recompressed.is_some() && bytes.len() > self.max_message_bytes {
                let error = RecordsError::TooLarge {
                    size: bytes.len(),
                    max: self.max_message_bytes,
                };
                let position = batch.range.start;
                return Err(PartitionError::InvalidRecords(BatchError {
                    position,
                    error,
                }));
            }
            if let Some(now) = self.append_time {
                chronik_records::set_log_append_time(bytes, now);
            }
            batch.range = start..copy.len();
            if let Ok(header) = BatchHeader::parse(&copy[batch.range.clone()]) {
                batch.header = header;
            }
        }
        Ok(Bytes::from(copy))
    }
}

/// Runs `f` where blocking is allowed: in place on a multi-threaded runtime's worker, which
/// hands its other tasks to the rest meanwhile; directly elsewhere.
fn on_blocking_thread<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// `batch` (at byte `position` of the request's records) converted to `codec`.
fn recompress(batch: &[u8], codec: Codec, position: usize) -> Result<Option<Vec<u8>>> {
    let limit = chronik_compaction::DEFAULT_UNCOMPRESSED_LIMIT;
    chronik_compaction::recompress_batch(batch, codec, limit).map_err(|e| {
        tracing::debug!(position, error = %e, "batch not recompressed");
        PartitionError::UnreadableRecords(e.to_string())
    })
}
