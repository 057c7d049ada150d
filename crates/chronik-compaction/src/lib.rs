//! The pure decision logic of Kafka log compaction (`cleanup.policy=compact`) over stored
//! RecordBatch v2 bytes. No file I/O: the broker's cleaner task reads segments, drives these
//! functions and swaps the rewritten segments in through chronik-wal. The produce path shares
//! its record-level reading of batches: the keys and timestamp range of a produced batch, and
//! recompression with the topic's `compression.type` ([`recompress_batch`]).
//!
//! One pass, as Kafka's `Cleaner.doClean` runs it:
//! 1. [`assess`] each compacted log ([`filthiest`] picks one) to get the range
//!    `[first dirty, first uncleanable)`.
//! 2. Fill a [`KeyMap`] with the batches of that range ([`KeyMap::map_batch`]) until they run
//!    out or the map is full; [`KeyMap::end`] is where the map's coverage ends and the next
//!    pass starts (the new cleaner checkpoint).
//! 3. Run every batch of the segments from the log start up to the one holding
//!    `end - 1` through [`filter_batch`], writing what it returns into the new segments.
//!
//! Choices, each following Kafka's source (`LogCleaner.scala`, `MemoryRecords.filterTo`):
//! - Exact keys under a byte budget rather than MD5 digests (see [`KeyMap`]). A full map stops
//!   at a record, not a batch boundary: records past its end are kept untouched.
//! - Tombstones follow KIP-534 (Kafka 3.1+): the first pass that keeps a tombstone stamps its
//!   batch with a delete horizon (`now + delete.retention.ms`, stored in the base timestamp
//!   under attribute bit 0x40); a later pass at or after the horizon removes the tombstone.
//!   Kafka's older rule, which compares segment modification times, needs file metadata.
//! - A rewritten batch keeps its base offset, last offset delta, producer id, epoch, base
//!   sequence, leader epoch, flags and codec (`buildRetainedRecordsInto`); a batch that keeps
//!   every record and needs no horizon is copied byte for byte.
//! - An active idempotent producer's last batch, and the last batch before the first
//!   uncleanable offset, stay as empty batches when all their records go (`RETAIN_EMPTY`).
//! - Control and transactional batches are kept unchanged and not mapped: the cleaner does
//!   not resolve transactions (removing aborted data and spent markers is not built).

mod batch;
mod codec;
mod error;
mod filter;
mod key_map;
mod keys;
mod recompress;
mod record;
mod schedule;
mod varint;

pub use codec::Codec;
pub use error::{CompactionError, Result};
pub use filter::{ActiveProducers, BatchFate, CleanPolicy, Filtered, filter_batch};
pub use key_map::{DEFAULT_UNCOMPRESSED_LIMIT, ENTRY_OVERHEAD, KeyMap, MapProgress};
pub use keys::{first_unkeyed_record, timestamp_range, unkeyed_records};
pub use recompress::recompress_batch;
pub use schedule::{
    CleanableOffsets, CleaningCandidate, CompactionConfig, LogFacts, SegmentFacts, assess,
    cleanable_offsets, filthiest,
};
