//! Moving a partition's replicas to other brokers without ever holding fewer copies, as Kafka's
//! reassignments do. Starting one adds the target replicas beside the current ones and records
//! the original and target replicas (the partition's `moving_from` and `moving_to`, in the
//! metadata log, so a new controller carries on); the new replicas catch up by
//! replication and their leader adds them to the ISR; once every target replica is in the ISR
//! the controller's loop ([`reassignment_steps`]) makes the replicas exactly the target. A
//! reassignment can be replaced by another or cancelled, which goes back to the replicas it
//! started from.

use crate::MetadataRecord;
use crate::error::ControllerError;
use crate::ids::{BrokerId, NO_LEADER};
use crate::proto::metadata_record::Record;
use crate::proto::{PartitionChange, Reassignment, ReplicaList};
use crate::state::validate::first_duplicate;
use crate::state::{MetadataState, PartitionView, merged_replicas};

/// Where a reassignment stands after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassignStep {
    /// The target replicas were added (or are still catching up); ask again later.
    CatchingUp,
    /// The replicas are exactly the target.
    Done,
}

/// Drives moving `topic`'s `partition` to `target` (the first is the preferred leader) one
/// request at a time: starts the reassignment, then reports it catching up, then (once the
/// target is in sync) finishes it and reports it done. Repeat until `Done`.
pub fn reassign_partition(
    state: &MetadataState,
    topic: &str,
    partition: i32,
    target: &[BrokerId],
) -> Result<(Vec<MetadataRecord>, ReassignStep), ControllerError> {
    let p = find(state, topic, partition)?;
    let s = p.state;
    if !s.is_reassigning() && s.replicas == target {
        return Ok((Vec::new(), ReassignStep::Done));
    }
    if s.is_reassigning() && s.target_replicas() == target {
        return Ok(match finish(state, p) {
            Some(record) => (vec![record], ReassignStep::Done),
            None => (Vec::new(), ReassignStep::CatchingUp),
        });
    }
    let records = start_reassignment(state, topic, partition, target)?;
    Ok((records, ReassignStep::CatchingUp))
}

/// Starts moving `topic`'s `partition` to `target`, replacing a reassignment that runs (the
/// new one starts from the same original replicas). Nothing when the replicas already are
/// the target and nothing runs.
pub fn start_reassignment(
    state: &MetadataState,
    topic: &str,
    partition: i32,
    target: &[BrokerId],
) -> Result<Vec<MetadataRecord>, ControllerError> {
    let p = find(state, topic, partition)?;
    check_target(state, target)?;
    let original = p.state.original_replicas().to_vec();
    if original == target {
        // Back to where it started: the same as a cancel, or nothing when nothing runs.
        return match p.state.is_reassigning() {
            true => cancel_reassignment(state, topic, partition),
            false => Ok(Vec::new()),
        };
    }
    if p.state.target_replicas() == target {
        return Ok(Vec::new());
    }
    let replicas = merged_replicas(target, &original);
    // Replicas a replaced reassignment was adding may be gone from the new one.
    let (leader, isr) = leadership_within(state, p, &replicas)?;
    let moving = Reassignment {
        original,
        target: target.to_vec(),
    };
    Ok(vec![change(p, leader, isr, replicas, moving)])
}

/// Cancels the reassignment running on `topic`'s `partition`: back to the replicas it
/// started from.
pub fn cancel_reassignment(
    state: &MetadataState,
    topic: &str,
    partition: i32,
) -> Result<Vec<MetadataRecord>, ControllerError> {
    let p = find(state, topic, partition)?;
    if !p.state.is_reassigning() {
        return Err(ControllerError::NoReassignment {
            topic: topic.into(),
            partition,
        });
    }
    let original = p.state.original_replicas().to_vec();
    let (leader, isr) = leadership_within(state, p, &original)?;
    Ok(vec![change(
        p,
        leader,
        isr,
        original,
        Reassignment::default(),
    )])
}

/// The controller loop's part: finishes every running reassignment whose target replicas
/// are all in the ISR.
pub fn reassignment_steps(state: &MetadataState) -> Vec<MetadataRecord> {
    (state.partitions())
        .filter(|p| p.state.is_reassigning())
        .filter_map(|p| finish(state, p))
        .collect()
}

/// The change that makes the replicas exactly the target, once all of it is in sync. A
/// leader being dropped hands over to the first live target replica.
fn finish(state: &MetadataState, p: PartitionView<'_>) -> Option<MetadataRecord> {
    let target = p.state.target_replicas().to_vec();
    if !target.iter().all(|id| p.state.isr.contains(id)) {
        return None;
    }
    let (leader, isr) = leadership_within(state, p, &target).ok()?;
    Some(change(p, leader, isr, target, Reassignment::default()))
}

/// Leader and ISR of `p` once its replicas are `replicas`: the ISR keeps its members among
/// them, the leader stays if it is one, else the first live one in the ISR takes over (none
/// live: the partition is offline until one returns).
fn leadership_within(
    state: &MetadataState,
    p: PartitionView<'_>,
    replicas: &[BrokerId],
) -> Result<(BrokerId, Vec<BrokerId>), ControllerError> {
    let isr: Vec<BrokerId> = (p.state.isr.iter().copied())
        .filter(|id| replicas.contains(id))
        .collect();
    if isr.is_empty() {
        return Err(ControllerError::InvalidReplicaAssignment(format!(
            "no in-sync replica of {}-{} would remain among {replicas:?}; wait for them to catch up",
            p.topic.name, p.index
        )));
    }
    let leader = match isr.contains(&p.state.leader) {
        true => p.state.leader,
        false => (replicas.iter().copied())
            .find(|id| isr.contains(id) && state.is_live(*id))
            .unwrap_or(NO_LEADER),
    };
    Ok((leader, isr))
}

fn find<'a>(
    state: &'a MetadataState,
    topic: &str,
    partition: i32,
) -> Result<PartitionView<'a>, ControllerError> {
    let t =
        (state.topic_by_name(topic)).ok_or_else(|| ControllerError::UnknownTopic(topic.into()))?;
    let s = t
        .partition(partition)
        .ok_or_else(|| ControllerError::UnknownPartition {
            topic: topic.into(),
            partition,
        })?;
    Ok(PartitionView {
        topic: t,
        index: partition,
        state: s,
    })
}

/// A target must be distinct registered brokers. A fenced one is accepted, as Kafka accepts
/// it: the reassignment waits for it to return and catch up.
fn check_target(state: &MetadataState, target: &[BrokerId]) -> Result<(), ControllerError> {
    let invalid = |reason: String| Err(ControllerError::InvalidReplicaAssignment(reason));
    if target.is_empty() || target.len() > crate::ids::MAX_REPLICAS {
        return invalid(format!(
            "{} target replicas; give 1 to {}",
            target.len(),
            crate::ids::MAX_REPLICAS
        ));
    }
    if let Some(dup) = first_duplicate(target) {
        return invalid(format!("broker {dup} appears twice in the target replicas"));
    }
    match target.iter().find(|id| state.broker(**id).is_none()) {
        Some(id) => invalid(format!("broker {id} is not registered")),
        None => Ok(()),
    }
}

fn change(
    p: PartitionView<'_>,
    leader: BrokerId,
    isr: Vec<BrokerId>,
    replicas: Vec<BrokerId>,
    moving: Reassignment,
) -> MetadataRecord {
    MetadataRecord::new(Record::PartitionChange(PartitionChange {
        topic_id: p.topic.id.to_vec(),
        partition_index: p.index,
        leader,
        isr,
        replicas: Some(ReplicaList { replicas }),
        expected_partition_epoch: p.state.partition_epoch,
        reassignment: Some(moving),
    }))
}
