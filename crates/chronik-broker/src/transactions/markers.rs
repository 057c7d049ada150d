//! Finishing a prepared transaction: its commit or abort marker in every partition it wrote
//! to, then the Complete state. Markers for partitions this broker leads go through its
//! partition layer; the others go to their leaders as WriteTxnMarkers. A partition whose topic
//! was deleted needs none. Failures are retried with backoff for as long as this broker
//! coordinates the transaction; a new coordinator finds it prepared and finishes it.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::{Cluster, PeerAddress};
use chronik_client::{ConnConfig, Connection};
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use chronik_kafka::kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_metadata::BrokerId;
use chronik_records::TxnMarker;
use chronik_types::TopicPartition;
use tokio::sync::Mutex;

use super::coordinator::TxnCoordinator;
use super::state::{TxnMetadata, TxnState};
use crate::partition::{Acks, PartitionError};
use crate::wall_clock::wall_ms;

/// How long a marker waits for the partition's ISR.
const MARKER_TIMEOUT: Duration = Duration::from_secs(30);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Connections to the other brokers, for WriteTxnMarkers and verifications.
#[derive(Default)]
pub(crate) struct Peers {
    conns: Mutex<HashMap<SocketAddr, Arc<Connection>>>,
}

/// What a marker is for: the producer and how its transaction ended.
#[derive(Debug, Clone, Copy)]
struct Ending {
    producer: (i64, i16),
    marker: TxnMarker,
}

impl TxnCoordinator {
    pub(super) fn spawn_markers(
        self: &Arc<Self>,
        partition: i32,
        epoch: i32,
        txn_id: String,
        prepared: TxnMetadata,
    ) {
        let this = self.clone();
        tokio::spawn(async move { this.finish(partition, epoch, &txn_id, prepared).await });
    }

    async fn finish(
        self: Arc<Self>,
        partition: i32,
        epoch: i32,
        txn_id: &str,
        prepared: TxnMetadata,
    ) {
        let ending = Ending {
            producer: (prepared.producer_id, prepared.producer_epoch),
            marker: TxnMarker {
                commit: prepared.state == TxnState::PrepareCommit,
                coordinator_epoch: epoch,
            },
        };
        let mut left = prepared.partitions.clone();
        let mut backoff = MIN_BACKOFF;
        loop {
            if !self.still_leads(partition, epoch) {
                return tracing::info!(
                    transactional_id = txn_id,
                    "no longer the coordinator; the new one finishes the transaction"
                );
            }
            if left.is_empty() {
                let done = self.record_complete(txn_id, partition, epoch, &prepared);
                match done {
                    Ok(_) => return,
                    Err(e) => {
                        tracing::debug!(transactional_id = txn_id, error = %e, "cannot record the transaction complete yet")
                    }
                }
            } else {
                let written = self.write_markers(&left, ending).await;
                left.retain(|tp| !written.contains(tp));
                if left.is_empty() {
                    continue;
                }
                tracing::debug!(
                    transactional_id = txn_id,
                    left = left.len(),
                    "markers not all written; retrying"
                );
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Writes the markers of `partitions`; returns those that need no more.
    async fn write_markers(
        &self,
        partitions: &BTreeSet<TopicPartition>,
        ending: Ending,
    ) -> BTreeSet<TopicPartition> {
        let mut done = BTreeSet::new();
        let mut by_leader: HashMap<BrokerId, Vec<TopicPartition>> = HashMap::new();
        self.cluster.metadata(|s| {
            for tp in partitions {
                match s
                    .topic_by_name(&tp.topic)
                    .and_then(|t| t.partition(tp.partition))
                {
                    None => {
                        done.insert(tp.clone());
                    }
                    Some(p) => by_leader.entry(p.leader).or_default().push(tp.clone()),
                }
            }
        });
        for (leader, tps) in by_leader {
            let written = if leader == self.cluster.me {
                self.write_local(&tps, ending).await
            } else {
                self.write_remote(leader, &tps, ending).await
            };
            done.extend(written);
        }
        done
    }

    async fn write_local(&self, tps: &[TopicPartition], ending: Ending) -> Vec<TopicPartition> {
        let mut done = Vec::new();
        let written = write_markers(
            &self.layer,
            &self.groups,
            tps,
            ending.producer,
            ending.marker,
        );
        for (tp, written) in tps.iter().zip(written.await) {
            match written {
                Ok(()) => done.push(tp.clone()),
                Err(e) if marker_needs_no_retry(&e) => {
                    tracing::warn!(partition = %tp, error = %e, "transaction marker not needed");
                    done.push(tp.clone());
                }
                Err(e) => {
                    tracing::debug!(partition = %tp, error = %e, "transaction marker not written")
                }
            }
        }
        done
    }

    async fn write_remote(
        &self,
        leader: BrokerId,
        tps: &[TopicPartition],
        ending: Ending,
    ) -> Vec<TopicPartition> {
        let Some(peer) = self.cluster.peer_address(leader).await else {
            return Vec::new();
        };
        let conn = match self.peers.connection(&self.cluster, &peer).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(broker = leader, error = %e, "cannot reach a partition leader for markers");
                return Vec::new();
            }
        };
        let mut topics: Vec<WritableTxnMarkerTopic> = Vec::new();
        for tp in tps {
            match topics.last_mut() {
                Some(t) if t.name.0.as_str() == tp.topic => t.partition_indexes.push(tp.partition),
                _ => topics.push(
                    WritableTxnMarkerTopic::default()
                        .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                        .with_partition_indexes(vec![tp.partition]),
                ),
            }
        }
        let marker = WritableTxnMarker::default()
            .with_producer_id(ProducerId(ending.producer.0))
            .with_producer_epoch(ending.producer.1)
            .with_transaction_result(ending.marker.commit)
            .with_coordinator_epoch(ending.marker.coordinator_epoch)
            .with_topics(topics);
        let req = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
        let response = match conn.call_at(&req, 1, "chronik-txn-coordinator").await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(broker = leader, error = %e, "WriteTxnMarkers failed");
                return Vec::new();
            }
        };
        let mut done = Vec::new();
        for result in response.markers {
            for topic in result.topics {
                for p in topic.partitions {
                    let code = p.error_code;
                    let no_retry = code == 0
                        || code == ResponseError::UnknownTopicOrPartition.code()
                        || code == ResponseError::InvalidProducerEpoch.code()
                        || code == ResponseError::TransactionCoordinatorFenced.code();
                    if no_retry {
                        done.push(TopicPartition::new(
                            topic.name.0.as_str(),
                            p.partition_index,
                        ));
                    }
                }
            }
        }
        done
    }
}

impl Peers {
    pub(super) async fn connection(
        &self,
        cluster: &Cluster,
        peer: &PeerAddress,
    ) -> chronik_client::Result<Arc<Connection>> {
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(&peer.addr).filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let config = ConnConfig {
            client_id: "chronik-txn-coordinator".into(),
            request_timeout: MARKER_TIMEOUT + Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            max_response_bytes: 1024 * 1024,
            tls: None,
            sasl: None,
        };
        let conn = Arc::new(cluster.open_peer(peer, config).await?);
        conns.insert(peer.addr, conn.clone());
        Ok(conn)
    }
}

/// Writes a marker to each of `tps` as their leader and waits until each partition's ISR has
/// it; the outcomes are in the order of `tps`. Every marker is appended before the first wait,
/// together (one flush round syncs them all), so their fsyncs and replication overlap. A
/// marker in `__consumer_offsets` also ends the transaction's offsets in the group
/// coordinator.
pub(crate) async fn write_markers(
    layer: &crate::partition::PartitionLayer,
    groups: &crate::groups::Coordinator,
    tps: &[TopicPartition],
    producer: (i64, i16),
    marker: TxnMarker,
) -> Vec<Result<(), PartitionError>> {
    let now = wall_ms();
    let appended: Vec<_> = chronik_wal::appends_together(|| {
        (tps.iter())
            .map(|tp| layer.append_marker(tp, producer, marker, now))
            .collect()
    });
    let mut out = Vec::with_capacity(tps.len());
    for (tp, wait) in tps.iter().zip(appended) {
        let (written, offset) = match wait {
            Ok(wait) => {
                let offset = wait.offset();
                (wait.settle(Acks::All, MARKER_TIMEOUT).await, offset)
            }
            Err(e) => (Err(e), -1),
        };
        if written.is_ok() && tp.topic == crate::groups::OFFSETS_TOPIC {
            groups.end_txn(tp.partition, producer.0, marker.commit, offset);
        }
        out.push(written);
    }
    out
}

/// A marker refused for a reason no retry changes: the partition is gone, or a newer epoch of
/// the producer wrote there (a newer coordinator decided).
pub(crate) fn marker_needs_no_retry(e: &PartitionError) -> bool {
    matches!(
        e,
        PartitionError::UnknownPartition(_) | PartitionError::Sequence(_)
    )
}
