//! The remote tier (`--remote-storage`). Every `interval` each partition this broker leads,
//! of a topic with `remote.storage.enable=true` and the delete cleanup policy, copies its
//! oldest sealed, committed segment not yet copied to the object store, recording each step in
//! the metadata: COPY_STARTED, the objects (segment, index, manifest last), COPIED. Copies
//! `retention.*` no longer keeps, uploads nobody finished (a crash, a failed upload, a
//! leader change) and the copies of deleted topics are deleted: DELETE_STARTED, the objects,
//! DELETED. Local segments go once copied and past `local.retention.*` (the log's own
//! retention is off for a tiered topic); followers follow the leader's local log start.

use std::sync::Arc;
use std::time::Duration;

use chronik_metadata::proto::{RemoteSegmentChange, RemoteSegmentState};
use chronik_metadata::{RemoteCopyState, RemoteSegment};
use chronik_tiered::{
    CopyLag, CopyState, EpochStart, LocalSegment, RemoteCopy, RemoteLocation, RemoteOptions,
    RemoteSegmentId, RemoteStore, SegmentUpload, TierRetention, TierView,
};
use chronik_types::TopicPartition;
use tokio::task::JoinHandle;

use crate::BrokerError;
use crate::cluster::Cluster;
use crate::partition::{PartitionLayer, RemoteView, segment_id};
use crate::partitions::Hosted;

mod producer_state;
pub(crate) use producer_state::adopt_after_restart;

/// Where the remote tier is and how often it is tended.
#[derive(Debug, Clone)]
pub struct RemoteTierConfig {
    pub location: RemoteLocation,
    pub options: RemoteOptions,
    /// Kafka's `remote.log.manager.task.interval.ms`.
    pub interval: Duration,
    /// Bytes of remote segment indexes kept for reads.
    pub index_cache_bytes: u64,
    /// Reads from the remote tier under way at once.
    pub readers: usize,
}

/// Opens the remote tier and proves it usable (a probe object written, read and deleted), so
/// a wrong endpoint, bucket or credentials stops the broker at start.
pub(crate) async fn open(
    config: &RemoteTierConfig,
    broker: i32,
) -> Result<RemoteStore, BrokerError> {
    let store = RemoteStore::open(&config.location, &config.options)?;
    store.check(&format!("broker-{broker}")).await?;
    Ok(store)
}

/// Starts the task that tends the remote tier.
pub(crate) fn spawn(
    layer: Arc<PartitionLayer>,
    cluster: Arc<Cluster>,
    store: RemoteStore,
    interval: Duration,
) -> JoinHandle<()> {
    let tier = Tier {
        layer,
        cluster,
        store,
    };
    let interval = interval.max(Duration::from_millis(10));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            tier.pass().await;
        }
    })
}

struct Tier {
    layer: Arc<PartitionLayer>,
    cluster: Arc<Cluster>,
    store: RemoteStore,
}

/// What one partition's turn works from.
struct Tending {
    epoch: i32,
    retention: TierRetention,
    /// The topic is tiered now (not only holding copies from before).
    copying: bool,
    /// The copies the metadata records.
    copies: Vec<RemoteSegment>,
    /// The log start over both tiers that DeleteRecords set.
    log_start: i64,
}

/// A refused or failed step; the next pass looks again.
type StepResult = Result<(), String>;

impl Tier {
    async fn pass(&self) {
        for (tp, hosted) in self.layer.partitions().all() {
            let labels = [
                ("topic", tp.topic.clone()),
                ("partition", tp.partition.to_string()),
            ];
            let (copies, log_start) = self.observe(&tp, &hosted, &labels);
            // 0 where this broker follows: only a leader copies.
            let mut lag = CopyLag::default();
            let Some(epoch) = hosted.replica.leader_epoch() else {
                record_lag(&labels, lag);
                continue;
            };
            let Some(settings) = self.layer.topic_settings(&tp) else {
                continue;
            };
            // A topic no longer copied (or compacted) still has its copies deleted by retention.
            let tending = Tending {
                epoch,
                retention: settings.tier_retention(),
                copying: settings.tiered(),
                copies,
                log_start,
            };
            if let Err(e) = self.tend(&tp, &hosted, tending, &mut lag).await {
                tracing::warn!(partition = %tp, error = %e, "remote tier step failed; retried next pass");
                metrics::counter!("chronik_broker_remote_failures_total").increment(1);
            }
            record_lag(&labels, lag);
        }
        if let Err(e) = self.delete_orphans().await {
            tracing::warn!(error = %e, "deleting a deleted topic's remote copies failed; retried next pass");
            metrics::counter!("chronik_broker_remote_failures_total").increment(1);
        }
    }

    /// The partition's copies per the metadata and the log start DeleteRecords set; records
    /// where its remote tier starts (the log start consumers are told) and its size.
    fn observe(
        &self,
        tp: &TopicPartition,
        hosted: &Hosted,
        labels: &[(&'static str, String); 2],
    ) -> (Vec<RemoteSegment>, i64) {
        let (copies, readable): (Vec<RemoteSegment>, RemoteView) = self.cluster.metadata(|s| {
            let all = s.remote_segments(hosted.topic_id, tp.partition);
            let readable = RemoteView::of(s, hosted.topic_id, tp.partition);
            (all.cloned().collect(), readable)
        });
        hosted.set_remote_start(readable.start());
        let whole = (copies.iter()).filter(|c| c.state == RemoteCopyState::Copied);
        let bytes: u64 = whole.map(|c| c.size_bytes).sum();
        metrics::gauge!("chronik_broker_remote_log_size_bytes", labels).set(bytes as f64);
        (copies, readable.log_start)
    }

    /// One partition: deletes what the plan deletes, then copies at most one segment.
    /// `lag`: set to what is still to copy.
    async fn tend(
        &self,
        tp: &TopicPartition,
        hosted: &Arc<Hosted>,
        t: Tending,
        lag: &mut CopyLag,
    ) -> StepResult {
        let Tending {
            epoch,
            retention,
            copying,
            copies,
            log_start,
        } = t;
        if !copying && copies.is_empty() {
            return Ok(());
        }
        let local: Vec<LocalSegment> = (hosted.log.segments().iter())
            .map(|s| LocalSegment {
                base_offset: s.base_offset,
                next_offset: s.next_offset,
                bytes: s.bytes,
                max_timestamp: s.max_timestamp,
            })
            .collect();
        let remote: Vec<RemoteCopy> = copies.iter().map(remote_copy).collect();
        let plan = chronik_tiered::plan(&TierView {
            local: &local,
            remote: &remote,
            // A copy holds no transaction still open, so a replica starting after it needs
            // only the producer state it carries.
            last_stable_offset: hosted.last_stable_offset(hosted.replica.high_watermark()),
            log_start,
            uploading: None,
            now_ms: crate::wall_clock::wall_ms(),
            retention,
        });
        if copying {
            *lag = plan.lag;
        }
        if let Some(below) = plan.delete_local_below.filter(|_| copying) {
            self.delete_local(tp, hosted, below).await?;
        }
        for (base_offset, upload_id) in plan.delete_remote {
            let found = copies
                .iter()
                .find(|c| (c.key.base_offset, c.key.upload_id) == (base_offset, upload_id));
            if let Some(copy) = found {
                self.delete_copy(copy, epoch).await?;
            }
        }
        match plan.copy {
            Some(segment) if copying => {
                (self.copy_segment(tp, hosted, epoch, &copies, segment)).await
            }
            _ => Ok(()),
        }
    }

    /// Deletes the local segments below `below`, each wholly copied (the followers follow the
    /// leader's local log start, which their fetches report).
    async fn delete_local(
        &self,
        tp: &TopicPartition,
        hosted: &Arc<Hosted>,
        below: i64,
    ) -> StepResult {
        let hosted = hosted.clone();
        let deleted = tokio::task::spawn_blocking(move || hosted.log.delete_before(below))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if deleted.segments_deleted > 0 {
            tracing::info!(partition = %tp, segments = deleted.segments_deleted,
                bytes = deleted.bytes_deleted, local_start = deleted.start_offset,
                "local segments deleted: the remote tier holds them");
        }
        Ok(())
    }

    async fn copy_segment(
        &self,
        tp: &TopicPartition,
        hosted: &Arc<Hosted>,
        epoch: i32,
        copies: &[RemoteSegment],
        segment: LocalSegment,
    ) -> StepResult {
        let Some(info) =
            (hosted.log.segments().into_iter()).find(|s| s.base_offset == segment.base_offset)
        else {
            return Ok(());
        };
        let index = info
            .path
            .with_file_name(chronik_wal::index_file_name(info.base_offset));
        if !index.exists() {
            // Sealing writes the index in the background; the next pass copies it.
            return Ok(());
        }
        let epochs: Vec<EpochStart> = (hosted.log.epochs().iter())
            .map(|e| EpochStart {
                epoch: e.epoch,
                start_offset: e.start_offset,
            })
            .collect();
        let id = RemoteSegmentId {
            topic: tp.topic.clone(),
            partition: tp.partition,
            topic_id: hosted.topic_id.to_string(),
            base_offset: segment.base_offset,
            upload_id: rand::random(),
        };
        let step = |state| RemoteSegmentChange {
            topic_id: hosted.topic_id.to_vec(),
            partition: tp.partition,
            base_offset: id.base_offset,
            upload_id: id.upload_id,
            state: state as i32,
            leader_epoch: epoch,
            next_offset: segment.next_offset,
            max_timestamp: segment.max_timestamp,
            size_bytes: segment.bytes,
            topic: tp.topic.clone(),
        };
        let producers = producer_state::at_segment_end(
            &self.store,
            hosted,
            copies,
            info.base_offset,
            info.next_offset,
        )
        .await?;
        self.record(&step(RemoteSegmentState::RemoteSegmentCopyStarted))
            .await?;
        let upload = SegmentUpload {
            id: id.clone(),
            segment_path: &info.path,
            segment_bytes: info.bytes,
            index_path: &index,
            next_offset: info.next_offset,
            max_timestamp: info.max_timestamp,
            leader_epochs: EpochStart::of_segment(&epochs, info.base_offset, info.next_offset),
            producer_snapshot: Some(producers),
        };
        (self.store.upload_segment(upload).await).map_err(|e| e.to_string())?;
        self.record(&step(RemoteSegmentState::RemoteSegmentCopied))
            .await?;
        metrics::counter!("chronik_broker_remote_segments_copied_total").increment(1);
        metrics::counter!("chronik_broker_remote_bytes_copied_total").increment(segment.bytes);
        tracing::debug!(partition = %tp, base_offset = id.base_offset, bytes = segment.bytes,
            "segment copied to the remote tier");
        Ok(())
    }

    /// DELETE_STARTED (unless already), the objects, DELETED.
    async fn delete_copy(&self, copy: &RemoteSegment, epoch: i32) -> StepResult {
        let step = |state: RemoteSegmentState| RemoteSegmentChange {
            topic_id: copy.key.topic_id.to_vec(),
            partition: copy.key.partition,
            base_offset: copy.key.base_offset,
            upload_id: copy.key.upload_id,
            state: state as i32,
            leader_epoch: epoch,
            next_offset: copy.next_offset,
            max_timestamp: copy.max_timestamp,
            size_bytes: copy.size_bytes,
            topic: copy.topic.clone(),
        };
        if copy.state != RemoteCopyState::DeleteStarted {
            self.record(&step(RemoteSegmentState::RemoteSegmentDeleteStarted))
                .await?;
        }
        (self.store.delete_segment(&segment_id(copy)).await).map_err(|e| e.to_string())?;
        self.record(&step(RemoteSegmentState::RemoteSegmentDeleted))
            .await?;
        metrics::counter!("chronik_broker_remote_segments_deleted_total").increment(1);
        Ok(())
    }

    /// A deleted topic's copies, deleted by the live broker with the lowest id (so brokers do
    /// not race each other for them).
    async fn delete_orphans(&self) -> StepResult {
        let (orphans, mine) = self.cluster.metadata(|s| {
            let lowest = s.brokers().filter(|b| !b.fenced).map(|b| b.id).min();
            let orphans: Vec<RemoteSegment> = s.orphaned_remote_segments().cloned().collect();
            (orphans, lowest == Some(self.cluster.me))
        });
        if !mine {
            return Ok(());
        }
        for copy in &orphans {
            self.delete_copy(copy, 0).await?;
        }
        Ok(())
    }

    async fn record(&self, change: &RemoteSegmentChange) -> StepResult {
        (self.cluster.change_remote_segment(change).await).map_err(|e| e.to_string())
    }
}

fn record_lag(labels: &[(&'static str, String); 2], lag: CopyLag) {
    metrics::gauge!("chronik_broker_remote_copy_lag_segments", labels).set(lag.segments as f64);
    metrics::gauge!("chronik_broker_remote_copy_lag_bytes", labels).set(lag.bytes as f64);
}

fn remote_copy(c: &RemoteSegment) -> RemoteCopy {
    RemoteCopy {
        base_offset: c.key.base_offset,
        upload_id: c.key.upload_id,
        next_offset: c.next_offset,
        bytes: c.size_bytes,
        max_timestamp: c.max_timestamp,
        state: match c.state {
            RemoteCopyState::CopyStarted => CopyState::Started,
            RemoteCopyState::Copied => CopyState::Copied,
            RemoteCopyState::DeleteStarted => CopyState::Deleting,
        },
    }
}
