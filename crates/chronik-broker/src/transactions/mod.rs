//! Transactions (KIP-98): the transaction coordinator and its state in `__transaction_state`.
//!
//! - [`state`] is Kafka's state machine of one transactional id, pure (time is a parameter).
//! - [`records`] is the Kafka format of its records.
//! - [`coordinator::TxnCoordinator`] holds the ids of every `__transaction_state` partition
//!   this broker leads, loads them from the partition's log when it becomes leader, writes each
//!   transition there before answering, and aborts transactions past their timeout.
//! - [`markers`] writes the commit or abort markers to every partition of a prepared
//!   transaction (through this broker's partition layer, or WriteTxnMarkers to the partition's
//!   leader), then records the transaction complete. A coordinator that loads a prepared
//!   transaction finishes it.
//!
//! The partition side (open transactions, the last stable offset, aborted transactions for
//! read_committed fetches) is in `producers` and `partition`.

mod coordinator;
mod markers;
mod records;
mod state;
mod verify;

pub(crate) use coordinator::{CoordError, TxnCoordinator, Verified};
pub(crate) use markers::write_markers;
pub(crate) use state::{EndProtocol, TxnError, TxnMetadata, TxnState};
pub(crate) use verify::VERIFY_VERSION;

/// The internal topic holding transaction state.
pub(crate) const TXN_TOPIC: &str = "__transaction_state";

/// Partitions of `__transaction_state` (Kafka defaults to 50; 8, as for the offsets topic,
/// spreads coordinators over a small cluster without many idle logs).
pub(crate) const TXN_PARTITIONS: i32 = 8;

/// Longest transactional id accepted: it must fit a stored record's i16-length string.
pub(crate) const MAX_TXN_ID_BYTES: usize = i16::MAX as usize;
