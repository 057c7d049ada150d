//! The in-place rewrites the log and idempotent producers make. Kafka's CRC-32C covers
//! everything from `attributes` on, so rewriting the base offset and the partition leader epoch
//! keeps the producer's CRC valid.

use chronik_types::{LeaderEpoch, Offset};

use crate::header::{
    ATTRIBUTES, BASE_OFFSET, BASE_SEQUENCE, BATCH_HEADER_LEN, CRC, LEADER_EPOCH, PRODUCER_EPOCH,
    PRODUCER_ID,
};

/// Rewrites the base offset (not covered by the CRC-32C).
pub fn set_base_offset(batch: &mut [u8], offset: Offset) {
    batch[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&offset.to_be_bytes());
}

/// Rewrites the partition leader epoch (not covered by the CRC-32C).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: LeaderEpoch) {
    batch[LEADER_EPOCH..LEADER_EPOCH + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Marks a batch as written by idempotent producer `producer_id` at `epoch`, starting at
/// `base_sequence`, and recomputes its CRC-32C. Batches shorter than a header are left alone.
pub fn set_producer(batch: &mut [u8], producer_id: i64, epoch: i16, base_sequence: i32) {
    if batch.len() < BATCH_HEADER_LEN {
        return;
    }
    batch[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
    batch[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&epoch.to_be_bytes());
    batch[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&base_sequence.to_be_bytes());
    recompute_crc(batch);
}

/// Recomputes the CRC-32C after the covered bytes changed (tests and fuzzing forge batches
/// this way). Batches shorter than a header are left alone.
pub fn recompute_crc(batch: &mut [u8]) {
    if batch.len() < BATCH_HEADER_LEN {
        return;
    }
    let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}
