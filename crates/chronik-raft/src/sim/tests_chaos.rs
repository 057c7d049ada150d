//! Randomized chaos: crashes, restarts, partitions, loss, duplication and reordering while
//! proposals flow; then the network heals and the cluster must recover within a bound.

use rand::Rng;

use super::{Cluster, RELIABLE, SimConfig, run_seeds};

/// Simulated time units of chaos per seed (1,000 ticks: 100 election timeouts).
const CHAOS_STEPS: u64 = 10_000;
/// After healing: ticks allowed to elect a leader, commit a probe, and converge.
pub(super) const LIVENESS_TICKS: u64 = 60;

/// Per-step probabilities of each fault.
#[derive(Clone, Copy)]
struct Chaos {
    crash: f64,
    restart: f64,
    partition: f64,
    heal: f64,
    /// Most nodes down at once.
    max_down: usize,
}

impl Chaos {
    /// Occasional faults; a majority stays up so the cluster makes progress.
    fn steady(nodes: u64) -> Self {
        Chaos {
            crash: 0.002,
            restart: 0.004,
            partition: 0.002,
            heal: 0.004,
            max_down: ((nodes - 1) / 2) as usize,
        }
    }

    /// Frequent crashes (even of a majority) and partitions: elections everywhere.
    fn storm(nodes: u64) -> Self {
        Chaos {
            crash: 0.01,
            restart: 0.02,
            partition: 0.01,
            heal: 0.01,
            max_down: nodes as usize - 1,
        }
    }
}

/// At most one random fault per step: crash, restart, partition or heal.
fn chaos_event(cluster: &mut Cluster, chaos: Chaos) -> Result<(), String> {
    let roll: f64 = cluster.rng().random();
    let ids = cluster.node_ids();
    let down = cluster.down_nodes();
    let pick = |c: &mut Cluster, from: &[u64]| from[c.rng().random_range(0..from.len())];
    let mut edge = chaos.crash;
    if roll < edge {
        if down.len() < chaos.max_down {
            let up: Vec<u64> = ids
                .iter()
                .copied()
                .filter(|id| !down.contains(id))
                .collect();
            let victim = pick(cluster, &up);
            cluster.crash(victim)?;
        }
        return Ok(());
    }
    edge += chaos.restart;
    if roll < edge {
        if !down.is_empty() {
            let back = pick(cluster, &down);
            cluster.restart(back)?;
        }
        return Ok(());
    }
    edge += chaos.partition;
    if roll < edge {
        let victim = pick(cluster, &ids);
        if cluster.rng().random_bool(0.5) {
            cluster.isolate(victim);
        } else {
            let size = cluster.rng().random_range(1..=ids.len() / 2);
            let group: Vec<u64> = (0..size).map(|_| pick(cluster, &ids)).collect();
            cluster.split(&group);
        }
        return Ok(());
    }
    if roll < edge + chaos.heal {
        cluster.heal();
    }
    Ok(())
}

/// Proposes to the leader most of the time, to a random node otherwise (usually refused).
fn maybe_propose(cluster: &mut Cluster, seed: u64, counter: &mut u64) -> Result<(), String> {
    if !cluster.rng().random_bool(0.1) {
        return Ok(());
    }
    let ids = cluster.node_ids();
    let target = match cluster.leader() {
        Some(leader) if cluster.rng().random_bool(0.8) => leader,
        _ => ids[cluster.rng().random_range(0..ids.len())],
    };
    *counter += 1;
    cluster.propose(target, format!("s{seed}-c{counter}").into_bytes())?;
    Ok(())
}

/// Commits `command` once the cluster is healthy, retrying if a leader change drops it;
/// returns the ticks it took.
pub(super) fn commit(cluster: &mut Cluster, command: &[u8]) -> Result<u64, String> {
    let mut ticks = 0;
    for _ in 0..5 {
        ticks += cluster.run_until(LIVENESS_TICKS, "a leader", |c| c.leader().is_some())?;
        let leader = cluster.leader().ok_or("leader vanished")?;
        if let Some(request) = cluster.propose(leader, command.to_vec())? {
            ticks += cluster.run_until(LIVENESS_TICKS, "the proposal to settle", |c| {
                c.outcome(request).is_some() || c.is_dropped(request)
            })?;
            if cluster.outcome(request).is_some() {
                return Ok(ticks);
            }
        }
    }
    Err(format!(
        "could not commit {command:?} in 5 attempts ({})",
        cluster.describe()
    ))
}

/// Heals everything; within [`LIVENESS_TICKS`] a leader must be elected, commit a probe, and
/// every node must converge to the same state. Returns the ticks it took.
pub(super) fn heal_and_converge(cluster: &mut Cluster) -> Result<u64, String> {
    cluster.heal();
    cluster.set_faults(RELIABLE);
    for id in cluster.down_nodes() {
        cluster.restart(id)?;
    }
    let mut ticks = commit(cluster, b"probe")?;
    let ids = cluster.node_ids();
    ticks += cluster.run_until(LIVENESS_TICKS, "convergence after healing", |c| {
        c.converged(&ids)
    })?;
    if ticks > LIVENESS_TICKS {
        return Err(format!(
            "recovery after healing took {ticks} ticks, more than {LIVENESS_TICKS} ({})",
            cluster.describe()
        ));
    }
    Ok(ticks)
}

fn chaos(seed: u64, nodes: u64, profile: Chaos) -> Result<(), String> {
    let mut cluster = Cluster::new(SimConfig::new(seed, nodes))?;
    let mut counter = 0;
    for step in 0..CHAOS_STEPS {
        chaos_event(&mut cluster, profile)?;
        maybe_propose(&mut cluster, seed, &mut counter)?;
        cluster.step().map_err(|e| format!("at step {step}: {e}"))?;
    }
    heal_and_converge(&mut cluster)?;
    if cluster.committed_entries() < 10 {
        return Err(format!(
            "only {} entries committed under chaos: no progress ({})",
            cluster.committed_entries(),
            cluster.describe()
        ));
    }
    Ok(())
}

#[test]
fn sim_chaos_three_nodes() {
    run_seeds("sim_chaos_three_nodes", 50, |seed| {
        chaos(seed, 3, Chaos::steady(3))
    });
}

#[test]
fn sim_chaos_five_nodes() {
    run_seeds("sim_chaos_five_nodes", 50, |seed| {
        chaos(seed, 5, Chaos::steady(5))
    });
}

#[test]
fn sim_crash_storm_three_nodes() {
    run_seeds("sim_crash_storm_three_nodes", 50, |seed| {
        chaos(seed, 3, Chaos::storm(3))
    });
}

#[test]
fn sim_crash_storm_five_nodes() {
    run_seeds("sim_crash_storm_five_nodes", 50, |seed| {
        chaos(seed, 5, Chaos::storm(5))
    });
}

/// The same seed yields the same history, so a failing seed can be replayed.
#[test]
fn sim_same_seed_replays_identically() {
    let run = |seed: u64| -> Result<String, String> {
        let mut cluster = Cluster::new(SimConfig::new(seed, 5))?;
        let mut counter = 0;
        for _ in 0..1_500 {
            chaos_event(&mut cluster, Chaos::storm(5))?;
            maybe_propose(&mut cluster, seed, &mut counter)?;
            cluster.step()?;
        }
        let stats = cluster.net_stats();
        Ok(format!(
            "{} {:?} {}",
            cluster.describe(),
            stats,
            cluster.committed_entries()
        ))
    };
    run_seeds("sim_same_seed_replays_identically", 5, |seed| {
        let (first, second) = (run(seed)?, run(seed)?);
        if first == second {
            Ok(())
        } else {
            Err(format!("two runs differ:\n{first}\n{second}"))
        }
    });
}
