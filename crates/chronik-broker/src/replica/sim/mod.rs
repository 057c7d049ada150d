//! A seeded, deterministic simulation of one partition's replication: a leader and followers
//! running the real [`Progress`](super::Progress) and truncation rules
//! ([`divergence`](super::divergence)), a controller deciding with the real
//! `chronik_metadata::controller` functions, a network that loses, duplicates, delays
//! (reorders) and partitions messages, crashes and restarts that keep the durable log, and
//! clients writing with acks=all. After every tick the checker asserts that no leader's high
//! watermark exposes a record some ISR member lacks, that every acknowledged record is on
//! every ISR member and that a leader's high watermark never falls within its epoch; once the
//! faults end, that the logs converge and hold every acknowledged record.
//!
//! A failing seed replays exactly:
//! `CHRONIK_REPLICATION_SEED=N cargo test -p chronik-broker --lib replica::sim -- --nocapture`.

mod checker;
mod cluster;
mod controller;
mod network;
mod node;
mod tests;

use cluster::{Config, Sim, Stats};

/// Environment variable that narrows the simulation tests to one seed.
const SEED_ENV: &str = "CHRONIK_REPLICATION_SEED";
/// Ticks allowed after the faults end for the partition to settle.
const CALM_TICKS: u64 = 1_000;

/// One run of `cfg` from `seed`: the faults, then calm until the partition settles.
fn run(seed: u64, cfg: Config) -> Result<Stats, String> {
    let mut sim = Sim::new(seed, cfg);
    let fail = |sim: &Sim, e: String| format!("{e}\n{}", sim.report());
    for _ in 0..cfg.steps {
        sim.step().map_err(|e| fail(&sim, e))?;
    }
    sim.calm();
    for _ in 0..CALM_TICKS {
        sim.step().map_err(|e| fail(&sim, e))?;
        if sim.converged() && sim.idle() {
            break;
        }
    }
    checker::settled(&sim).map_err(|e| fail(&sim, e))?;
    Ok(sim.finish_stats())
}

/// Runs `cfg` for `seeds` (or only the seed in `CHRONIK_REPLICATION_SEED`), panics on the
/// first failure with the seed, its trace and the command that replays it, and returns the
/// summed counts.
fn run_seeds(test: &str, cfg: Config, seeds: impl IntoIterator<Item = u64>) -> Stats {
    let seeds: Vec<u64> = match std::env::var(SEED_ENV).ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => seeds.into_iter().collect(),
    };
    let mut total = Stats::default();
    for &seed in &seeds {
        match run(seed, cfg) {
            Ok(stats) => total += stats,
            Err(failure) => panic!(
                "{test} failed with seed {seed}: {failure}\n\
                 replay: {SEED_ENV}={seed} cargo test -p chronik-broker --lib replica::sim::tests::{test} -- --nocapture"
            ),
        }
    }
    println!(
        "{test}: {} seeds, {} appends ({} refused), {} acks, {} unacknowledged, {} crashes, \
         {} partitions, {} leader changes, {} fences, {} ISR changes, {} messages ({} dropped)",
        seeds.len(),
        total.appends,
        total.refused,
        total.acks,
        total.unacked,
        total.crashes,
        total.partitions,
        total.leader_changes,
        total.fences,
        total.isr_changes,
        total.sent,
        total.dropped
    );
    total
}
