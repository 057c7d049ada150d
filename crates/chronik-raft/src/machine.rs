//! The replicated state machine seen by the consensus core: opaque commands in, result bytes out.

use crate::Result;

/// A deterministic state machine fed with committed commands in log order.
///
/// Determinism is the whole contract: every replica applies the same commands in the same order
/// and must reach the same state and return the same results. The core tracks which index was
/// applied last; after a restart it restores the latest snapshot and replays the log from there,
/// so `apply` need not be durable on its own.
pub trait StateMachine {
    /// Applies the command committed at `index`; the returned bytes go back to the proposer.
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8>;

    /// Serializes the whole state as of the last applied command.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the whole state with one produced by [`StateMachine::snapshot`] (on any replica).
    fn restore(&mut self, snapshot: &[u8]) -> Result<()>;
}
