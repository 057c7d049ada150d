//! Requests brokers make of the controller besides registration: ISR changes from partition
//! leaders (Kafka's AlterPartition) and blocks of producer ids.

use chronik_types::LeaderEpoch;

use crate::MetadataRecord;
use crate::controller::{Decision, partition_change};
use crate::error::ControllerError;
use crate::ids::{BrokerId, TopicId};
use crate::proto::AllocateProducerIds;
use crate::proto::metadata_record::Record;
use crate::state::validate::first_duplicate;
use crate::state::{MetadataState, PartitionState, PartitionView, Topic};

/// How many producer ids a broker gets at a time (as in Kafka).
pub const PRODUCER_ID_BLOCK_SIZE: i32 = 1000;

/// A partition leader asking to shrink or expand the ISR. It carries the epochs the leader
/// saw, so a deposed leader or a request raced by another change is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionRequest {
    pub broker_id: BrokerId,
    pub topic_id: TopicId,
    pub partition: i32,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: i32,
    pub new_isr: Vec<BrokerId>,
}

/// Validates an ISR change: the requester must be the current leader at the current leader
/// epoch and partition epoch; the new ISR must be distinct replicas containing the leader, and
/// members it adds must be live. Proposes nothing when the ISR is already as asked.
pub fn alter_partition(state: &MetadataState, req: &AlterPartitionRequest) -> Decision {
    let topic = state
        .topic(&req.topic_id)
        .ok_or(ControllerError::UnknownTopicId(req.topic_id))?;
    let current = require_leader(state, topic, req.partition, req.broker_id, req.leader_epoch)?;
    if req.partition_epoch != current.partition_epoch {
        return Err(ControllerError::StalePartitionEpoch {
            requested: req.partition_epoch,
            current: current.partition_epoch,
        });
    }
    check_new_isr(state, current, &req.new_isr)?;
    if req.new_isr == current.isr {
        return Ok(Vec::new());
    }
    let view = PartitionView {
        topic,
        index: req.partition,
        state: current,
    };
    Ok(vec![partition_change(
        view,
        current.leader,
        req.new_isr.clone(),
    )])
}

/// Hands a live broker the next block of producer ids.
pub fn allocate_producer_ids(state: &MetadataState, broker: BrokerId) -> Decision {
    require_live(state, broker)?;
    let first_id = state.next_producer_id();
    first_id
        .checked_add(i64::from(PRODUCER_ID_BLOCK_SIZE))
        .ok_or(ControllerError::ProducerIdsExhausted)?;
    let record = AllocateProducerIds {
        broker_id: broker,
        first_id,
        count: PRODUCER_ID_BLOCK_SIZE,
    };
    Ok(vec![MetadataRecord::new(Record::AllocateProducerIds(
        record,
    ))])
}

/// Partition `index` of `topic`, if `broker` is live and leads it at `leader_epoch`.
pub(super) fn require_leader<'a>(
    state: &MetadataState,
    topic: &'a Topic,
    index: i32,
    broker: BrokerId,
    leader_epoch: LeaderEpoch,
) -> Result<&'a PartitionState, ControllerError> {
    let partition = topic
        .partition(index)
        .ok_or_else(|| ControllerError::UnknownPartition {
            topic: topic.name.clone(),
            partition: index,
        })?;
    require_live(state, broker)?;
    if leader_epoch != partition.leader_epoch {
        return Err(ControllerError::FencedLeaderEpoch {
            requested: leader_epoch,
            current: partition.leader_epoch,
        });
    }
    if broker != partition.leader {
        return Err(ControllerError::NotLeader {
            requester: broker,
            leader: partition.leader,
        });
    }
    Ok(partition)
}

pub(super) fn require_live(state: &MetadataState, broker: BrokerId) -> Result<(), ControllerError> {
    match state.broker(broker) {
        None => Err(ControllerError::UnknownBroker(broker)),
        Some(b) if b.fenced => Err(ControllerError::BrokerFenced(broker)),
        Some(_) => Ok(()),
    }
}

fn check_new_isr(
    state: &MetadataState,
    current: &PartitionState,
    isr: &[BrokerId],
) -> Result<(), ControllerError> {
    let invalid = |reason: String| ControllerError::InvalidIsr {
        isr: isr.to_vec(),
        reason,
    };
    if isr.len() > current.replicas.len() {
        return Err(invalid(
            "it has more members than the partition has replicas".into(),
        ));
    }
    if !isr.contains(&current.leader) {
        return Err(invalid(format!(
            "it must contain the leader {}",
            current.leader
        )));
    }
    if let Some(outsider) = isr.iter().find(|id| !current.replicas.contains(id)) {
        return Err(invalid(format!("{outsider} is not a replica")));
    }
    if let Some(dup) = first_duplicate(isr) {
        return Err(invalid(format!("{dup} appears twice")));
    }
    let added = isr
        .iter()
        .find(|id| !current.isr.contains(id) && !state.is_live(**id));
    match added {
        Some(id) => Err(ControllerError::IneligibleReplica(*id)),
        None => Ok(()),
    }
}
