//! The simulation's seeds: regression seeds of faults it found, fixed seeds, and fresh random
//! seeds on every run (printed on failure, replayable with `CHRONIK_REPLICATION_SEED`).

use super::cluster::Config;
use super::network::LOSSY;
use super::{run, run_seeds};

/// Three replicas, `min.insync.replicas=2`: one broker down at a time, frequent cuts.
fn steady() -> Config {
    Config {
        replicas: 3,
        min_isr: 2,
        steps: 2_000,
        faults: LOSSY,
        append: 0.3,
        crash: 0.004,
        restart: 0.01,
        partition: 0.006,
        heal: 0.01,
        preferred_election: 0.01,
        max_down: 1,
    }
}

/// `min.insync.replicas=1`: the ISR shrinks to the leader alone and grows back, and all but one
/// broker may be down.
fn storm() -> Config {
    Config {
        min_isr: 1,
        crash: 0.01,
        restart: 0.015,
        partition: 0.01,
        max_down: 2,
        ..steady()
    }
}

fn five() -> Config {
    Config {
        replicas: 5,
        max_down: 2,
        ..storm()
    }
}

/// A seed of a fault the simulation found: the scenario, the seed, the fault.
type Regression = (fn() -> Config, u64, &'static str);

/// Each fails while its fault's fix is undone.
const REGRESSIONS: &[Regression] = &[
    (
        steady,
        0,
        "the high watermark passed a member the controller had just added to the ISR",
    ),
    (
        five,
        2167112518815023306,
        "a replica rejoined the ISR below records the previous leader had acknowledged",
    ),
];

/// Fresh seeds for this run, so every `cargo test` explores new schedules: `count`, or as
/// many as `CHRONIK_REPLICATION_SEEDS` says (for longer sweeps).
fn fresh(count: u64) -> impl Iterator<Item = u64> {
    let count = (std::env::var("CHRONIK_REPLICATION_SEEDS").ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(count);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (0..count).map(move |i| t.wrapping_mul(6364136223846793005).wrapping_add(i))
}

#[test]
fn sim_regression_seeds() {
    for (cfg, seed, _) in REGRESSIONS {
        run_seeds("sim_regression_seeds", cfg(), [*seed]);
    }
}

#[test]
fn sim_steady_three_replicas() {
    run_seeds(
        "sim_steady_three_replicas",
        steady(),
        (0..10).chain(fresh(5)),
    );
}

#[test]
fn sim_storm_three_replicas() {
    run_seeds("sim_storm_three_replicas", storm(), (0..10).chain(fresh(5)));
}

#[test]
fn sim_storm_five_replicas() {
    run_seeds("sim_storm_five_replicas", five(), (0..5).chain(fresh(3)));
}

#[test]
fn a_seed_replays_exactly() {
    let a = run(7, storm()).expect("seed 7");
    let b = run(7, storm()).expect("seed 7 again");
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}
