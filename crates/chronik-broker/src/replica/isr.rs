//! Keeps the ISRs of the partitions this broker leads honest: asks the controller
//! (AlterPartition) to drop followers that lag beyond `replica.lag.time.max.ms` and to take
//! back those that caught up. One task makes these requests, one at a time, so they reach the
//! controller in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronik_metadata::ErrorKind;
use chronik_metadata::controller::AlterPartitionRequest;
use chronik_metadata::node::NodeError;
use chronik_types::TopicPartition;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Role;
use crate::cluster::Cluster;
use crate::partitions::Partitions;

/// Checks every led partition this often (and whenever a follower fetch asks for it).
fn period(max_lag: Duration) -> Duration {
    (max_lag / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

pub(crate) fn spawn(
    cluster: Arc<Cluster>,
    partitions: Arc<Partitions>,
    max_lag: Duration,
    wake: Arc<Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // (partition epoch, ISR) last asked for per partition: not asked again until the
        // metadata answers with a new partition epoch.
        let mut asked: HashMap<TopicPartition, (i32, Vec<i32>)> = HashMap::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period(max_lag)) => {}
                _ = wake.notified() => {}
            }
            for (tp, hosted) in partitions.leading() {
                let end = hosted.log.end_offset();
                let change = hosted.replica.read(|p| {
                    let wanted = p.wanted_isr(end, Instant::now(), max_lag)?;
                    match p.role() {
                        Role::Leader {
                            epoch,
                            partition_epoch,
                            isr,
                            ..
                        } => Some((wanted, *epoch, *partition_epoch, isr.clone())),
                        Role::Follower { .. } => None,
                    }
                });
                let Some((new_isr, leader_epoch, partition_epoch, current)) = change else {
                    continue;
                };
                let key = (partition_epoch, new_isr.clone());
                if asked.get(&tp) == Some(&key) {
                    continue;
                }
                let req = AlterPartitionRequest {
                    broker_id: cluster.me,
                    topic_id: hosted.topic_id,
                    partition: tp.partition,
                    leader_epoch,
                    partition_epoch,
                    new_isr: new_isr.clone(),
                };
                hosted
                    .replica
                    .update(|p| p.isr_requested(partition_epoch, &new_isr));
                match cluster.alter_partition(req).await {
                    Ok(()) => {
                        (hosted.replica).update(|p| p.isr_accepted(partition_epoch, &new_isr, end));
                        // Asking for the current ISR only withdrew an earlier request.
                        if new_isr != current {
                            let kind = if new_isr.len() < current.len() {
                                "shrinks"
                            } else {
                                "expands"
                            };
                            metrics::counter!(format!("chronik_broker_isr_{kind}_total"))
                                .increment(1);
                        }
                        tracing::info!(partition = %tp, isr = ?new_isr, "ISR change accepted");
                        asked.insert(tp, key);
                    }
                    Err(e) => {
                        if isr_refused(&e) {
                            (hosted.replica).update(|p| p.isr_request_refused(partition_epoch));
                        }
                        tracing::warn!(partition = %tp, isr = ?new_isr, error = %e, "ISR change refused or not delivered; retrying")
                    }
                }
            }
            asked.retain(|tp, _| partitions.get(tp).is_some());
        }
    })
}

/// Whether the controller refused the ISR asked for itself. It checks that only once the
/// requester's leader and partition epochs matched, so nothing was committed at that partition
/// epoch before. Any other failure may hide such a commit: an undelivered request may still be
/// applied, and a deposed leader's or a stale request's refusal says nothing of an earlier one.
fn isr_refused(e: &NodeError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::InvalidIsr | ErrorKind::IneligibleReplica
    )
}

#[cfg(test)]
mod tests {
    use chronik_metadata::node::NodeError;
    use chronik_metadata::{ControllerError, ErrorKind};

    use super::isr_refused;

    #[test]
    fn only_a_refusal_of_the_isr_itself_ends_the_wait_for_asked_members() {
        let refused = [
            NodeError::Controller(ControllerError::IneligibleReplica(3)),
            NodeError::Controller(ControllerError::InvalidIsr {
                isr: vec![1],
                reason: String::new(),
            }),
            NodeError::Remote {
                kind: ErrorKind::IneligibleReplica,
                message: String::new(),
            },
        ];
        assert!(refused.iter().all(isr_refused));
        // A deposed leader, a stale partition epoch or a lost answer: an earlier request may
        // have been committed.
        let unknown = [
            NodeError::Controller(ControllerError::FencedLeaderEpoch {
                requested: 1,
                current: 2,
            }),
            NodeError::Controller(ControllerError::BrokerFenced(1)),
            NodeError::Controller(ControllerError::StalePartitionEpoch {
                requested: 1,
                current: 2,
            }),
            NodeError::Remote {
                kind: ErrorKind::StalePartitionEpoch,
                message: String::new(),
            },
            NodeError::Unreachable(String::new()),
            NodeError::Unreachable("timed out".into()),
        ];
        assert!(!unknown.iter().any(isr_refused));
    }
}
