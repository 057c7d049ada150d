//! Targeted scenarios: snapshot catch-up, membership changes, leadership transfer.

use super::tests_chaos::{LIVENESS_TICKS, commit, heal_and_converge};
use super::{Cluster, RELIABLE, SimConfig, run_seeds};
use crate::{ApplyOutcome, MembershipChange, Role};

/// Proposes `count` commands through whoever leads, stepping between them.
fn load(cluster: &mut Cluster, tag: &str, count: u64) -> Result<(), String> {
    for i in 0..count {
        cluster.run_until(LIVENESS_TICKS, "a leader", |c| c.leader().is_some())?;
        if let Some(leader) = cluster.leader() {
            cluster.propose(leader, format!("{tag}-{i}").into_bytes())?;
        }
        for _ in 0..3 {
            cluster.step()?;
        }
    }
    Ok(())
}

/// A follower away (crashed, or cut off) while the log is compacted past it must catch up
/// through a snapshot.
fn lagging_follower(seed: u64) -> Result<(), String> {
    let mut cluster = Cluster::new(SimConfig::new(seed, 3))?;
    cluster.run_until(LIVENESS_TICKS, "first leader", |c| c.leader().is_some())?;
    let leader = cluster.leader().ok_or("no leader")?;
    let laggard = if leader == 3 { 2 } else { 3 };
    let crashed = seed.is_multiple_of(2);
    if crashed {
        cluster.crash(laggard)?;
    } else {
        cluster.isolate(laggard);
    }
    load(&mut cluster, "lag", 300)?;
    cluster.heal();
    heal_and_converge(&mut cluster)?;
    if cluster.snapshots_installed(laggard) == 0 {
        return Err(format!(
            "node {laggard} caught up without a snapshot although the log was compacted ({})",
            cluster.describe()
        ));
    }
    Ok(())
}

#[test]
fn sim_lagging_node_catches_up_through_snapshot() {
    run_seeds(
        "sim_lagging_node_catches_up_through_snapshot",
        20,
        lagging_follower,
    );
}

/// Proposes `change` until it applies; returns the resulting voters.
fn apply_change(cluster: &mut Cluster, change: MembershipChange) -> Result<Vec<u64>, String> {
    for _ in 0..10 {
        cluster.run_until(LIVENESS_TICKS, "a leader", |c| c.leader().is_some())?;
        let request = match cluster.change_membership(change)? {
            Ok(request) => request,
            Err(_) => {
                cluster.run_ticks(5)?;
                continue;
            }
        };
        cluster.run_until(LIVENESS_TICKS, "the change to settle", |c| {
            c.outcome(request).is_some() || c.is_dropped(request)
        })?;
        match cluster.outcome(request) {
            Some(ApplyOutcome::Membership(conf)) => {
                let mut voters = conf.voters.clone();
                voters.sort_unstable();
                return Ok(voters);
            }
            Some(other) => return Err(format!("{change:?} applied as {other:?}")),
            None => continue,
        }
    }
    Err(format!("{change:?} never applied ({})", cluster.describe()))
}

fn add_then_remove(seed: u64) -> Result<(), String> {
    let mut cluster = Cluster::new(SimConfig::new(seed, 3))?;
    load(&mut cluster, "before", 100)?;
    cluster.add_node(4)?;
    let voters = apply_change(&mut cluster, MembershipChange::AddVoter(4))?;
    if voters != [1, 2, 3, 4] {
        return Err(format!("after adding 4 the voters are {voters:?}"));
    }
    load(&mut cluster, "four", 50)?;
    heal_and_converge(&mut cluster)?;
    if cluster.snapshots_installed(4) == 0 {
        return Err("node 4 joined without a snapshot".into());
    }
    let leader = cluster.leader().ok_or("no leader")?;
    let gone = [1, 2, 3, 4]
        .into_iter()
        .find(|id| *id != leader)
        .ok_or("no follower")?;
    let voters = apply_change(&mut cluster, MembershipChange::RemoveVoter(gone))?;
    if voters.contains(&gone) || voters.len() != 3 {
        return Err(format!("after removing {gone} the voters are {voters:?}"));
    }
    cluster.remove_node(gone);
    load(&mut cluster, "three", 50)?;
    heal_and_converge(&mut cluster)?;
    let leader = cluster
        .leader()
        .and_then(|id| cluster.status(id))
        .ok_or("no leader")?;
    if leader.voters != voters {
        return Err(format!(
            "leader reports voters {:?}, expected {voters:?}",
            leader.voters
        ));
    }
    Ok(())
}

#[test]
fn sim_add_and_remove_voter() {
    run_seeds("sim_add_and_remove_voter", 20, add_then_remove);
}

fn transfer(seed: u64) -> Result<(), String> {
    let mut config = SimConfig::new(seed, 3);
    config.faults = RELIABLE;
    let mut cluster = Cluster::new(config)?;
    commit(&mut cluster, b"warm-up")?;
    let leader = cluster.leader().ok_or("no leader")?;
    let target = if leader == 1 { 2 } else { 1 };
    let status = cluster.status(leader).ok_or("leader down")?;
    cluster.run_until(LIVENESS_TICKS, "target caught up", |c| {
        c.status(target)
            .is_some_and(|s| s.applied_index == status.applied_index)
    })?;
    cluster
        .transfer_leader(leader, target)
        .map_err(|e| format!("transfer refused: {e}"))?;
    cluster.run_until(LIVENESS_TICKS, "leadership to move", |c| {
        c.status(target).is_some_and(|s| s.role == Role::Leader)
    })?;
    commit(&mut cluster, b"after-transfer")?;
    Ok(())
}

#[test]
fn sim_leadership_transfer() {
    run_seeds("sim_leadership_transfer", 10, transfer);
}
