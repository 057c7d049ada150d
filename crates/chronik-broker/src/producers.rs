//! Idempotent-producer state of one partition: for each producer id, its epoch and the last
//! few batches it wrote, so a retried batch is answered with its original offsets and a gap in
//! the sequence numbers is refused (docs/architecture.md, "Produce").
//!
//! Pure logic: the produce path asks [`ProducerStates::check`] before appending and calls
//! [`ProducerStates::record`] after; recovery replays stored batch headers through `record`.

use std::collections::{HashMap, VecDeque};

use chronik_records::{BatchHeader, ProducerFields, StoredBatches, TxnMarker, wrapping_seq};

use txn::TxnIndex;

/// Batches remembered per producer (Kafka keeps the last 5: a producer has at most 5 in flight).
const CACHED_BATCHES: usize = 5;

/// Producers remembered per partition; beyond it the least recently active ones are forgotten
/// (their next batch then needs sequence 0 again), so memory stays bounded.
pub(crate) const MAX_PRODUCERS: usize = 20_000;

/// A batch already written: its sequence range and where it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WrittenBatch {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<WrittenBatch>,
    /// Log offset of the producer's latest batch: its recency for eviction.
    last_offset: i64,
    /// First offset of the producer's open transaction in this partition.
    txn_first: Option<i64>,
    /// Transactions of the producer ended here since this broker loaded the partition: a
    /// verification made before a marker must not let a batch into the next transaction.
    txn_ends: u32,
    /// Largest timestamp of its latest batch (DescribeProducers).
    last_timestamp: i64,
    /// The coordinator epoch of its latest marker (-1: none): a marker from an older
    /// coordinator is refused.
    coordinator_epoch: i32,
}

/// One producer as DescribeProducers shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerSummary {
    pub producer_id: i64,
    pub epoch: i16,
    /// The last sequence written (-1: none, e.g. only markers).
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// First offset of its open transaction here (-1: none).
    pub txn_start_offset: i64,
}

/// What a transactional batch was verified against (KIP-890): the producer's transactions
/// ended in the partition when its coordinator said the partition is in its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TxnGuard {
    producer_id: i64,
    txn_ends: u32,
}

/// Why an idempotent producer's batch is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SequenceError {
    #[error(
        "producer epoch {epoch} is older than the partition's {current}: a newer producer took over"
    )]
    StaleEpoch { epoch: i16, current: i16 },
    #[error("sequence {got} does not follow the last written batch (expected {expected})")]
    OutOfOrder { got: i32, expected: i32 },
    #[error(
        "a transaction marker from coordinator epoch {epoch}, older than the partition's {current}: a newer coordinator took over"
    )]
    StaleCoordinator { epoch: i32, current: i32 },
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqCheck {
    /// Append it.
    Append,
    /// A retry of a batch already written: answer with its offsets, append nothing.
    Duplicate(WrittenBatch),
    /// Refuse it.
    Reject(SequenceError),
}

/// Producer state of one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
    /// Open transactions.
    txns: TxnIndex,
}

impl ProducerStates {
    /// Decides on a batch from `p`, following Kafka's sequence rules.
    pub fn check(&self, p: &ProducerFields) -> SeqCheck {
        let Some(entry) = self.producers.get(&p.producer_id) else {
            // Kafka accepts any sequence from a producer the partition knows nothing of (its
            // state may have been evicted or its batches deleted by retention).
            return SeqCheck::Append;
        };
        if p.epoch < entry.epoch {
            return SeqCheck::Reject(SequenceError::StaleEpoch {
                epoch: p.epoch,
                current: entry.epoch,
            });
        }
        if p.epoch > entry.epoch {
            // A bumped epoch restarts the sequence.
            return first_batch_rule(p.first_seq);
        }
        if let Some(written) =
            (entry.batches.iter()).find(|b| b.first_seq == p.first_seq && b.last_seq == p.last_seq)
        {
            return SeqCheck::Duplicate(*written);
        }
        match entry.batches.back() {
            Some(last) if p.first_seq == wrapping_seq(last.last_seq, 1) => SeqCheck::Append,
            None => SeqCheck::Append,
            Some(last) => SeqCheck::Reject(SequenceError::OutOfOrder {
                got: p.first_seq,
                expected: wrapping_seq(last.last_seq, 1),
            }),
        }
    }

    /// Remembers a batch written at `base_offset..=last_offset` whose largest timestamp is
    /// `timestamp`.
    pub fn record(
        &mut self,
        p: &ProducerFields,
        (base_offset, last_offset): (i64, i64),
        timestamp: i64,
    ) {
        let entry = self
            .producers
            .entry(p.producer_id)
            .or_insert_with(|| ProducerEntry::new(p.epoch, last_offset));
        if p.epoch != entry.epoch {
            entry.epoch = p.epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == CACHED_BATCHES {
            entry.batches.pop_front();
        }
        entry.batches.push_back(WrittenBatch {
            first_seq: p.first_seq,
            last_seq: p.last_seq,
            base_offset,
            last_offset,
        });
        entry.last_offset = last_offset;
        entry.last_timestamp = timestamp;
        if self.producers.len() > MAX_PRODUCERS {
            self.evict_oldest();
        }
    }

    /// Replays every stored batch in `batches` (whole v2 batches as a log read returns them).
    pub fn replay(&mut self, batches: &[u8]) {
        for (bytes, header) in StoredBatches::new(batches) {
            self.apply_stored(bytes, &header);
        }
    }

    /// Takes in one batch as stored (replayed, or replicated from the leader): its producer's
    /// sequence, a transaction it opens, or the transaction a marker ends. Batches without a
    /// producer id change nothing.
    pub fn apply_stored(&mut self, bytes: &[u8], header: &BatchHeader) {
        let Some(p) = header.producer() else {
            return;
        };
        if header.is_control() {
            if let Some(marker) = chronik_records::read_marker(bytes) {
                self.end_txn(p.producer_id, p.epoch, marker, header.base_offset);
            }
            return;
        }
        let offsets = (header.base_offset, header.last_offset());
        self.record(&p, offsets, header.max_timestamp);
        if header.is_transactional() {
            self.txn_written(p.producer_id, header.base_offset);
        }
    }

    /// Whether a transactional batch of `producer_id` needs its coordinator's word that the
    /// partition is in its transaction: only when none is open here. The guard returned must
    /// still hold when the batch is appended ([`ProducerStates::check_txn_batch`]).
    pub fn txn_guard(&self, producer_id: i64) -> Option<TxnGuard> {
        let entry = self.producers.get(&producer_id);
        if entry.is_some_and(|e| e.txn_first.is_some()) {
            return None;
        }
        Some(TxnGuard {
            producer_id,
            txn_ends: entry.map_or(0, |e| e.txn_ends),
        })
    }

    /// Whether a transactional batch of `producer_id` may be appended: it continues the open
    /// transaction, or its verification (`guard`) was made since the last one ended here.
    pub fn check_txn_batch(&self, producer_id: i64, guard: Option<TxnGuard>) -> bool {
        let entry = self.producers.get(&producer_id);
        if entry.is_some_and(|e| e.txn_first.is_some()) {
            return true;
        }
        let ends = entry.map_or(0, |e| e.txn_ends);
        guard.is_some_and(|g| g.producer_id == producer_id && g.txn_ends == ends)
    }

    /// A transactional batch of `producer_id` was written at `base_offset`: the first one
    /// opens its transaction here.
    pub fn txn_written(&mut self, producer_id: i64, base_offset: i64) {
        if let Some(entry) = self.producers.get_mut(&producer_id)
            && entry.txn_first.is_none()
        {
            entry.txn_first = Some(base_offset);
            self.txns.open(base_offset, producer_id);
        }
    }

    /// Whether a marker (or transactional offsets) from `producer_id` at `epoch` may be
    /// written: not from an epoch older than the producer's, nor from a coordinator older
    /// than the one that wrote its last marker (`coordinator_epoch`; -1 skips that check).
    pub fn check_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), SequenceError> {
        match self.producers.get(&producer_id) {
            Some(entry) if epoch < entry.epoch => Err(SequenceError::StaleEpoch {
                epoch,
                current: entry.epoch,
            }),
            Some(entry)
                if coordinator_epoch >= 0 && coordinator_epoch < entry.coordinator_epoch =>
            {
                Err(SequenceError::StaleCoordinator {
                    epoch: coordinator_epoch,
                    current: entry.coordinator_epoch,
                })
            }
            _ => Ok(()),
        }
    }

    /// Every producer this partition knows, by producer id.
    pub fn summaries(&self) -> Vec<ProducerSummary> {
        let mut out: Vec<ProducerSummary> = (self.producers.iter())
            .map(|(id, e)| ProducerSummary {
                producer_id: *id,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_seq),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                txn_start_offset: e.txn_first.unwrap_or(-1),
            })
            .collect();
        out.sort_by_key(|s| s.producer_id);
        out
    }

    /// A marker written at `marker_offset` ended `producer_id`'s transaction here (the log's
    /// segment index keeps an abort for read_committed fetches). A marker with a newer epoch (a
    /// transaction aborted on timeout, fencing its producer) restarts the sequence.
    pub fn end_txn(&mut self, producer_id: i64, epoch: i16, marker: TxnMarker, marker_offset: i64) {
        let entry = (self.producers.entry(producer_id))
            .or_insert_with(|| ProducerEntry::new(epoch, marker_offset));
        entry.coordinator_epoch = entry.coordinator_epoch.max(marker.coordinator_epoch);
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.last_offset = marker_offset;
        entry.txn_ends = entry.txn_ends.wrapping_add(1);
        if let Some(first) = entry.txn_first.take() {
            self.txns.close(first);
        }
    }

    /// The first offset of the earliest open transaction: the last stable offset cannot pass it.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.txns.first_open()
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Each known producer's id and the last offset of its latest batch: the batches the log
    /// cleaner must keep, so this state survives cleaning.
    pub fn last_offsets(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        (self.producers.iter()).map(|(id, entry)| (*id, entry.last_offset))
    }

    fn evict_oldest(&mut self) {
        // A producer with an open transaction stays: its marker must find it.
        let oldest = (self.producers.iter())
            .filter(|(_, e)| e.txn_first.is_none())
            .min_by_key(|(_, e)| e.last_offset)
            .map(|(id, _)| *id);
        if let Some(id) = oldest {
            self.producers.remove(&id);
        }
    }
}

impl ProducerEntry {
    fn new(epoch: i16, last_offset: i64) -> Self {
        ProducerEntry {
            epoch,
            batches: VecDeque::new(),
            last_offset,
            txn_first: None,
            txn_ends: 0,
            last_timestamp: -1,
            coordinator_epoch: -1,
        }
    }
}

/// A known producer starting a new epoch must start at sequence 0.
fn first_batch_rule(first_seq: i32) -> SeqCheck {
    if first_seq == 0 {
        SeqCheck::Append
    } else {
        SeqCheck::Reject(SequenceError::OutOfOrder {
            got: first_seq,
            expected: 0,
        })
    }
}

mod snapshot;
mod txn;

pub(crate) use snapshot::{
    decode as decode_snapshot, encode as encode_snapshot, load_snapshot, remove_snapshot,
    save_snapshot,
};

#[cfg(test)]
mod tests;
