//! Checking the cleaned log rather than trusting the cleaner's report: every stored batch is
//! validated (CRC-32C) and decoded with kafka-protocol's decoder (independent of the cleaner's
//! own record code), and every record is held against what was written: each live key's
//! latest record present exactly once with its value, nothing else left of any key, no
//! tombstone left once its horizon passed.

use anyhow::{Context, Result};
use bytes::Bytes;
use chronik_wal::PartitionLog;
use kafka_protocol::records::RecordBatchDecoder;
use serde::Serialize;

use super::build::{Latest, index_of, value_matches};

/// What reading the cleaned log back found.
#[derive(Debug, Default, Serialize)]
pub struct Verified {
    pub batches: u64,
    pub records: u64,
    /// Keys whose latest record is a value: each must be present once.
    pub live_keys: u64,
    /// Live keys whose latest record was found with its value.
    pub live_keys_found: u64,
    /// Keys whose latest record is a tombstone: nothing of them may be left.
    pub deleted_keys: u64,
    /// Records that are not their key's latest (cleaning should have removed them).
    pub superseded_left: u64,
    /// Latest records of deleted keys still there.
    pub tombstones_left: u64,
    /// Latest records whose value is not the one written, or whose key is not a bench key.
    pub wrong_records: u64,
    /// Records at or below an offset already seen.
    pub out_of_order: u64,
    pub ok: bool,
}

/// Reads every segment of `log` and checks it against `latest` (see the module doc).
pub fn check(log: &PartitionLog, latest: &Latest, value_size: usize) -> Result<Verified> {
    let mut v = Verified::default();
    let mut found = vec![false; latest.offsets.len()];
    let mut last_offset = -1i64;
    for segment in log.segments() {
        let batches = (log.segment_batches(segment.base_offset))
            .with_context(|| format!("reading segment {}", segment.path.display()))?;
        for batch in batches {
            let batch = batch.with_context(|| format!("reading {}", segment.path.display()))?;
            v.batches += 1;
            for (offset, key, value) in decode(&batch.batch)? {
                v.records += 1;
                if offset <= last_offset {
                    v.out_of_order += 1;
                }
                last_offset = last_offset.max(offset);
                v.tally(latest, &mut found, offset, key, value, value_size);
            }
        }
    }
    for (i, &offset) in latest.offsets.iter().enumerate() {
        match (offset >= 0, latest.deleted[i]) {
            (true, false) => v.live_keys += 1,
            (true, true) => v.deleted_keys += 1,
            _ => {}
        }
    }
    v.live_keys_found = found.iter().filter(|f| **f).count() as u64;
    v.ok = v.live_keys_found == v.live_keys
        && v.superseded_left == 0
        && v.tombstones_left == 0
        && v.wrong_records == 0
        && v.out_of_order == 0;
    Ok(v)
}

impl Verified {
    fn tally(
        &mut self,
        latest: &Latest,
        found: &mut [bool],
        offset: i64,
        key: Option<Bytes>,
        value: Option<Bytes>,
        value_size: usize,
    ) {
        let slot = (key.as_deref().and_then(index_of)).and_then(|i| usize::try_from(i).ok());
        let Some(slot) = slot.filter(|&s| s < found.len()) else {
            self.wrong_records += 1;
            return;
        };
        if latest.offsets[slot] != offset {
            self.superseded_left += 1;
        } else if latest.deleted[slot] {
            self.tombstones_left += 1;
        } else if value.is_some_and(|v| value_matches(&v, offset, value_size)) && !found[slot] {
            found[slot] = true;
        } else {
            self.wrong_records += 1;
        }
    }
}

/// A batch's records as (offset, key, value).
type Decoded = Vec<(i64, Option<Bytes>, Option<Bytes>)>;

/// Validates and decodes one stored batch; an emptied batch (which cleaning leaves) has none.
fn decode(batch: &[u8]) -> Result<Decoded> {
    let header = chronik_records::validate_stored_batch(batch).context("a stored batch")?;
    // The decoder reserves by the announced count: refuse a count the bytes cannot hold.
    let count = usize::try_from(header.records_count).unwrap_or(usize::MAX);
    if count == 0 {
        return Ok(Vec::new());
    }
    if count > batch.len() {
        anyhow::bail!(
            "a batch at {} announces {count} records",
            header.base_offset
        );
    }
    let mut bytes = Bytes::copy_from_slice(batch);
    let set = RecordBatchDecoder::decode(&mut bytes)
        .map_err(|e| anyhow::anyhow!("decoding the batch at {}: {e}", header.base_offset))?;
    Ok((set.records.into_iter())
        .map(|r| (r.offset, r.key, r.value))
        .collect())
}
