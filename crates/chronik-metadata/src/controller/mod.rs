//! The controller's decisions: pure functions from the committed state and a request to the
//! records to propose. They never change the state; the records do, once committed.
//!
//! Records of one call are meant to be proposed together, in order: each `PartitionChange`
//! names the partition epoch it was computed against, so a decision made on an outdated state
//! is rejected by the state machine instead of applied. The caller should therefore compute
//! each decision against the state including its own not-yet-committed proposals (or wait for
//! them to commit), as KRaft's controller does.

mod alter;
mod balance;
mod elect_leaders;
mod election;
mod placement;
mod reassign;

#[cfg(test)]
mod reassign_tests;
#[cfg(test)]
mod tests;

pub use alter::{
    AlterPartitionRequest, PRODUCER_ID_BLOCK_SIZE, allocate_producer_ids, alter_partition,
};
pub use balance::balance_step;
pub use elect_leaders::{ElectionOutcome, ElectionResult, ElectionType, elect_leaders};
pub use election::{
    BrokerRegistration, fence_broker, preferred_leader_elections, register_broker, unfence_broker,
};
pub use placement::{
    NewTopic, assign_replicas, change_topic_configs, create_partitions, create_topic, delete_topic,
    manual_assignment,
};
pub use reassign::{
    ReassignStep, cancel_reassignment, reassign_partition, reassignment_steps, start_reassignment,
};

use crate::MetadataRecord;
use crate::ids::BrokerId;
use crate::proto::PartitionChange;
use crate::proto::metadata_record::Record;
use crate::state::PartitionView;

/// What every controller decision returns: the records to propose, possibly none.
pub type Decision = crate::Result<Vec<MetadataRecord>, crate::ControllerError>;

/// A change of leader and ISR of `p`, valid against its current partition epoch.
fn partition_change(p: PartitionView<'_>, leader: BrokerId, isr: Vec<BrokerId>) -> MetadataRecord {
    MetadataRecord::new(Record::PartitionChange(PartitionChange {
        topic_id: p.topic.id.to_vec(),
        partition_index: p.index,
        leader,
        isr,
        replicas: None,
        expected_partition_epoch: p.state.partition_epoch,
        reassignment: None,
    }))
}
