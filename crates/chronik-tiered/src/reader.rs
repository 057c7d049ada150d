//! Reads of the remote tier for consumers. Each copy's manifest and index are fetched once
//! and kept in a cache bounded by bytes (the least recently used go first), and at most
//! `concurrency` reads run at once, so a burst of cold reads neither grows memory without
//! bound nor takes every connection to the store; hot reads never wait here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chronik_wal::{SegmentIndex, SegmentTxns};
use tokio::sync::Semaphore;

use crate::manifest::{ObjectKind, RemoteSegmentId, SegmentManifest};
use crate::read::RemoteBatch;
use crate::{RemoteStore, Result};

/// How much a timestamp lookup reads per step while it scans a copy.
const TIMESTAMP_SCAN_BYTES: usize = 1024 * 1024;

/// Reads copies back through a bounded cache of their manifests and indexes.
pub struct RemoteReader {
    store: RemoteStore,
    cache: Mutex<IndexCache>,
    /// Bounds the reads under way.
    permits: Semaphore,
}

impl std::fmt::Debug for RemoteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteReader")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// One copy's manifest and index, as read (and checked) once.
#[derive(Debug)]
struct Opened {
    manifest: SegmentManifest,
    index: SegmentIndex,
}

impl RemoteReader {
    /// A reader keeping at most `cache_bytes` of indexes, with at most `concurrency` reads
    /// under way (at least one).
    pub fn new(store: RemoteStore, cache_bytes: u64, concurrency: usize) -> Self {
        RemoteReader {
            store,
            cache: Mutex::new(IndexCache::new(cache_bytes)),
            permits: Semaphore::new(concurrency.max(1)),
        }
    }

    pub fn store(&self) -> &RemoteStore {
        &self.store
    }

    /// The batches of copy `id` holding `offset` and after, up to about `max_bytes` (at least
    /// one batch).
    pub async fn read(
        &self,
        id: &RemoteSegmentId,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Vec<RemoteBatch>> {
        let _permit = self.permits.acquire().await;
        let opened = self.open(id).await?;
        (self.store)
            .read_from(&opened.manifest, &opened.index, offset, max_bytes)
            .await
    }

    /// The transactions of copy `id` as its index records them (`None`: a log of opaque
    /// payloads, which has none).
    pub async fn txns(&self, id: &RemoteSegmentId) -> Result<Option<SegmentTxns>> {
        let _permit = self.permits.acquire().await;
        Ok(self.open(id).await?.index.txns.clone())
    }

    /// The first batch of copy `id` whose max timestamp is at least `timestamp` (its bytes,
    /// to find the record in it), or `None` when the copy holds no record that late.
    pub async fn batch_at_timestamp(
        &self,
        id: &RemoteSegmentId,
        timestamp: i64,
    ) -> Result<Option<RemoteBatch>> {
        let _permit = self.permits.acquire().await;
        let opened = self.open(id).await?;
        let (manifest, index) = (&opened.manifest, &opened.index);
        if index.max_timestamp < timestamp {
            return Ok(None);
        }
        let relative = index.time_floor(timestamp).map_or(0, |t| t.relative_offset);
        let mut offset = id.base_offset + i64::from(relative);
        while offset < manifest.next_offset {
            let batches = (self.store)
                .read_from(manifest, index, offset, TIMESTAMP_SCAN_BYTES)
                .await?;
            if let Some(hit) = batches.iter().find(|b| b.meta.max_timestamp >= timestamp) {
                return Ok(Some(hit.clone()));
            }
            match batches.last() {
                Some(last) => offset = last.meta.last_offset + 1,
                None => break,
            }
        }
        Ok(None)
    }

    /// The copy's manifest and index, from the cache or read (and cached) now.
    async fn open(&self, id: &RemoteSegmentId) -> Result<Arc<Opened>> {
        if let Some(hit) = self.cache().get(id) {
            return Ok(hit);
        }
        let manifest = self.store.manifest(id).await?;
        let index = self.store.read_index(&manifest).await?;
        let weight = manifest.object(ObjectKind::Index).map_or(0, |o| o.bytes);
        let opened = Arc::new(Opened { manifest, index });
        self.cache().insert(id.clone(), opened.clone(), weight);
        Ok(opened)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, IndexCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The opened copies, bounded by the bytes of their indexes.
#[derive(Debug)]
struct IndexCache {
    entries: HashMap<RemoteSegmentId, Entry>,
    capacity: u64,
    bytes: u64,
    /// Counts uses, to find the least recently used entry.
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    opened: Arc<Opened>,
    weight: u64,
    last_used: u64,
}

impl IndexCache {
    fn new(capacity: u64) -> Self {
        IndexCache {
            entries: HashMap::new(),
            capacity,
            bytes: 0,
            clock: 0,
        }
    }

    fn get(&mut self, id: &RemoteSegmentId) -> Option<Arc<Opened>> {
        self.clock += 1;
        let entry = self.entries.get_mut(id)?;
        entry.last_used = self.clock;
        Some(entry.opened.clone())
    }

    /// Keeps `opened` unless it alone is over the capacity, evicting the least recently used
    /// entries until it fits.
    fn insert(&mut self, id: RemoteSegmentId, opened: Arc<Opened>, weight: u64) {
        if weight > self.capacity {
            return;
        }
        self.clock += 1;
        let entry = Entry {
            opened,
            weight,
            last_used: self.clock,
        };
        if let Some(old) = self.entries.insert(id, entry) {
            self.bytes -= old.weight;
        }
        self.bytes += weight;
        while self.bytes > self.capacity {
            let Some(oldest) = (self.entries.iter())
                .min_by_key(|(_, e)| e.last_used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            if let Some(gone) = self.entries.remove(&oldest) {
                self.bytes -= gone.weight;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(base_offset: i64) -> RemoteSegmentId {
        RemoteSegmentId {
            topic: "t".into(),
            partition: 0,
            topic_id: "00000000000000000000000000000000".into(),
            base_offset,
            upload_id: 1,
        }
    }

    fn opened(base_offset: i64) -> Arc<Opened> {
        Arc::new(Opened {
            manifest: SegmentManifest {
                id: id(base_offset),
                next_offset: base_offset + 10,
                max_timestamp: -1,
                leader_epochs: Vec::new(),
                objects: Vec::new(),
            },
            index: SegmentIndex::new(),
        })
    }

    #[test]
    fn the_least_recently_used_copy_goes_when_the_bytes_run_over() {
        let mut cache = IndexCache::new(100);
        cache.insert(id(0), opened(0), 40);
        cache.insert(id(10), opened(10), 40);
        assert!(cache.get(&id(0)).is_some(), "used again: now the newest");
        cache.insert(id(20), opened(20), 40);
        assert!(cache.get(&id(10)).is_none(), "the least recently used went");
        assert!(cache.get(&id(0)).is_some() && cache.get(&id(20)).is_some());
        assert_eq!(cache.bytes, 80);
    }

    #[test]
    fn an_index_larger_than_the_cache_is_not_kept() {
        let mut cache = IndexCache::new(100);
        cache.insert(id(0), opened(0), 40);
        cache.insert(id(10), opened(10), 101);
        assert!(cache.get(&id(10)).is_none());
        assert!(cache.get(&id(0)).is_some(), "nothing was evicted for it");
        assert_eq!(cache.bytes, 40);
    }
}
