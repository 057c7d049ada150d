//! Copying one sealed segment to the remote tier: data objects first, the manifest last.

use std::path::Path as FsPath;

use bytes::{Bytes, BytesMut};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::manifest::{EpochStart, ObjectKind, ObjectSummary, RemoteSegmentId, SegmentManifest};
use crate::{RemoteStore, Result, TieredError};

/// How much of a segment file is read and sent at a time; a large segment goes up as a
/// multipart upload in parts of the store writer's capacity.
const CHUNK: usize = 1024 * 1024;

/// A sealed local segment and what a reader of its remote copy needs besides its bytes.
#[derive(Debug, Clone)]
pub struct SegmentUpload<'a> {
    pub id: RemoteSegmentId,
    pub segment_path: &'a FsPath,
    /// The sealed segment's length: exactly this many bytes are copied.
    pub segment_bytes: u64,
    pub index_path: &'a FsPath,
    pub next_offset: i64,
    pub max_timestamp: i64,
    pub leader_epochs: Vec<EpochStart>,
    pub producer_snapshot: Option<Bytes>,
}

impl RemoteStore {
    /// Copies a sealed segment and writes its manifest last, so a listing never shows a
    /// partial copy. Safe to redo under a new upload id after any failure; the failed
    /// attempt's objects are for [`RemoteStore::delete_segment`] to remove.
    pub async fn upload_segment(&self, upload: SegmentUpload<'_>) -> Result<SegmentManifest> {
        let mut objects = vec![
            self.upload_file(
                self.key(&upload.id, ObjectKind::Segment),
                upload.segment_path,
                upload.segment_bytes,
            )
            .await
            .map(|(bytes, crc32c)| ObjectSummary {
                kind: ObjectKind::Segment,
                bytes,
                crc32c,
            })?,
        ];
        let index = tokio::fs::read(upload.index_path)
            .await
            .map_err(|source| local_read(upload.index_path, source))?;
        objects.push(
            self.put_small(&upload.id, ObjectKind::Index, index.into())
                .await?,
        );
        if let Some(snapshot) = upload.producer_snapshot {
            objects.push(
                self.put_small(&upload.id, ObjectKind::ProducerSnapshot, snapshot)
                    .await?,
            );
        }
        let kinds: Vec<ObjectKind> = objects.iter().map(|o| o.kind).collect();
        self.sync_local(&upload.id, &kinds).await?;
        let manifest = SegmentManifest {
            id: upload.id,
            next_offset: upload.next_offset,
            max_timestamp: upload.max_timestamp,
            leader_epochs: upload.leader_epochs,
            objects,
        };
        let path = self.key(&manifest.id, ObjectKind::Manifest);
        self.store
            .put(&path, PutPayload::from(manifest.encode()?))
            .await
            .map_err(|source| stored(&path, source))?;
        self.sync_local(&manifest.id, &[ObjectKind::Manifest])
            .await?;
        Ok(manifest)
    }

    /// In a local directory tier, makes the objects durable (and the directories holding them):
    /// the object store writes them without fsync, and a copy must outlive a crash before the
    /// local segment may go. An S3 PUT is durable once answered.
    async fn sync_local(&self, id: &RemoteSegmentId, kinds: &[ObjectKind]) -> Result<()> {
        let crate::RemoteLocation::Dir(root) = self.location() else {
            return Ok(());
        };
        let mut dir = None;
        for kind in kinds {
            let file = root.join(self.key(id, *kind).as_ref());
            sync_path(&file).await?;
            dir = file.parent().map(FsPath::to_path_buf);
        }
        // The directories up to the root: the first upload of a partition created them.
        while let Some(d) = dir.filter(|d| d.starts_with(root)) {
            sync_path(&d).await?;
            dir = d.parent().map(FsPath::to_path_buf);
        }
        Ok(())
    }

    async fn put_small(
        &self,
        id: &RemoteSegmentId,
        kind: ObjectKind,
        bytes: Bytes,
    ) -> Result<ObjectSummary> {
        let path = self.key(id, kind);
        let summary = ObjectSummary {
            kind,
            bytes: bytes.len() as u64,
            crc32c: crc32c::crc32c(&bytes),
        };
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|source| stored(&path, source))?;
        Ok(summary)
    }

    /// Streams the first `len` bytes of a file to `path`; returns its length and CRC-32C.
    async fn upload_file(&self, path: Path, file: &FsPath, len: u64) -> Result<(u64, u32)> {
        let mut reader = tokio::fs::File::open(file)
            .await
            .map_err(|source| local_read(file, source))?;
        let mut writer = BufWriter::new(self.store.clone(), path.clone());
        let mut crc = 0u32;
        let mut sent = 0u64;
        while sent < len {
            let want = usize::try_from(len - sent).map_or(CHUNK, |left| left.min(CHUNK));
            let mut chunk = BytesMut::zeroed(want);
            let read = match reader.read_exact(&mut chunk).await {
                Ok(_) => want,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    let _ = writer.abort().await;
                    return Err(TieredError::LocalShort {
                        path: file.display().to_string(),
                        expected: len,
                        found: tokio::fs::metadata(file).await.map_or(0, |m| m.len()),
                    });
                }
                Err(source) => {
                    let _ = writer.abort().await;
                    return Err(local_read(file, source));
                }
            };
            crc = crc32c::crc32c_append(crc, &chunk);
            if let Err(source) = writer.put(chunk.freeze()).await {
                let _ = writer.abort().await;
                return Err(stored(&path, source));
            }
            sent += read as u64;
        }
        writer.shutdown().await.map_err(|e| {
            stored(
                &path,
                object_store::Error::Generic {
                    store: "remote tier",
                    source: Box::new(e),
                },
            )
        })?;
        Ok((len, crc))
    }
}

async fn sync_path(path: &FsPath) -> Result<()> {
    let synced = match tokio::fs::File::open(path).await {
        Ok(f) => f.sync_all().await,
        Err(e) => Err(e),
    };
    synced.map_err(|source| TieredError::LocalSync {
        path: path.display().to_string(),
        source,
    })
}

fn local_read(path: &FsPath, source: std::io::Error) -> TieredError {
    TieredError::LocalRead {
        path: path.display().to_string(),
        source,
    }
}

fn stored(path: &Path, source: object_store::Error) -> TieredError {
    TieredError::Store {
        key: path.to_string(),
        action: "written",
        source,
    }
}
