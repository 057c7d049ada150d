//! A partition log: an ordered run of segments, appended at the end by one writer at a time and
//! read concurrently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chronik_records::{BATCH_HEADER_LEN, BatchHeader};
use chronik_types::{LeaderEpoch, Offset};

use crate::config::LogConfig;
use crate::durable::Durable;
use crate::epoch::{EpochCache, EpochEntry, sync_dir};
use crate::flusher::Flusher;
use crate::frame::{FRAME_HEADER_LEN, FrameMeta, MAX_FRAME_PAYLOAD};
use crate::index::SegmentIndex;
use crate::pending::PendingSync;
use crate::recovery::{self, RecoveryReport};
use crate::seal::{Seal, SealTask};
use crate::segment::{Payload, Segment};
use crate::txns::OpenTxns;
use crate::{Result, WalError};

/// Where an append landed.
#[derive(Debug)]
pub struct AppendInfo {
    pub base_offset: Offset,
    pub last_offset: Offset,
    pub max_timestamp: i64,
    /// Resolves once the append is as durable as the fsync policy promises.
    pub durable: Durable,
}

/// Facts about one segment, for tools and benchmarks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SegmentInfo {
    pub base_offset: Offset,
    pub next_offset: Offset,
    pub bytes: u64,
    pub max_timestamp: i64,
    pub path: PathBuf,
}

pub(crate) struct LogState {
    pub(crate) segments: BTreeMap<Offset, Segment>,
    pub(crate) start_offset: Offset,
    pub(crate) next_offset: Offset,
    pub(crate) epochs: EpochCache,
    pub(crate) config: LogConfig,
    pub(crate) closed: bool,
    /// Background fsyncs of segments rolled away from; `close` waits for them.
    pub(crate) sealing: Vec<SealTask>,
    /// Bumped whenever truncation changes or replaces segments, so that a rewrite begun
    /// before it is known to be stale.
    pub(crate) generation: u64,
    /// Why a decided segment swap could not be finished: until a restart completes it, nothing
    /// may remove data, or the swap's recovery could bring removed data back.
    pub(crate) swap_interrupted: Option<String>,
}

impl LogState {
    pub(crate) fn active(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has an active segment")
    }
}

/// One partition's log.
pub struct PartitionLog {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) state: Mutex<LogState>,
    pub(crate) pending: Arc<PendingSync>,
    pub(crate) flusher: Arc<Flusher>,
    /// The owner makes writes durable itself with [`PartitionLog::flush`] (the Raft log syncs
    /// once per Ready), so appends bypass the flusher.
    pub(crate) explicit_sync: bool,
    /// The log holds Kafka batches, whose transactions its segment indexes follow (the Raft
    /// log's payloads are opaque).
    pub(crate) kafka_batches: bool,
}

impl std::fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionLog")
            .field("name", &self.name)
            .finish()
    }
}

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`, recovering it first.
    pub(crate) fn open(
        dir: &Path,
        name: &str,
        config: LogConfig,
        flusher: Arc<Flusher>,
        recovery: recovery::RecoveryOptions,
    ) -> Result<(Self, RecoveryReport)> {
        config.validate()?;
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|source| WalError::Io {
                path: dir.into(),
                source,
            })?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        let kafka_batches = !recovery.opaque_payloads;
        let (segments, epochs, mut report) =
            recovery::plan(dir, name, config.index_interval_bytes, recovery)?.apply(dir)?;
        let mut segments: BTreeMap<Offset, Segment> =
            segments.into_iter().map(|s| (s.base_offset, s)).collect();
        if segments.is_empty() {
            let index = SegmentIndex::with_txns(kafka_batches.then(OpenTxns::new));
            segments.insert(0, Segment::create(dir, 0, index)?);
            sync_dir(dir)?;
        }
        let first_base = *segments.keys().next().unwrap_or(&0);
        let next_offset = segments.values().next_back().map_or(0, |s| s.next_offset);
        // A checkpointed start inside the first segment (DeleteRecords) wins over its base.
        let start_offset = crate::offsets::load(dir, crate::offsets::LOG_START_FILE)?
            .map_or(first_base, |c| c.max(first_base))
            .min(next_offset.max(first_base));
        report.start_offset = start_offset;
        let state = LogState {
            segments,
            start_offset,
            next_offset,
            epochs,
            config,
            closed: false,
            sealing: Vec::new(),
            generation: 0,
            swap_interrupted: None,
        };
        let log = Self {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            state: Mutex::new(state),
            pending: PendingSync::new(name.to_string(), device_of(dir)),
            flusher,
            explicit_sync: false,
            kafka_batches,
        };
        Ok((log, report))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses to remove data while a decided swap is unfinished (see `LogState`).
    pub(crate) fn refuse_if_swap_interrupted(&self, state: &LogState) -> Result<()> {
        match &state.swap_interrupted {
            Some(reason) => Err(WalError::SwapInterrupted {
                log: self.name.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first offset still in the log.
    pub fn start_offset(&self) -> Offset {
        self.lock().start_offset
    }

    /// The offset the next append will get (Kafka's log end offset).
    pub fn end_offset(&self) -> Offset {
        self.lock().next_offset
    }

    /// Why the log stopped accepting writes (a failed fsync or write), if it did; reads go on.
    pub fn failure(&self) -> Option<String> {
        self.pending.failure()
    }

    pub fn config(&self) -> LogConfig {
        self.lock().config.clone()
    }

    pub fn set_config(&self, config: LogConfig) -> Result<()> {
        config.validate()?;
        self.lock().config = config;
        Ok(())
    }

    /// Validates one Kafka v2 record batch in full and appends it (see
    /// [`PartitionLog::append_validated`]).
    ///
    /// `batch` ends up as stored: with the base offset the log assigned and `leader_epoch`.
    pub fn append(&self, batch: &mut [u8], leader_epoch: LeaderEpoch) -> Result<AppendInfo> {
        let header = chronik_records::validate_batch(batch)?;
        let info = self.append_validated(batch, &header, leader_epoch)?;
        chronik_records::set_base_offset(batch, info.base_offset);
        chronik_records::set_partition_leader_epoch(batch, leader_epoch);
        Ok(info)
    }

    /// Appends one Kafka v2 record batch that the caller validated, `header` being what
    /// validation returned (the produce path splits and validates a request's records once, so
    /// the header is not read again here). The log assigns its base offset and stamps the leader
    /// epoch in what it writes, leaving `batch` as it is; the batch's CRC-32C stays valid
    /// because neither field is covered by it.
    pub fn append_validated(
        &self,
        batch: &[u8],
        header: &BatchHeader,
        leader_epoch: LeaderEpoch,
    ) -> Result<AppendInfo> {
        debug_assert_eq!(header.total_len(), batch.len(), "header of another batch");
        let mut head = [0u8; BATCH_HEADER_LEN];
        head.copy_from_slice(batch.get(..BATCH_HEADER_LEN).ok_or(WalError::InvalidBatch(
            "batch is shorter than a record batch header",
        ))?);
        let mut state = self.lock();
        let base = state.next_offset;
        chronik_records::set_base_offset(&mut head, base);
        chronik_records::set_partition_leader_epoch(&mut head, leader_epoch);
        let meta = FrameMeta {
            base_offset: base,
            last_offset: base.saturating_add(i64::from(header.last_offset_delta)),
            max_timestamp: header.max_timestamp,
            leader_epoch,
        };
        self.append_locked(&mut state, &meta, Payload::with_head(&head, batch))
    }

    /// Appends one batch copied from the partition leader, keeping its offsets and leader
    /// epoch. Its base offset must not be below this log's end offset: a follower truncates
    /// divergent data before fetching, so a batch overlapping what the log holds means the two
    /// logs disagree. It may lie beyond the end: the leader's log cleaner removes whole batches,
    /// and a read from an offset it removed starts at the next batch kept (Kafka's followers
    /// accept such gaps too); the log then ends after that batch. Like
    /// [`PartitionLog::append_validated`], it takes the header the caller's validation returned.
    pub fn append_replicated(&self, batch: &[u8], header: &BatchHeader) -> Result<AppendInfo> {
        debug_assert_eq!(header.total_len(), batch.len(), "header of another batch");
        let mut state = self.lock();
        if header.base_offset < state.next_offset {
            return Err(WalError::BelowEnd {
                log: self.name.clone(),
                base: header.base_offset,
                end: state.next_offset,
            });
        }
        let meta = FrameMeta {
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
            leader_epoch: header.partition_leader_epoch,
        };
        self.append_locked(&mut state, &meta, Payload::whole(batch))
    }

    /// Appends an opaque payload covering `offsets` offsets (at least one), for logs that do not
    /// hold Kafka batches (the metadata quorum's Raft log).
    pub fn append_raw(
        &self,
        payload: &[u8],
        offsets: u32,
        timestamp: i64,
        leader_epoch: LeaderEpoch,
    ) -> Result<AppendInfo> {
        let mut state = self.lock();
        let base = state.next_offset;
        let meta = FrameMeta {
            base_offset: base,
            last_offset: base.saturating_add(i64::from(offsets.max(1)) - 1),
            max_timestamp: timestamp,
            leader_epoch,
        };
        self.append_locked(&mut state, &meta, Payload::whole(payload))
    }

    fn append_locked(
        &self,
        state: &mut LogState,
        meta: &FrameMeta,
        payload: Payload<'_>,
    ) -> Result<AppendInfo> {
        if state.closed {
            return Err(WalError::Closed(self.name.clone()));
        }
        if let Some(reason) = self.pending.failure() {
            return Err(WalError::LogFailed {
                log: self.name.clone(),
                reason,
            });
        }
        if meta.last_offset == Offset::MAX {
            return Err(WalError::InvalidBatch(
                "the log has reached the largest possible offset",
            ));
        }
        if payload.len() > MAX_FRAME_PAYLOAD as usize {
            return Err(WalError::InvalidBatch(
                "batch is larger than the 128 MiB frame limit",
            ));
        }
        let frame_len = (FRAME_HEADER_LEN + payload.len()) as u64;
        if self.should_roll(state, frame_len) {
            self.roll(state)?;
        }
        if state.epochs.assign(meta.leader_epoch, meta.base_offset) {
            self.pending
                .stage_checkpoint(&self.dir, state.epochs.encode());
            // Without a flusher to write it before the append is released, write it now.
            if self.explicit_sync || self.flush_policy(state).is_never() {
                self.pending.write_staged()?;
            }
        }
        let interval = state.config.index_interval_bytes;
        let written = state.active().append_frame(meta, payload, interval);
        if let Err(e) = written {
            self.pending.fail(format!("write failed: {e}"));
            return Err(e);
        }
        state.next_offset = meta.last_offset + 1;
        let file = state.active().file.clone();
        let durable = if self.explicit_sync {
            Durable::ready(&self.pending.name)
        } else {
            let records = u64::try_from(meta.last_offset - meta.base_offset + 1).unwrap_or(1);
            let policy = self.flush_policy(state);
            (self.flusher).note_write(&self.pending, &file, meta.last_offset, records, policy)
        };
        Ok(AppendInfo {
            base_offset: meta.base_offset,
            last_offset: meta.last_offset,
            max_timestamp: meta.max_timestamp,
            durable,
        })
    }

    fn should_roll(&self, state: &mut LogState, frame_len: u64) -> bool {
        let segment_bytes = state.config.segment_bytes;
        let next = state.next_offset;
        let base = state.active().base_offset;
        let roll_after = state.config.roll_after(&self.name, base);
        let active = state.active();
        !active.is_empty()
            && (active.size + frame_len > segment_bytes
                || roll_after.is_some_and(|ms| active.active_since.elapsed() >= ms)
                || next - active.base_offset >= i64::from(u32::MAX))
    }

    /// Seals the active segment (fsync, then its index file, so the index only ever describes
    /// durable bytes) and starts a new one at the log end.
    pub(crate) fn roll(&self, state: &mut LogState) -> Result<()> {
        let next = state.next_offset;
        let sealed = state.active();
        sealed.cut_zero_tail()?;
        let seal = Seal {
            base: sealed.base_offset,
            file: sealed.file.clone(),
            index_path: sealed.index_path(),
            segment_path: sealed.path.clone(),
            index: sealed.index.clone(),
            size: sealed.size,
            next_offset: sealed.next_offset,
        };
        let open = (sealed.index.txns.as_ref()).map(|t| t.open.clone());
        let segment = Segment::create(&self.dir, next, SegmentIndex::with_txns(open))?;
        state.segments.insert(next, segment);
        // The new segment's dir entry must be durable before an append to it is released:
        // the flusher syncs the dir first, off this (possibly async) thread.
        self.pending.stage_dir_sync(&self.dir);
        if self.explicit_sync || self.flush_policy(state).is_never() {
            self.pending.write_staged()?;
        }
        // Fsyncing a whole segment takes long; appends go on in the new one meanwhile.
        state.sealing.retain(|task| !task.is_finished());
        let task = seal
            .spawn(self.flusher.syncer().clone(), self.pending.clone())
            .map_err(|source| WalError::Io {
                path: self.dir.clone(),
                source,
            })?;
        state.sealing.push(task);
        Ok(())
    }

    /// Starts a new segment now (if the active one holds anything).
    pub fn roll_segment(&self) -> Result<()> {
        let mut state = self.lock();
        if state.active().is_empty() {
            return Ok(());
        }
        self.roll(&mut state)
    }

    /// Writes the epoch checkpoint now (truncation and trimming, which are rare), through the
    /// staging slot so that an older staged copy cannot land after it.
    pub(crate) fn store_epochs(&self, epochs: &EpochCache) -> Result<()> {
        self.pending.stage_checkpoint(&self.dir, epochs.encode());
        self.pending.write_staged()
    }

    /// The leader epoch entries (epoch → first offset).
    pub fn epochs(&self) -> Vec<EpochEntry> {
        self.lock().epochs.entries().to_vec()
    }

    /// Kafka's OffsetForLeaderEpoch answer for this log.
    pub fn end_offset_for_epoch(&self, epoch: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        let state = self.lock();
        state.epochs.end_offset_for(epoch, state.next_offset)
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.lock()
            .segments
            .values()
            .map(|s| SegmentInfo {
                base_offset: s.base_offset,
                next_offset: s.next_offset,
                bytes: s.size,
                max_timestamp: s.index.max_timestamp,
                path: s.path.clone(),
            })
            .collect()
    }

    /// Bytes held by all segments.
    pub fn size_bytes(&self) -> u64 {
        self.lock().segments.values().map(|s| s.size).sum()
    }

    /// A handle that resolves once everything appended so far is as durable as the policy
    /// promises, without blocking the caller: it joins the flusher's next fsync of this log
    /// (one that begins after this call, so it covers every earlier append).
    pub fn durable_end(&self) -> Durable {
        let mut state = self.lock();
        if self.explicit_sync || state.next_offset == 0 {
            return Durable::ready(&self.pending.name);
        }
        let file = state.active().file.clone();
        let policy = self.flush_policy(&state);
        (self.flusher).note_write(&self.pending, &file, state.next_offset - 1, 0, policy)
    }

    /// This log's flush policy: its own, or else the data dir's.
    fn flush_policy(&self, state: &LogState) -> crate::FlushPolicy {
        (state.config.flush).unwrap_or_else(|| self.flusher.default_flush())
    }

    /// Fsyncs everything written so far, whatever the policy.
    pub fn flush(&self) -> Result<()> {
        let state = self.lock();
        let syncer = self.flusher.syncer().clone();
        for segment in state.segments.values().rev().take(1) {
            syncer.sync(&segment.file).map_err(|e| {
                let reason = format!("fsync failed: {e}");
                self.pending.fail(reason.clone());
                WalError::LogFailed {
                    log: self.name.clone(),
                    reason,
                }
            })?;
        }
        Ok(())
    }

    /// Waits for the background seals of rolled segments still running.
    pub(crate) fn join_seals(&self) {
        let tasks = std::mem::take(&mut self.lock().sealing);
        for task in tasks {
            task.join();
        }
    }

    /// Flushes and writes the active segment's index, so the next open needs no scan. Appends
    /// after this fail.
    pub fn close(&self) -> Result<()> {
        self.pending.write_staged()?;
        self.flush()?;
        let mut state = self.lock();
        for task in state.sealing.drain(..) {
            task.join();
        }
        if let Some(reason) = self.pending.failure() {
            return Err(WalError::LogFailed {
                log: self.name.clone(),
                reason,
            });
        }
        if !state.closed {
            // Not synced: a longer file than its index says is only rescanned on the next open.
            state.active().cut_zero_tail()?;
            state.active().store_index()?;
            state.closed = true;
        }
        Ok(())
    }
}

/// The filesystem `dir` is on.
fn device_of(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|m| m.dev())
}
