//! Deterministic simulation of whole clusters of the real replica core.
//!
//! A seeded RNG drives a network that drops, delays, duplicates, reorders and partitions
//! messages, plus crashes and restarts that keep only synced storage; a checker asserts Raft's
//! safety properties after every step. A failing seed replays exactly:
//! `CHRONIK_SIM_SEED=N cargo test -p chronik-raft <test name>`.

mod checker;
mod cluster;
mod machine;
mod network;

#[cfg(test)]
mod tests_chaos;
#[cfg(test)]
mod tests_scenarios;

pub use cluster::{Cluster, SimConfig, TICK};
pub use machine::{EventSink, MachineEvent, SimMachine};
pub use network::{Faults, LOSSY, NetStats, RELIABLE};

/// Environment variable that narrows a simulation test to one seed.
pub const SEED_ENV: &str = "CHRONIK_SIM_SEED";

/// Runs `scenario` for seeds `0..count` (or only the seed in `CHRONIK_SIM_SEED`) and panics
/// on the first failure with the seed and the command that replays it.
pub fn run_seeds(test: &str, count: u64, scenario: impl Fn(u64) -> Result<(), String>) {
    let seeds: Vec<u64> = match std::env::var(SEED_ENV).ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..count).collect(),
    };
    for seed in seeds {
        if let Err(failure) = scenario(seed) {
            panic!(
                "{test} failed with seed {seed}: {failure}\n\
                 replay: {SEED_ENV}={seed} cargo test -p chronik-raft {test}"
            );
        }
    }
}
