//! Reading a remote segment back: its index whole (checked against the manifest), its
//! frames by range (each checked by its own CRC, as a local read is).

use bytes::Bytes;
use chronik_wal::SegmentIndex;
use chronik_wal::frame::{FRAME_HEADER_LEN, FrameHeader, FrameMeta};
use object_store::ObjectStoreExt;

use crate::manifest::{ObjectKind, RemoteSegmentId, SegmentManifest};
use crate::{RemoteStore, Result, TieredError};

/// The most one ranged read of a segment asks for: a large fetch reads a segment in windows.
const MAX_WINDOW: u64 = 8 * 1024 * 1024;

/// One stored batch read from a remote segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteBatch {
    pub meta: FrameMeta,
    /// The Kafka RecordBatch, byte for byte as the log stored it.
    pub batch: Bytes,
}

impl RemoteStore {
    /// The segment's index, refused unless its length and CRC-32C match the manifest's and
    /// it describes the segment the manifest does.
    pub async fn read_index(&self, manifest: &SegmentManifest) -> Result<SegmentIndex> {
        let path = self.key(&manifest.id, ObjectKind::Index);
        let corrupt = |reason: String| TieredError::Corrupt {
            key: path.to_string(),
            reason,
        };
        let bytes = self.get_all(&path).await?;
        check_summary(manifest, ObjectKind::Index, &bytes).map_err(corrupt)?;
        let (index, segment_len, next_offset) =
            SegmentIndex::decode(&bytes).ok_or_else(|| corrupt("not a segment index".into()))?;
        let segment = segment_summary_len(manifest).map_err(corrupt)?;
        if segment_len != segment || next_offset != manifest.next_offset {
            return Err(corrupt(format!(
                "index describes {segment_len} bytes up to offset {next_offset}, the manifest \
                 {segment} bytes up to {}",
                manifest.next_offset
            )));
        }
        Ok(index)
    }

    /// The producer state as of the end of copy `id` (`None`: the copy has none), refused
    /// unless its length and CRC-32C match the manifest's.
    pub async fn producer_snapshot(&self, id: &RemoteSegmentId) -> Result<Option<Bytes>> {
        let manifest = self.manifest(id).await?;
        if manifest.object(ObjectKind::ProducerSnapshot).is_none() {
            return Ok(None);
        }
        let path = self.key(id, ObjectKind::ProducerSnapshot);
        let bytes = self.get_all(&path).await?;
        check_summary(&manifest, ObjectKind::ProducerSnapshot, &bytes).map_err(|reason| {
            TieredError::Corrupt {
                key: path.to_string(),
                reason,
            }
        })?;
        Ok(Some(bytes))
    }

    /// The batches holding `offset` and after, up to about `max_bytes` (at least one batch,
    /// as a Kafka fetch returns at least one).
    pub async fn read_from(
        &self,
        manifest: &SegmentManifest,
        index: &SegmentIndex,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Vec<RemoteBatch>> {
        let base = manifest.id.base_offset;
        if offset < base || offset >= manifest.next_offset {
            return Err(TieredError::OffsetNotRemote {
                partition: format!("{}-{}", manifest.id.topic, manifest.id.partition),
                offset,
            });
        }
        let relative = u32::try_from(offset - base).unwrap_or(u32::MAX);
        let mut position = index.floor(relative).map_or(0, |e| u64::from(e.position));
        let segment_len = segment_summary_len(manifest).map_err(|reason| TieredError::Corrupt {
            key: self.key(&manifest.id, ObjectKind::Manifest).to_string(),
            reason,
        })?;
        let mut batches = Vec::new();
        let mut taken = 0usize;
        while position < segment_len && (batches.is_empty() || taken < max_bytes) {
            let window = (max_bytes as u64).clamp(FRAME_HEADER_LEN as u64, MAX_WINDOW);
            let end = segment_len.min(position + window);
            let frames = self
                .read_frames(manifest, position, end, segment_len)
                .await?;
            for (end, batch) in frames {
                position = end;
                if batch.meta.last_offset < offset {
                    continue;
                }
                taken += batch.batch.len();
                batches.push(batch);
                if taken >= max_bytes {
                    break;
                }
            }
        }
        Ok(batches)
    }

    /// The whole frames in `[position, end)`, or the one frame starting at `position` when it
    /// ends after `end`; each with the position after it. Never none: a segment holds whole
    /// frames only.
    async fn read_frames(
        &self,
        manifest: &SegmentManifest,
        position: u64,
        end: u64,
        segment_len: u64,
    ) -> Result<Vec<(u64, RemoteBatch)>> {
        let path = self.key(&manifest.id, ObjectKind::Segment);
        let corrupt = |at: u64, reason: String| TieredError::Corrupt {
            key: path.to_string(),
            reason: format!("at byte {at}: {reason}"),
        };
        let fetch = |end: u64| {
            let path = path.clone();
            async move {
                self.store
                    .get_range(&path, position..end)
                    .await
                    .map_err(|source| TieredError::Store {
                        key: path.to_string(),
                        action: "read",
                        source,
                    })
            }
        };
        let mut bytes = fetch(end).await?;
        let mut frames = Vec::new();
        let mut at = 0usize;
        while bytes.len() - at >= FRAME_HEADER_LEN {
            let abs = position + at as u64;
            let mut raw = [0u8; FRAME_HEADER_LEN];
            raw.copy_from_slice(&bytes[at..at + FRAME_HEADER_LEN]);
            let header = FrameHeader::decode(&raw).map_err(|d| corrupt(abs, d.to_string()))?;
            let frame_len = header.frame_len();
            if abs + frame_len > segment_len {
                return Err(corrupt(
                    abs,
                    "frame runs past the end of the segment".into(),
                ));
            }
            if (at as u64 + frame_len) > bytes.len() as u64 {
                if !frames.is_empty() {
                    break;
                }
                bytes = fetch(abs + frame_len).await?;
            }
            let payload = bytes.slice(at + FRAME_HEADER_LEN..at + frame_len as usize);
            header
                .check_crc(&raw, &payload)
                .map_err(|d| corrupt(abs, d.to_string()))?;
            at += frame_len as usize;
            frames.push((
                position + at as u64,
                RemoteBatch {
                    meta: header.meta,
                    batch: payload,
                },
            ));
        }
        if frames.is_empty() {
            return Err(corrupt(
                position,
                "the segment ends inside a frame header".into(),
            ));
        }
        Ok(frames)
    }
}

fn segment_summary_len(manifest: &SegmentManifest) -> std::result::Result<u64, String> {
    manifest
        .object(ObjectKind::Segment)
        .map(|o| o.bytes)
        .ok_or_else(|| "the manifest lists no segment object".to_string())
}

fn check_summary(
    manifest: &SegmentManifest,
    kind: ObjectKind,
    bytes: &[u8],
) -> std::result::Result<(), String> {
    let summary = manifest
        .object(kind)
        .ok_or_else(|| format!("the manifest lists no {kind:?} object"))?;
    let crc = crc32c::crc32c(bytes);
    if summary.bytes != bytes.len() as u64 || summary.crc32c != crc {
        return Err(format!(
            "{} bytes with CRC-32C {crc:#010x}; the manifest says {} bytes, {:#010x}",
            bytes.len(),
            summary.bytes,
            summary.crc32c
        ));
    }
    Ok(())
}
