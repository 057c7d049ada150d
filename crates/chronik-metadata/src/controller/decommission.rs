//! Retiring a broker without losing a copy: once an operator decommissions it, nothing new is
//! placed on it, its replicas move to the placeable brokers holding the fewest (each move a
//! reassignment, so the partition keeps its copies until the new one is in sync), and once it
//! holds no replica it is fenced and stays fenced. The work is in the metadata (the broker's
//! `decommissioning` flag and the running reassignments), so a new controller carries on.

use std::collections::BTreeMap;

use crate::MetadataRecord;
use crate::controller::reassign::start_reassignment;
use crate::controller::{Decision, fence_broker};
use crate::error::ControllerError;
use crate::ids::BrokerId;
use crate::proto::DecommissionBroker;
use crate::proto::metadata_record::Record;
use crate::state::{MetadataState, PartitionView};

/// Replica moves running at once, at most, while brokers are decommissioned: enough to keep
/// the work going, few enough that catching up does not starve the clients' traffic.
pub const MAX_DECOMMISSION_MOVES: usize = 4;

/// Starts (or with `cancel` stops) decommissioning `broker`; nothing when it already is (or
/// is not).
pub fn decommission_broker(state: &MetadataState, broker: BrokerId, cancel: bool) -> Decision {
    let b = state
        .broker(broker)
        .ok_or(ControllerError::UnknownBroker(broker))?;
    if b.decommissioning != cancel {
        return Ok(Vec::new());
    }
    Ok(vec![MetadataRecord::new(Record::DecommissionBroker(
        DecommissionBroker {
            broker_id: broker,
            cancel,
        },
    ))])
}

/// Partitions `broker` still holds a replica of (counting both sides of a running
/// reassignment).
pub fn replicas_held(state: &MetadataState, broker: BrokerId) -> usize {
    state
        .partitions()
        .filter(|p| p.state.replicas.contains(&broker))
        .count()
}

/// The controller loop's part: moves of replicas off decommissioning brokers, up to
/// [`MAX_DECOMMISSION_MOVES`] running reassignments, and the fencing of a decommissioning
/// broker left with none.
pub fn decommission_steps(state: &MetadataState) -> Vec<MetadataRecord> {
    let retiring: Vec<BrokerId> = (state.brokers())
        .filter(|b| b.decommissioning)
        .map(|b| b.id)
        .collect();
    // The common case, on every pass of the controller loop: nothing to retire.
    if retiring.is_empty() {
        return Vec::new();
    }
    let mut records = Vec::new();
    for &broker in &retiring {
        if replicas_held(state, broker) == 0 && state.is_live(broker) {
            records.extend(fence_broker(state, broker).unwrap_or_default());
        }
    }
    if !records.is_empty() {
        return records;
    }
    let running = state
        .partitions()
        .filter(|p| p.state.is_reassigning())
        .count();
    let mut load = replica_load(state);
    let mut started = 0;
    for p in state.partitions() {
        if running + started >= MAX_DECOMMISSION_MOVES {
            break;
        }
        let Some(&gone) = p.state.replicas.iter().find(|r| retiring.contains(r)) else {
            continue;
        };
        if p.state.is_reassigning() {
            continue;
        }
        let Some(to) = least_loaded_outside(&load, p) else {
            continue;
        };
        let target: Vec<BrokerId> = (p.state.replicas.iter())
            .map(|id| if *id == gone { to } else { *id })
            .collect();
        if let Ok(moved) = start_reassignment(state, &p.topic.name, p.index, &target) {
            records.extend(moved);
            started += 1;
            *load.entry(to).or_default() += 1;
        }
    }
    records
}

/// Replicas held by each placeable broker.
fn replica_load(state: &MetadataState) -> BTreeMap<BrokerId, usize> {
    let mut load: BTreeMap<BrokerId, usize> =
        state.placeable_brokers().map(|b| (b.id, 0)).collect();
    for p in state.partitions() {
        for r in &p.state.replicas {
            if let Some(n) = load.get_mut(r) {
                *n += 1;
            }
        }
    }
    load
}

/// The placeable broker holding the fewest replicas that is not already a replica of `p`.
fn least_loaded_outside(
    load: &BTreeMap<BrokerId, usize>,
    p: PartitionView<'_>,
) -> Option<BrokerId> {
    (load.iter())
        .filter(|(id, _)| !p.state.replicas.contains(id))
        .min_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
        .map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{create_topic, replica_steps, unfence_broker};
    use crate::error::ErrorKind;
    use crate::testing::{apply_all, change, cluster, create_topic as topic_record, topic_id};

    /// Runs the controller loop until it has nothing left to do, letting every new replica
    /// catch up (its leader adds it to the ISR) whenever the loop waits for one.
    fn settle(state: &mut MetadataState) {
        for _ in 0..100 {
            let records = replica_steps(state, true);
            if !records.is_empty() {
                apply_all(state, &records);
                continue;
            }
            let lagging = state.partitions().find(|p| {
                p.state.is_reassigning()
                    && !(p.state.target_replicas().iter()).all(|r| p.state.isr.contains(r))
            });
            let Some(p) = lagging else { return };
            let (index, leader) = (p.index, p.state.leader);
            let (replicas, epoch) = (p.state.replicas.clone(), p.state.partition_epoch);
            apply_all(state, &[change(7, index, leader, &replicas, epoch)]);
        }
        panic!("the controller loop did not settle");
    }

    fn decommission(state: &mut MetadataState, broker: BrokerId, cancel: bool) {
        let records = decommission_broker(state, broker, cancel).expect("known broker");
        apply_all(state, &records);
    }

    #[test]
    fn a_decommissioned_broker_hands_over_every_replica_then_stays_fenced() {
        let mut state = cluster(4);
        let placement: Vec<&[BrokerId]> =
            vec![&[1, 4], &[4, 2], &[3, 4], &[4, 1], &[2, 3], &[4, 3]];
        apply_all(&mut state, &[topic_record("t", 7, &placement)]);
        decommission(&mut state, 4, false);
        assert!(
            decommission_broker(&state, 4, false)
                .expect("again")
                .is_empty(),
            "asking twice changes nothing"
        );
        // Nothing new goes to it meanwhile.
        let new = crate::controller::NewTopic {
            name: "new".into(),
            topic_id: topic_id(8),
            partitions: 6,
            replication_factor: 3,
            configs: Default::default(),
            assignment: Vec::new(),
        };
        let records = create_topic(&state, &new).expect("3 placeable brokers");
        apply_all(&mut state, &records);
        settle(&mut state);
        assert_eq!(replicas_held(&state, 4), 0);
        assert!(
            state
                .partitions()
                .all(|p| p.state.replicas.len() == p.topic.partitions[0].replicas.len())
        );
        assert!(
            state
                .broker(4)
                .is_some_and(|b| b.fenced && b.decommissioning)
        );
        let refused = unfence_broker(&state, 4).expect_err("stays fenced");
        assert!(matches!(refused, ControllerError::BrokerDecommissioned(4)));
        // 30 replicas on the 3 others, evened out by the balancer meanwhile.
        for b in 1..=3 {
            let held = replicas_held(&state, b);
            assert!((9..=11).contains(&held), "broker {b} holds {held}");
        }
        // A snapshot and a new registration keep it decommissioned.
        let restored =
            MetadataState::from_snapshot_bytes(&state.to_snapshot_bytes()).expect("restores");
        assert!(restored.broker(4).is_some_and(|b| b.decommissioning));
        apply_all(&mut state, &[crate::testing::register_incarnation(4, 9)]);
        assert!(state.broker(4).is_some_and(|b| b.decommissioning));
    }

    #[test]
    fn cancelling_keeps_what_moved_and_lets_the_broker_back() {
        let mut state = cluster(3);
        apply_all(&mut state, &[topic_record("t", 7, &[&[3, 1]])]);
        decommission(&mut state, 3, false);
        settle(&mut state);
        assert!(state.broker(3).is_some_and(|b| b.fenced));
        decommission(&mut state, 3, true);
        assert!(state.broker(3).is_some_and(|b| !b.decommissioning));
        let records = unfence_broker(&state, 3).expect("may come back");
        apply_all(&mut state, &records);
        assert!(state.is_live(3));
        let unknown = decommission_broker(&state, 9, false).expect_err("unknown broker");
        assert_eq!(unknown.kind(), ErrorKind::BrokerNotLive);
    }

    #[test]
    fn a_replica_with_nowhere_to_go_stays_and_the_broker_is_not_fenced() {
        let mut state = cluster(2);
        apply_all(&mut state, &[topic_record("t", 7, &[&[1, 2]])]);
        decommission(&mut state, 2, false);
        assert!(
            decommission_steps(&state).is_empty(),
            "no third broker to move to"
        );
        assert_eq!(replicas_held(&state, 2), 1);
        assert!(state.is_live(2));
    }
}
