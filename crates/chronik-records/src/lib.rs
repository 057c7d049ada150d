//! The Kafka RecordBatch v2 wire format, protocol-agnostic and shared by the storage engine, the
//! protocol layer, the broker and the client.
//!
//! A produce request's records are split and validated once ([`split_batches`]); the resulting
//! [`ValidBatch`]es carry the parsed [`BatchHeader`] through the produce path, so neither the
//! log append nor the idempotent-producer check reads the header bytes again. Records inside a
//! batch are not decoded: the broker stores batches verbatim.

mod build;
mod control;
mod error;
mod header;
mod rewrite;
mod split;
mod timestamps;
mod validate;
mod write;

pub use build::{build_batch, build_transactional_batch};
pub use control::{TxnMarker, build_marker_batch, read_marker};
pub use error::{BatchError, RecordsError, Result};
pub use header::{
    BATCH_HEADER_LEN, BatchHeader, Compression, ProducerFields, StoredBatches, wrapping_seq,
};
pub use rewrite::{recompute_crc, set_base_offset, set_partition_leader_epoch, set_producer};
pub use split::{ValidBatch, batch_len, split_batches, split_stored_batches};
pub use timestamps::{first_record_at_or_after, set_log_append_time};
pub use validate::{crc_matches, validate_batch, validate_stored_batch};
pub use write::seal_batch;
