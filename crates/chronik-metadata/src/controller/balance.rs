//! Evening out replicas across live brokers (a new broker gets its share), one partition move
//! at a time through [`reassign_partition`]. The balancer keeps no state of its own: a
//! partition with more replicas than the rest of its topic is a move in progress whose target is
//! its first replicas (reassignment puts the target first), so a new controller picks up where
//! the last one stopped.

use std::collections::BTreeMap;

use crate::MetadataRecord;
use crate::controller::reassign::reassign_partition;
use crate::ids::BrokerId;
use crate::state::{MetadataState, PartitionView, Topic};

/// The next records toward balance: finishing the move in progress once its new replicas are
/// in sync, else starting one move from the broker with the most replicas to the one with the
/// fewest when they differ by more than one. Nothing while a move catches up.
pub fn balance_step(state: &MetadataState) -> Vec<MetadataRecord> {
    let mut catching_up = false;
    for p in state.partitions() {
        let rf = replication_factor(p.topic);
        if p.state.replicas.len() <= rf {
            continue;
        }
        let target = &p.state.replicas[..rf];
        if target.iter().all(|id| p.state.isr.contains(id)) {
            if let Ok((records, _)) = reassign_partition(state, &p.topic.name, p.index, target) {
                return records;
            }
        } else {
            catching_up = true;
        }
    }
    if catching_up {
        return Vec::new();
    }
    start_move(state)
}

/// The replica count most partitions of `topic` have (the smaller on a tie).
fn replication_factor(topic: &Topic) -> usize {
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for p in &topic.partitions {
        *counts.entry(p.replicas.len()).or_default() += 1;
    }
    (counts.iter())
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map_or(0, |(rf, _)| *rf)
}

fn start_move(state: &MetadataState) -> Vec<MetadataRecord> {
    let mut load: BTreeMap<BrokerId, usize> = state.live_brokers().map(|b| (b.id, 0)).collect();
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
    match reassign_partition(state, &p.topic.name, p.index, &target) {
        Ok((records, _)) => records,
        Err(_) => Vec::new(),
    }
}
