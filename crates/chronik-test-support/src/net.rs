//! A simulated network for deterministic simulations: every message gets a random delay (so
//! messages reorder), may be lost or delivered twice, and never crosses a partition. All
//! randomness comes from the caller's seeded generator, so a run replays from its seed.

use std::collections::BTreeMap;

use rand::Rng;
use rand::rngs::StdRng;

/// How hostile the network is.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Probability that a message is lost.
    pub drop: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Largest delivery delay, in the simulation's time units.
    pub max_delay: u64,
}

/// What the network did, for failure messages and run summaries.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetStats {
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub delivered: u64,
}

/// Messages `M` between nodes `N`; `route` names a message's sender and receiver.
pub struct SimNetwork<N, M> {
    faults: Faults,
    route: fn(&M) -> (N, N),
    seq: u64,
    /// Messages in flight, keyed by (delivery time, send sequence).
    in_flight: BTreeMap<(u64, u64), M>,
    /// Partition side of each node; nodes talk only within a side (absent = side 0).
    side: BTreeMap<N, u64>,
    next_side: u64,
    stats: NetStats,
}

impl<N: Ord + Copy, M: Clone> SimNetwork<N, M> {
    pub fn new(faults: Faults, route: fn(&M) -> (N, N)) -> Self {
        SimNetwork {
            faults,
            route,
            seq: 0,
            in_flight: BTreeMap::new(),
            side: BTreeMap::new(),
            next_side: 1,
            stats: NetStats::default(),
        }
    }

    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Sends `msg` at time `now`: lost, or due once or twice after a random delay.
    pub fn send(&mut self, rng: &mut StdRng, now: u64, msg: M) {
        self.stats.sent += 1;
        let (from, to) = (self.route)(&msg);
        if !self.connected(from, to) || rng.random_bool(self.faults.drop) {
            self.stats.dropped += 1;
            return;
        }
        let copies = if rng.random_bool(self.faults.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now + rng.random_range(1..=self.faults.max_delay.max(1));
            self.seq += 1;
            self.in_flight.insert((at, self.seq), msg.clone());
        }
    }

    /// The next message due at `now`, if any; one that now crosses a partition is lost.
    pub fn pop_due(&mut self, now: u64) -> Option<M> {
        loop {
            let entry = self.in_flight.first_entry()?;
            if entry.key().0 > now {
                return None;
            }
            let msg = entry.remove();
            let (from, to) = (self.route)(&msg);
            if self.connected(from, to) {
                self.stats.delivered += 1;
                return Some(msg);
            }
            self.stats.dropped += 1;
        }
    }

    pub fn connected(&self, a: N, b: N) -> bool {
        self.side.get(&a).copied().unwrap_or(0) == self.side.get(&b).copied().unwrap_or(0)
    }

    /// Cuts `node` off from everyone.
    pub fn isolate(&mut self, node: N) {
        self.split(&[node]);
    }

    /// Puts `group` on a side of its own, apart from everyone else.
    pub fn split(&mut self, group: &[N]) {
        for node in group {
            self.side.insert(*node, self.next_side);
        }
        self.next_side += 1;
    }

    pub fn heal(&mut self) {
        self.side.clear();
    }

    pub fn is_partitioned(&self) -> bool {
        !self.side.is_empty()
    }

    /// Nothing in flight.
    pub fn idle(&self) -> bool {
        self.in_flight.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::{Faults, SimNetwork};

    #[test]
    fn messages_arrive_only_within_a_side_and_replay_by_seed() {
        let faults = Faults {
            drop: 0.1,
            duplicate: 0.1,
            max_delay: 5,
        };
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut net = SimNetwork::new(faults, |m: &(u8, u8, u32)| (m.0, m.1));
            net.split(&[3]);
            for i in 0..200 {
                net.send(&mut rng, i / 4, (1, 2 + (i % 2) as u8, i as u32));
            }
            let mut got = Vec::new();
            for now in 0..100 {
                while let Some(m) = net.pop_due(now) {
                    got.push(m);
                }
            }
            assert!(got.iter().all(|m| m.1 == 2), "nothing crossed to node 3");
            assert!(net.idle());
            got
        };
        assert_eq!(run(7), run(7), "one seed, one delivery order");
        assert_ne!(run(7), run(8));
    }
}
