//! Moving a partition's replicas to other brokers without ever holding fewer copies: first the
//! target replicas are added beside the current ones (the new ones catch up by replication and
//! their leader adds them to the ISR), then, once every target replica is in the ISR, the
//! replicas become exactly the target. The same request drives both steps: it is repeated until
//! it proposes nothing, so no reassignment state has to survive a controller failover.

use crate::MetadataRecord;
use crate::error::ControllerError;
use crate::ids::BrokerId;
use crate::proto::metadata_record::Record;
use crate::proto::{PartitionChange, ReplicaList};
use crate::state::validate::first_duplicate;
use crate::state::{MetadataState, PartitionView};

/// Where a reassignment stands after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassignStep {
    /// The target replicas were added (or are still catching up); ask again later.
    CatchingUp,
    /// The replicas are exactly the target.
    Done,
}

/// The next step of moving `topic`'s `partition` to `target` (the first is the preferred
/// leader): its records (none while new replicas catch up, or once done) and where it stands.
pub fn reassign_partition(
    state: &MetadataState,
    topic: &str,
    partition: i32,
    target: &[BrokerId],
) -> Result<(Vec<MetadataRecord>, ReassignStep), ControllerError> {
    let t =
        (state.topic_by_name(topic)).ok_or_else(|| ControllerError::UnknownTopic(topic.into()))?;
    let current = t
        .partition(partition)
        .ok_or_else(|| ControllerError::UnknownPartition {
            topic: topic.into(),
            partition,
        })?;
    check_target(state, &current.replicas, target)?;
    let view = PartitionView {
        topic: t,
        index: partition,
        state: current,
    };
    if current.replicas == target {
        return Ok((Vec::new(), ReassignStep::Done));
    }
    if !target.iter().all(|id| current.isr.contains(id)) {
        let mut grown: Vec<BrokerId> = target.to_vec();
        grown.extend(current.replicas.iter().filter(|id| !target.contains(id)));
        if grown.len() == current.replicas.len() {
            return Ok((Vec::new(), ReassignStep::CatchingUp));
        }
        let record = change(view, current.leader, current.isr.clone(), grown);
        return Ok((vec![record], ReassignStep::CatchingUp));
    }
    let isr: Vec<BrokerId> = target.to_vec();
    let leader = if target.contains(&current.leader) {
        current.leader
    } else {
        (isr.iter().copied())
            .find(|id| state.is_live(*id))
            .ok_or_else(|| ControllerError::InvalidRequest("no target replica is live".into()))?
    };
    Ok((
        vec![change(view, leader, isr, target.to_vec())],
        ReassignStep::Done,
    ))
}

/// A target must be distinct registered brokers; brokers it adds must be live.
fn check_target(
    state: &MetadataState,
    current: &[BrokerId],
    target: &[BrokerId],
) -> Result<(), ControllerError> {
    if target.is_empty() {
        return Err(ControllerError::InvalidRequest(
            "the target replica list is empty".into(),
        ));
    }
    if let Some(dup) = first_duplicate(target) {
        return Err(ControllerError::InvalidRequest(format!(
            "broker {dup} appears twice in the target replicas"
        )));
    }
    for id in target {
        match state.broker(*id) {
            None => return Err(ControllerError::UnknownBroker(*id)),
            Some(b) if b.fenced && !current.contains(id) => {
                return Err(ControllerError::BrokerFenced(*id));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn change(
    p: PartitionView<'_>,
    leader: BrokerId,
    isr: Vec<BrokerId>,
    replicas: Vec<BrokerId>,
) -> MetadataRecord {
    MetadataRecord::new(Record::PartitionChange(PartitionChange {
        topic_id: p.topic.id.to_vec(),
        partition_index: p.index,
        leader,
        isr,
        replicas: Some(ReplicaList { replicas }),
        expected_partition_epoch: p.state.partition_epoch,
    }))
}
