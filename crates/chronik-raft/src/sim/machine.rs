//! The simulator's state machine: a hash chain over every applied command.
//!
//! Two replicas with the same hash at the same index applied exactly the same commands in the
//! same order, so comparing hashes checks whole histories in O(1).

use std::cell::RefCell;
use std::rc::Rc;

use crate::{RaftError, Result, StateMachine};

/// Something a simulated state machine did, reported to the cluster's checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineEvent {
    Applied {
        node: u64,
        index: u64,
        command: Vec<u8>,
        hash: u64,
    },
    Restored {
        node: u64,
        last_index: u64,
        hash: u64,
    },
}

/// Shared sink the machines of one cluster report into (the simulator is single-threaded).
pub type EventSink = Rc<RefCell<Vec<MachineEvent>>>;

/// Hash-chain state machine; its result for each command is the hash after applying it.
pub struct SimMachine {
    node: u64,
    applied: u64,
    last_index: u64,
    hash: u64,
    sink: EventSink,
}

const SNAPSHOT_LEN: usize = 24;

impl SimMachine {
    /// An empty machine for `node` reporting into `sink`.
    pub fn new(node: u64, sink: EventSink) -> Self {
        SimMachine {
            node,
            applied: 0,
            last_index: 0,
            hash: 0,
            sink,
        }
    }

    /// (commands applied, index of the last one, hash after it).
    pub fn state(&self) -> (u64, u64, u64) {
        (self.applied, self.last_index, self.hash)
    }
}

/// FNV-1a over the previous hash, the index and the command.
fn chain(prev: u64, index: u64, command: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for byte in prev
        .to_le_bytes()
        .iter()
        .chain(&index.to_le_bytes())
        .chain(command)
    {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl StateMachine for SimMachine {
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8> {
        self.hash = chain(self.hash, index, command);
        self.applied += 1;
        self.last_index = index;
        self.sink.borrow_mut().push(MachineEvent::Applied {
            node: self.node,
            index,
            command: command.to_vec(),
            hash: self.hash,
        });
        self.hash.to_le_bytes().to_vec()
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SNAPSHOT_LEN);
        for word in [self.applied, self.last_index, self.hash] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        if snapshot.len() != SNAPSHOT_LEN {
            return Err(RaftError::InvalidSnapshot(format!(
                "expected {SNAPSHOT_LEN} bytes, got {}",
                snapshot.len()
            )));
        }
        let word = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&snapshot[i * 8..i * 8 + 8]);
            u64::from_le_bytes(bytes)
        };
        (self.applied, self.last_index, self.hash) = (word(0), word(1), word(2));
        self.sink.borrow_mut().push(MachineEvent::Restored {
            node: self.node,
            last_index: self.last_index,
            hash: self.hash,
        });
        Ok(())
    }
}
