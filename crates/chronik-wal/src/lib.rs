//! Chronik's storage engine.
//!
//! A data dir holds one log per partition (`DIR/partitions/<topic>-<partition>/`). A log is a
//! run of segment files of CRC-protected frames, each frame carrying one Kafka RecordBatch byte
//! for byte. A data dir's flusher threads fsync for many appenders at once (group commit), each
//! log when its flush policy (the dir's `--fsync`, or its own `flush.messages`/`flush.ms`)
//! makes it due.
//! Opening a log recovers it: whatever follows the first torn or corrupt frame is cut, and a
//! segment swap (a log cleaner's rewrite) that a crash interrupted is completed or discarded.

mod config;
mod dir;
mod durable;
mod epoch;
mod error;
mod flusher;
pub mod frame;
mod index;
pub mod inspect;
mod log;
mod offsets;
mod pending;
mod read;
mod recovery;
mod rewrite;
pub mod scan;
mod seal;
mod segment;
mod segment_batches;
mod swap;
mod swap_files;
mod syncer;
mod together;
mod trim;
mod txn_check;
mod txns;

pub use config::{
    FlushPolicy, LogConfig, MAX_SEGMENT_BYTES, MIN_INDEX_INTERVAL_BYTES, MIN_SEGMENT_BYTES,
};
pub use dir::{
    DataDir, DirLock, DiskSpace, LOCK_FILE, PARTITIONS_DIR, WalOptions, list_partitions,
};
pub use durable::Durable;
pub use epoch::{EPOCH_CHECKPOINT_FILE, EpochCache, EpochEntry};
pub use error::{Result, WalError};
pub use flusher::FlushStatsSnapshot;
pub use index::{OffsetEntry, SegmentIndex, TimeEntry};
pub use log::{AppendInfo, PartitionLog, SegmentInfo};
pub use offsets::{CLEANER_OFFSET_FILE, LOG_START_FILE, TOPIC_ID_FILE};
pub use read::{ReadBatches, TimestampOffset};
pub use recovery::{Cut, RecoveryOptions, RecoveryReport, plan_recovery};
pub use rewrite::SegmentRewrite;
pub use segment::{index_file_name, parse_segment_file_name, segment_file_name};
pub use segment_batches::{SegmentBatch, SegmentBatches};
pub use swap::{SwapOutcome, SwapReport};
pub use swap_files::{InterruptedSwap, SwapState, interrupted_swaps};
pub use syncer::{FdataSync, Syncer};
pub use together::appends_together;
pub use trim::RetentionReport;
pub use txns::{AbortedTxn, OpenTxns, SegmentTxns};
