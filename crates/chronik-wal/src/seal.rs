//! Sealing a segment rolled away from: fsynced in the background, then given its index file, so
//! that an index only ever describes durable bytes.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use chronik_types::Offset;

use crate::index::SegmentIndex;
use crate::pending::PendingSync;
use crate::syncer::Syncer;

/// What sealing one segment needs, captured under the log lock.
pub(crate) struct Seal {
    pub(crate) base: Offset,
    pub(crate) file: Arc<std::fs::File>,
    pub(crate) index_path: PathBuf,
    pub(crate) segment_path: PathBuf,
    pub(crate) index: SegmentIndex,
    pub(crate) size: u64,
    pub(crate) next_offset: Offset,
}

/// A seal running in the background. A rewrite waits for the seals of the segments it replaces,
/// so that no late index file lands beside (or under the name of) the cleaned segment.
pub(crate) struct SealTask {
    pub(crate) base: Offset,
    handle: JoinHandle<()>,
}

impl SealTask {
    pub(crate) fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    pub(crate) fn join(self) {
        let _ = self.handle.join();
    }
}

impl Seal {
    /// Runs the seal on a thread of its own.
    pub(crate) fn spawn(
        self,
        syncer: Arc<dyn Syncer>,
        pending: Arc<PendingSync>,
    ) -> std::io::Result<SealTask> {
        let base = self.base;
        let handle = std::thread::Builder::new()
            .name("chronik-seal".into())
            .spawn(move || self.run(syncer.as_ref(), &pending))?;
        Ok(SealTask { base, handle })
    }

    fn run(self, syncer: &dyn Syncer, pending: &PendingSync) {
        // The checkpoint first: an index makes recovery trust the segment without reading its
        // frames, so the epochs they were written in must already be on disk.
        let synced = (pending.write_staged())
            .map_err(|e| {
                format!("writing the leader-epoch checkpoint failed while sealing a segment: {e}")
            })
            .and_then(|()| {
                (syncer.sync(&self.file))
                    .map_err(|e| format!("fsync failed while sealing a segment: {e}"))
            });
        if let Err(reason) = synced {
            tracing::error!(log = %pending.name, %reason, "log stopped accepting writes");
            pending.fail(reason);
            return;
        }
        // Retention may have deleted the segment meanwhile; an index for it would be litter.
        if !self.segment_path.exists() {
            return;
        }
        if let Err(e) = self
            .index
            .store(&self.index_path, self.size, self.next_offset)
        {
            tracing::warn!(segment = %self.segment_path.display(), error = %e,
                "could not write a segment index; the segment will be rescanned on the next open");
        }
    }
}
