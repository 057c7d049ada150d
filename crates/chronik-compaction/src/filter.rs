//! Filtering one batch against a pass's key map, as Kafka's cleaner does with
//! `MemoryRecords.filterTo` and the `RecordFilter` of `Cleaner.cleanInto`.

use std::collections::HashMap;
use std::ops::Range;

use chronik_records::BatchHeader;
use chronik_types::Offset;

use crate::batch::{
    check_batch, delete_horizon, is_log_append_time, rebuilt_header, records_of, write_empty,
};
use crate::codec::compress_into;
use crate::key_map::{DEFAULT_UNCOMPRESSED_LIMIT, KeyMap};
use crate::record::{RecordView, Records};
use crate::{CompactionError, Result};

/// For each idempotent producer still active, the last offset of its last data batch (what
/// the broker's producer state holds). That batch is kept, emptied if need be, so the
/// producer's epoch and last sequence survive cleaning (Kafka's `RETAIN_EMPTY`).
#[derive(Debug, Clone, Default)]
pub struct ActiveProducers {
    last_offsets: HashMap<i64, Offset>,
}

impl ActiveProducers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Says that `producer_id`'s last data batch ends at `last_offset`.
    pub fn insert(&mut self, producer_id: i64, last_offset: Offset) {
        self.last_offsets.insert(producer_id, last_offset);
    }

    /// Takes a data batch read in log order into account, for callers that build the map by
    /// scanning the log rather than from producer state.
    pub fn observe(&mut self, header: &BatchHeader) {
        if header.producer_id < 0 || header.is_control() {
            return;
        }
        let last = self
            .last_offsets
            .entry(header.producer_id)
            .or_insert(Offset::MIN);
        *last = (*last).max(header.last_offset());
    }

    pub fn last_offset(&self, producer_id: i64) -> Option<Offset> {
        self.last_offsets.get(&producer_id).copied()
    }

    fn holds_last_batch_of(&self, header: &BatchHeader) -> bool {
        header.producer_id >= 0
            && self.last_offset(header.producer_id) == Some(header.last_offset())
    }
}

/// What the caller knows at cleaning time.
#[derive(Debug, Clone, Copy)]
pub struct CleanPolicy<'a> {
    /// The cleaner's clock (ms since the epoch), taken once per pass like Kafka's.
    pub now_ms: i64,
    /// The topic's `delete.retention.ms`.
    pub delete_retention_ms: i64,
    pub active_producers: &'a ActiveProducers,
    /// Batches whose records decompress to more than this are refused.
    pub uncompressed_limit: usize,
}

impl<'a> CleanPolicy<'a> {
    pub fn new(
        now_ms: i64,
        delete_retention_ms: i64,
        active_producers: &'a ActiveProducers,
    ) -> Self {
        Self {
            now_ms,
            delete_retention_ms,
            active_producers,
            uncompressed_limit: DEFAULT_UNCOMPRESSED_LIMIT,
        }
    }
}

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFate {
    /// Every record kept and nothing to stamp: the original bytes were copied.
    Unchanged,
    /// Rebuilt around the kept records (or to stamp a delete horizon), with its codec.
    Rewritten,
    /// No record kept, but the batch stays as an empty header: it is an active producer's last
    /// batch, or the last batch before the first uncleanable offset.
    Emptied,
    /// Nothing written.
    Removed,
}

/// The outcome of [`filter_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtered {
    pub fate: BatchFate,
    /// Where the written batch lies in the caller's output buffer; `None` when removed.
    pub retained: Option<Range<usize>>,
    pub records_read: usize,
    pub records_kept: usize,
    pub bytes_read: usize,
    pub bytes_written: usize,
    /// The delete horizon of the tombstones the written batch still holds: a pass at or after
    /// it removes them (the caller schedules one, as Kafka's cleaner does for logs whose
    /// tombstones expired).
    pub delete_horizon: Option<i64>,
}

/// Filters one stored batch against `map` and appends what remains of it to `out`.
///
/// A record is kept when it lies at or past the map's end (not covered by this pass), or when
/// it has a key whose latest offset in the map is not after it, unless it is a tombstone whose
/// batch carries a delete horizon that has passed. Records without a key are removed (Kafka
/// counts them as invalid; compacted topics refuse them on produce). Control and
/// transactional batches are kept as they are: the cleaner does not resolve transactions.
///
/// A batch left with no record is removed, unless it is an active producer's last batch or
/// it ends where the map's dirty range ends (Kafka's `upperBoundOffsetOfCleaningRound`, so
/// the log's last offset survives): those stay as empty batches.
///
/// On error `out` is left as it was.
pub fn filter_batch(
    batch: &[u8],
    map: &KeyMap,
    policy: &CleanPolicy<'_>,
    out: &mut Vec<u8>,
) -> Result<Filtered> {
    let header = check_batch(batch)?;
    let records_read = usize::try_from(header.records_count).unwrap_or(0);
    if header.is_control() || header.is_transactional() {
        return Ok(copy_unchanged(batch, records_read, records_read, out));
    }
    let records = records_of(batch, &header, policy.uncompressed_limit)?;
    let rule = Rule {
        map,
        now_ms: policy.now_ms,
        horizon: delete_horizon(&header),
    };
    let survey = survey(&header, &records, &rule)?;
    if survey.kept == 0 {
        return keep_empty_or_remove(&header, batch.len(), map, policy, out);
    }
    let stamp_horizon = survey.kept_tombstone && rule.horizon.is_none();
    let horizon = match stamp_horizon {
        true => Some(policy.now_ms.saturating_add(policy.delete_retention_ms)),
        false => rule.horizon,
    };
    let delete_horizon = horizon.filter(|_| survey.kept_tombstone);
    if survey.kept == survey.read && !stamp_horizon {
        let unchanged = copy_unchanged(batch, survey.read, survey.kept, out);
        return Ok(Filtered {
            delete_horizon,
            ..unchanged
        });
    }
    let start = out.len();
    let written = rebuild(&header, &records, &rule, &survey, horizon, out);
    if written.is_err() {
        out.truncate(start);
    }
    written?;
    Ok(Filtered {
        fate: BatchFate::Rewritten,
        retained: Some(start..out.len()),
        records_read: survey.read,
        records_kept: survey.kept,
        bytes_read: batch.len(),
        bytes_written: out.len() - start,
        delete_horizon,
    })
}

/// Kafka's `shouldRetainRecord`, with the pass's map and clock.
struct Rule<'m> {
    map: &'m KeyMap,
    now_ms: i64,
    /// The batch's delete horizon, stamped by an earlier pass.
    horizon: Option<i64>,
}

impl Rule<'_> {
    fn keeps(&self, record: &RecordView<'_>) -> bool {
        if record.offset >= self.map.end() {
            return true;
        }
        let Some(key) = record.key else {
            return false;
        };
        let superseded = (self.map.latest_offset(key)).is_some_and(|latest| record.offset < latest);
        let tombstone_expired =
            record.is_tombstone && self.horizon.is_some_and(|h| self.now_ms >= h);
        !superseded && !tombstone_expired
    }
}

/// The first walk: what would be kept.
struct Survey {
    read: usize,
    kept: usize,
    kept_tombstone: bool,
    first_kept_timestamp: i64,
    max_kept_timestamp: i64,
}

fn survey(header: &BatchHeader, records: &[u8], rule: &Rule<'_>) -> Result<Survey> {
    let mut s = Survey {
        read: 0,
        kept: 0,
        kept_tombstone: false,
        first_kept_timestamp: 0,
        // Kafka's builder starts from "no timestamp" (-1) and only raises it.
        max_kept_timestamp: -1,
    };
    for record in Records::new(header, records) {
        let record = record?;
        s.read += 1;
        if !rule.keeps(&record) {
            continue;
        }
        let timestamp = header.base_timestamp.wrapping_add(record.timestamp_delta);
        if s.kept == 0 {
            s.first_kept_timestamp = timestamp;
        }
        s.kept += 1;
        s.kept_tombstone |= record.is_tombstone;
        s.max_kept_timestamp = s.max_kept_timestamp.max(timestamp);
    }
    Ok(s)
}

/// The second walk: the kept records rebased on the new base timestamp (the delete horizon
/// when there is one, as KIP-534 stores it, else the first kept record's), then compressed
/// with the batch's codec.
fn rebuild(
    header: &BatchHeader,
    records: &[u8],
    rule: &Rule<'_>,
    survey: &Survey,
    horizon: Option<i64>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let base_timestamp = horizon.unwrap_or(survey.first_kept_timestamp);
    let max_timestamp = match is_log_append_time(header) {
        true => header.max_timestamp,
        false => survey.max_kept_timestamp,
    };
    let count = i32::try_from(survey.kept).unwrap_or(i32::MAX);
    let new_header = rebuilt_header(
        header,
        base_timestamp,
        max_timestamp,
        count,
        horizon.is_some(),
    );
    let too_large = |size| CompactionError::RewrittenTooLarge {
        base_offset: header.base_offset,
        size,
    };
    let mut plain = Vec::with_capacity(records.len());
    for record in Records::new(header, records) {
        let record = record?;
        if rule.keeps(&record) {
            // Absolute timestamps are kept; wrapping matches Java's long arithmetic.
            let timestamp = header.base_timestamp.wrapping_add(record.timestamp_delta);
            (record.write_rebased(&mut plain, timestamp.wrapping_sub(base_timestamp)))
                .ok_or_else(|| too_large(records.len()))?;
        }
    }
    let start = out.len();
    new_header.write_to(out);
    compress_into(header, &plain, out)?;
    let size = out.len() - start;
    chronik_records::seal_batch(&mut out[start..]).map_err(|_| too_large(size))
}

fn keep_empty_or_remove(
    header: &BatchHeader,
    bytes_read: usize,
    map: &KeyMap,
    policy: &CleanPolicy<'_>,
    out: &mut Vec<u8>,
) -> Result<Filtered> {
    let records_read = usize::try_from(header.records_count).unwrap_or(0);
    // Kafka keeps the last batch before the first uncleanable offset (its
    // `upperBoundOffsetOfCleaningRound`) so the log's last offset is not lost.
    let ends_round = header.last_offset().saturating_add(1) == map.dirty_range().end;
    let mut filtered = Filtered {
        fate: BatchFate::Removed,
        retained: None,
        records_read,
        records_kept: 0,
        bytes_read,
        bytes_written: 0,
        delete_horizon: None,
    };
    if policy.active_producers.holds_last_batch_of(header) || ends_round {
        let start = out.len();
        if let Err(e) = write_empty(header, out) {
            out.truncate(start);
            return Err(e);
        }
        filtered.fate = BatchFate::Emptied;
        filtered.retained = Some(start..out.len());
        filtered.bytes_written = out.len() - start;
    }
    Ok(filtered)
}

fn copy_unchanged(batch: &[u8], read: usize, kept: usize, out: &mut Vec<u8>) -> Filtered {
    let start = out.len();
    out.extend_from_slice(batch);
    Filtered {
        fate: BatchFate::Unchanged,
        retained: Some(start..out.len()),
        records_read: read,
        records_kept: kept,
        bytes_read: batch.len(),
        bytes_written: batch.len(),
        delete_horizon: None,
    }
}
