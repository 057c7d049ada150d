//! Seeded election-timeout randomization for deterministic simulation.
//!
//! raft-rs draws each randomized election timeout from a thread-local RNG whenever it resets
//! (on every change of term, role or leader). A simulation must replay exactly from its seed,
//! so after each call into raft the replica notices such a change and overwrites the timeout
//! with a draw from its own seeded RNG, within raft-rs's range `[election, 2 × election)`.

use raft::{Raft, StateRole, Storage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Observable state whose change means raft-rs just reset its election timeout.
type ResetKey = (u64, StateRole, u64, u64);

pub(super) struct ElectionJitter {
    rng: StdRng,
    seen: Option<ResetKey>,
}

impl ElectionJitter {
    pub(super) fn new(seed: u64) -> Self {
        ElectionJitter {
            rng: StdRng::seed_from_u64(seed),
            seen: None,
        }
    }

    pub(super) fn rerandomize<T: Storage>(&mut self, raft: &mut Raft<T>) {
        let key = (raft.term, raft.state, raft.leader_id, raft.vote);
        if self.seen == Some(key) {
            return;
        }
        self.seen = Some(key);
        let base = raft.election_timeout();
        let timeout = self.rng.random_range(base..2 * base);
        raft.set_randomized_election_timeout(timeout);
    }
}
