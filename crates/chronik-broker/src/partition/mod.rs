//! The partition layer (Kafka's ReplicaManager): everything the broker does with the
//! partitions it hosts, behind one type. Appends as leader (limits, idempotence, acks
//! settling), reads bounded by the high watermark, follower fetch progress and the
//! high-watermark rule, ISR wake-ups, and per-partition wake-ups of parked fetches. Protocol
//! handlers translate requests to calls here and [`PartitionError`]s to Kafka codes.

mod append;
mod delete;
mod error;
mod markers;
mod read;
mod remote;
mod rewrite;

use std::collections::HashSet;
use std::sync::Arc;

use chronik_types::TopicPartition;
use chronik_wal::PartitionLog;
use tokio::sync::Notify;

use crate::cluster::Cluster;
use crate::partitions::{Hosted, Partitions};
use crate::topic_config::{Defaults, TopicSettings};

pub(crate) use crate::producers::SequenceError;
pub(crate) use append::{AckWait, Acks};
pub(crate) use error::{PartitionError, Result, check_epoch};
pub(crate) use read::{Isolation, OffsetQuery, Parked, ReadRequest, Reader};
pub(crate) use remote::{CommittedView, RemoteSpan, RemoteView, segment_id};

/// The hosted partitions, as the protocol handlers see them.
pub(crate) struct PartitionLayer {
    /// The open logs and their replication state.
    partitions: Arc<Partitions>,
    /// Whether a partition exists and its ISR size: appends and reads check the metadata.
    cluster: Arc<Cluster>,
    /// The topic config defaults of the broker's flags; the dynamic broker configs and then a
    /// topic's own configs go over them.
    defaults: TopicSettings,
    /// Wakes the ISR task early: a follower outside the ISR fetched and may be back.
    isr_check: Arc<Notify>,
}

/// A partition this broker leads, at the epoch its appends are written in.
pub(crate) struct Leading {
    pub hosted: Arc<Hosted>,
    pub epoch: i32,
}

impl Leading {
    pub fn log(&self) -> &Arc<PartitionLog> {
        &self.hosted.log
    }

    /// The high watermark after counting this leader's own log end (a sole ISR member moves
    /// it there at once).
    fn high_watermark(&self) -> i64 {
        let end = self.hosted.log.end_offset();
        self.hosted.replica.update(|p| {
            p.advance(end);
            p.high_watermark()
        })
    }
}

impl PartitionLayer {
    pub fn new(
        partitions: Arc<Partitions>,
        cluster: Arc<Cluster>,
        defaults: TopicSettings,
        isr_check: Arc<Notify>,
    ) -> Self {
        PartitionLayer {
            partitions,
            cluster,
            defaults,
            isr_check,
        }
    }

    /// The hosted partitions and their logs (for the coordinator, retention and metrics).
    pub fn partitions(&self) -> &Arc<Partitions> {
        &self.partitions
    }

    /// Opens and removes logs to match the metadata now (after a change this broker asked
    /// for), on a blocking thread: opening a log recovers it from disk and writes files.
    pub async fn reconcile(&self) {
        let (cluster, partitions) = (self.cluster.clone(), self.partitions.clone());
        if let Err(e) = tokio::task::spawn_blocking(move || cluster.reconcile(&partitions)).await {
            tracing::error!(error = %e, "reconciling the hosted partitions failed");
        }
    }

    /// The partitions whose log failed for good (Metadata reports them offline).
    pub fn failed_logs(&self) -> HashSet<TopicPartition> {
        self.partitions.failed_logs()
    }

    /// `tp` as this broker leads it. Leadership is the hosted replica's role (the metadata as
    /// last reconciled), so the epoch is the one its high watermark and waiters work with.
    pub fn leader(&self, tp: &TopicPartition) -> Result<Leading> {
        let exists = self.cluster.metadata(|s| {
            s.topic_by_name(&tp.topic)
                .and_then(|t| t.partition(tp.partition))
                .is_some()
        });
        if !exists {
            return Err(PartitionError::UnknownPartition(tp.clone()));
        }
        let not_leader = || PartitionError::NotLeader(tp.clone());
        let hosted = self.partitions.get_hosted(tp).ok_or_else(not_leader)?;
        let epoch = hosted.replica.leader_epoch().ok_or_else(not_leader)?;
        Ok(Leading { hosted, epoch })
    }

    /// [`PartitionLayer::leader`], checked against the leader epoch the client believes
    /// current.
    pub fn leader_at(&self, tp: &TopicPartition, current_leader_epoch: i32) -> Result<Leading> {
        let leading = self.leader(tp)?;
        check_epoch(current_leader_epoch, leading.epoch)?;
        Ok(leading)
    }

    /// The effective settings of `tp`'s topic (its configs over the broker's defaults).
    pub fn topic_settings(&self, tp: &TopicPartition) -> Option<TopicSettings> {
        self.limits(tp).map(|(settings, _)| settings)
    }

    /// What an append to `tp` must respect: its topic's settings and its ISR size.
    fn limits(&self, tp: &TopicPartition) -> Option<(TopicSettings, usize)> {
        self.cluster.metadata(|s| {
            let topic = s.topic_by_name(&tp.topic)?;
            let isr = topic.partition(tp.partition)?.isr.len();
            let defaults = Defaults::new(self.defaults.clone(), s, self.cluster.me).into_settings();
            Some((defaults.with_stored(&topic.name, &topic.configs), isr))
        })
    }
}
