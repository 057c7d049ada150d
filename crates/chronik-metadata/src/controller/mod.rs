//! The controller's decisions: pure functions from the committed state and a request to the
//! records to propose. They never change the state; the records do, once committed.
//!
//! Records of one call are meant to be proposed together, in order: each `PartitionChange`
//! names the partition epoch it was computed against, so a decision made on an outdated state
//! is rejected by the state machine instead of applied. The caller should therefore compute
//! each decision against the state including its own not-yet-committed proposals (or wait for
//! them to commit), as KRaft's controller does.

mod acls;
mod alter;
mod balance;
mod configs;
mod decommission;
mod elect_leaders;
mod election;
mod placement;
mod quotas;
mod reassign;
mod remote_segments;
mod scram;

#[cfg(test)]
mod reassign_tests;
#[cfg(test)]
mod tests;

pub use acls::{AclDeletion, create_acl, delete_acls};
pub use alter::{
    AlterPartitionRequest, PRODUCER_ID_BLOCK_SIZE, allocate_producer_ids, alter_partition,
};
pub use balance::balance_step;
pub use configs::change_configs;
pub use decommission::{
    MAX_DECOMMISSION_MOVES, decommission_broker, decommission_steps, replicas_held,
};
pub use elect_leaders::{ElectionOutcome, ElectionResult, ElectionType, elect_leaders};
pub use election::{
    BrokerRegistration, fence_broker, preferred_leader_elections, register_broker, unfence_broker,
};
pub use placement::{
    NewTopic, assign_replicas, create_partitions, create_topic, delete_topic, manual_assignment,
};
pub use quotas::alter_client_quota;
pub use reassign::{
    ReassignStep, cancel_reassignment, reassign_partition, reassignment_steps, start_reassignment,
};
pub use remote_segments::{change_remote_segment, move_remote_log_start};
pub use scram::alter_scram_credential;

use crate::MetadataRecord;
use crate::ids::BrokerId;
use crate::proto::PartitionChange;
use crate::proto::metadata_record::Record;
use crate::state::PartitionView;

/// The controller loop's replica work, in order of precedence: finishing reassignments whose
/// target is in sync, moving replicas off decommissioning brokers (and fencing those left with
/// none), then, with `auto_balance`, evening out replicas over the brokers.
pub fn replica_steps(state: &crate::MetadataState, auto_balance: bool) -> Vec<MetadataRecord> {
    let finishing = reassignment_steps(state);
    if !finishing.is_empty() {
        return finishing;
    }
    let decommissioning = decommission_steps(state);
    if !decommissioning.is_empty() || !auto_balance {
        return decommissioning;
    }
    balance::balance_move(state)
}

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
