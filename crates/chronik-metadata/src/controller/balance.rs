//! Evening out replicas across live brokers (a new broker gets its share), one partition move
//! at a time, each a reassignment (see `reassign`). The balancer keeps no state of its own: the
//! reassignment in progress is in the metadata, so a new controller picks up where the last one
//! stopped.

use std::collections::BTreeMap;

use crate::MetadataRecord;
use crate::controller::reassign::{reassignment_steps, start_reassignment};
use crate::ids::BrokerId;
use crate::state::{MetadataState, PartitionView};

/// The next records toward balance: finishing reassignments whose new replicas are in sync,
/// else, when none runs, starting one move from the broker with the most replicas to the one
/// with the fewest when they differ by more than one. Nothing while a reassignment catches up.
pub fn balance_step(state: &MetadataState) -> Vec<MetadataRecord> {
    let finishing = reassignment_steps(state);
    match finishing.is_empty() {
        true => balance_move(state),
        false => finishing,
    }
}

/// One move toward balance, when no reassignment runs (the balancer never moves a partition
/// someone else is moving, and moves one at a time).
pub(crate) fn balance_move(state: &MetadataState) -> Vec<MetadataRecord> {
    match state.partitions().any(|p| p.state.is_reassigning()) {
        true => Vec::new(),
        false => start_move(state),
    }
}

fn start_move(state: &MetadataState) -> Vec<MetadataRecord> {
    let mut load: BTreeMap<BrokerId, usize> =
        state.placeable_brokers().map(|b| (b.id, 0)).collect();
    if load.len() < 2 {
        return Vec::new();
    }
    for p in state.partitions() {
        for r in &p.state.replicas {
            if let Some(n) = load.get_mut(r) {
                *n += 1;
            }
        }
    }
    let Some((&most, &high)) = load.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else {
        return Vec::new();
    };
    let Some((&least, &low)) = load.iter().min_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0))) else {
        return Vec::new();
    };
    if high <= low + 1 {
        return Vec::new();
    }
    let movable = |p: &PartitionView<'_>| {
        p.state.replicas.contains(&most)
            && !p.state.replicas.contains(&least)
            && p.state.isr.len() == p.state.replicas.len()
            && p.state.replicas.iter().all(|id| state.is_live(*id))
    };
    let Some(p) = state.partitions().find(movable) else {
        return Vec::new();
    };
    let target: Vec<BrokerId> = (p.state.replicas.iter())
        .map(|id| if *id == most { least } else { *id })
        .collect();
    start_reassignment(state, &p.topic.name, p.index, &target).unwrap_or_default()
}
