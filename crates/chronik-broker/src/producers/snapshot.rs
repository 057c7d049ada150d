//! The producer state of a partition saved at a clean shutdown, so a restart replays only the
//! batches written after it instead of the whole log.
//!
//! Layout (big endian): magic `CHPS`, format 3, the log end offset it describes, the producer
//! count, then per producer: id, epoch, latest offset, first offset of its open transaction
//! (-1: none), latest timestamp, coordinator epoch of its latest marker, batch count, batches
//! (first and last sequence, base and last offset); a CRC-32 of everything before it ends the
//! file. Format 2 also listed the aborted transactions, which the log's segment indexes keep
//! now: the list is skipped. Format 1 (written before transactions existed) has no transaction
//! fields. A file that fails any check is ignored and the log is replayed from its start
//! instead.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use bytes::{Buf, BufMut};

use super::{CACHED_BATCHES, MAX_PRODUCERS, ProducerEntry, ProducerStates, WrittenBatch};

const MAGIC: &[u8; 4] = b"CHPS";
const FORMAT: u8 = 3;
/// The format that also listed the aborted transactions.
const FORMAT_WITH_ABORTED: u8 = 2;
/// The format before transactions: no open-transaction offset, no aborted list.
const FORMAT_WITHOUT_TXNS: u8 = 1;
const FILE_NAME: &str = "producers.snapshot";

fn path(partition_dir: &Path) -> PathBuf {
    partition_dir.join(FILE_NAME)
}

/// Writes the state describing the log up to `end_offset` (write to a temp file, fsync,
/// rename), replacing any earlier snapshot.
pub(crate) fn save_snapshot(
    partition_dir: &Path,
    states: &ProducerStates,
    end_offset: i64,
) -> std::io::Result<()> {
    let bytes = encode(states, end_offset);
    let tmp = partition_dir.join(format!("{FILE_NAME}.tmp"));
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_data()?;
    }
    std::fs::rename(&tmp, path(partition_dir))
}

/// Loads the latest snapshot; `None` when there is none or it is damaged. The caller checks
/// that the offset it describes is still inside the log.
pub(crate) fn load_snapshot(partition_dir: &Path) -> Option<(ProducerStates, i64)> {
    let file = path(partition_dir);
    let bytes = std::fs::read(&file).ok()?;
    let decoded = decode(&bytes);
    if decoded.is_none() {
        tracing::warn!(file = %file.display(), "damaged producer snapshot ignored; replaying the log");
    }
    decoded
}

/// Removes a snapshot that no longer fits the log.
pub(crate) fn remove_snapshot(partition_dir: &Path) {
    let file = path(partition_dir);
    if let Err(e) = std::fs::remove_file(&file)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(file = %file.display(), error = %e, "cannot remove a stale producer snapshot");
    }
}

/// The snapshot's bytes: also what a remote copy carries as its producer state.
pub(crate) fn encode(states: &ProducerStates, end_offset: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + states.producers.len() * 64);
    out.put_slice(MAGIC);
    out.put_u8(FORMAT);
    out.put_i64(end_offset);
    out.put_u32(u32::try_from(states.producers.len()).unwrap_or(u32::MAX));
    for (id, entry) in &states.producers {
        out.put_i64(*id);
        out.put_i16(entry.epoch);
        out.put_i64(entry.last_offset);
        out.put_i64(entry.txn_first.unwrap_or(-1));
        out.put_i64(entry.last_timestamp);
        out.put_i32(entry.coordinator_epoch);
        out.put_u8(u8::try_from(entry.batches.len()).unwrap_or(0));
        for b in &entry.batches {
            out.put_i32(b.first_seq);
            out.put_i32(b.last_seq);
            out.put_i64(b.base_offset);
            out.put_i64(b.last_offset);
        }
    }
    let crc = crc32fast::hash(&out);
    out.put_u32(crc);
    out
}

/// The state and the log end offset it describes; `None` when any check fails.
pub(crate) fn decode(bytes: &[u8]) -> Option<(ProducerStates, i64)> {
    let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32fast::hash(body) != u32::from_be_bytes(crc.try_into().ok()?) {
        return None;
    }
    let mut buf = body;
    let format = *buf.get(4)?;
    let known = [FORMAT, FORMAT_WITH_ABORTED, FORMAT_WITHOUT_TXNS];
    if buf.get(..4)? != MAGIC || !known.contains(&format) {
        return None;
    }
    let with_txns = format != FORMAT_WITHOUT_TXNS;
    buf.advance(5);
    let end_offset = take(&mut buf, 8)?.get_i64();
    let count = usize::try_from(take(&mut buf, 4)?.get_u32()).ok()?;
    if count > MAX_PRODUCERS {
        return None;
    }
    let mut states = ProducerStates::default();
    for _ in 0..count {
        let mut head = take(&mut buf, 18)?;
        let (id, epoch, last_offset) = (head.get_i64(), head.get_i16(), head.get_i64());
        let (txn_first, last_timestamp, coordinator_epoch) = match with_txns {
            true => {
                let mut t = take(&mut buf, 20)?;
                let first = Some(t.get_i64()).filter(|o| *o >= 0);
                (first, t.get_i64(), t.get_i32())
            }
            false => (None, -1, -1),
        };
        let n = usize::from(take(&mut buf, 1)?.get_u8());
        if n > CACHED_BATCHES {
            return None;
        }
        let mut batches = VecDeque::with_capacity(n);
        for _ in 0..n {
            let mut b = take(&mut buf, 24)?;
            batches.push_back(WrittenBatch {
                first_seq: b.get_i32(),
                last_seq: b.get_i32(),
                base_offset: b.get_i64(),
                last_offset: b.get_i64(),
            });
        }
        let entry = ProducerEntry {
            epoch,
            batches,
            last_offset,
            txn_first,
            txn_ends: 0,
            last_timestamp,
            coordinator_epoch,
        };
        if let Some(first) = txn_first {
            states.txns.open(first, id);
        }
        states.producers.insert(id, entry);
    }
    if format == FORMAT_WITH_ABORTED {
        let aborted = usize::try_from(take(&mut buf, 4)?.get_u32()).ok()?;
        take(&mut buf, aborted.checked_mul(24)?)?;
    }
    buf.is_empty().then_some((states, end_offset))
}

/// The next `n` bytes of `buf`, or `None` when it is shorter.
fn take<'a>(buf: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = buf.split_at_checked(n)?;
    *buf = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronik_records::ProducerFields;

    fn sample() -> ProducerStates {
        let mut s = ProducerStates::default();
        for id in 0..3 {
            for seq in 0..7 {
                let p = ProducerFields {
                    producer_id: id,
                    epoch: 2,
                    first_seq: seq * 2,
                    last_seq: seq * 2 + 1,
                };
                let base = 100 * id + i64::from(seq) * 2;
                s.record(&p, (base, base + 1), 1_700_000_000_000 + base);
            }
        }
        s.txn_written(1, 90);
        s.txn_written(2, 214);
        let abort = chronik_records::TxnMarker {
            commit: false,
            coordinator_epoch: 4,
        };
        s.end_txn(2, 2, abort, 230);
        s
    }

    #[test]
    fn round_trip_and_every_damage_is_refused() {
        let states = sample();
        let bytes = encode(&states, 77);
        // Verification guards live only as long as the process: a snapshot does not keep them.
        let mut expected = states.clone();
        for entry in expected.producers.values_mut() {
            entry.txn_ends = 0;
        }
        assert_eq!(decode(&bytes), Some((expected, 77)));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert_eq!(decode(&bad), None, "flip at {at}");
        }
    }

    #[test]
    fn a_snapshot_from_before_transactions_still_loads() {
        let mut old = Vec::new();
        old.put_slice(MAGIC);
        old.put_u8(FORMAT_WITHOUT_TXNS);
        old.put_i64(5);
        old.put_u32(1);
        old.put_i64(9); // producer id
        old.put_i16(1);
        old.put_i64(4);
        old.put_u8(1);
        for v in [0i32, 4] {
            old.put_i32(v);
        }
        old.put_i64(0);
        old.put_i64(4);
        old.put_u32(crc32fast::hash(&old));
        let (states, end) = decode(&old).expect("format 1 decodes");
        assert_eq!(
            (states.len(), end, states.first_unstable_offset()),
            (1, 5, None)
        );
    }

    #[test]
    fn a_snapshot_listing_aborted_transactions_loads_without_them() {
        let states = sample();
        let mut old = encode(&states, 77);
        old.truncate(old.len() - 4);
        old[4] = FORMAT_WITH_ABORTED;
        old.put_u32(1);
        for v in [2i64, 214, 230] {
            old.put_i64(v);
        }
        old.put_u32(crc32fast::hash(&old));
        let (back, end) = decode(&old).expect("format 2 decodes");
        assert_eq!((back.len(), end), (states.len(), 77));
        old.truncate(old.len() - 12);
        assert_eq!(decode(&old), None, "a short aborted list is damage");
    }

    #[test]
    fn a_saved_snapshot_loads_until_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        save_snapshot(dir.path(), &sample(), 9).expect("save");
        assert_eq!(load_snapshot(dir.path()).map(|(_, end)| end), Some(9));
        save_snapshot(dir.path(), &sample(), 12).expect("save again");
        assert_eq!(load_snapshot(dir.path()).map(|(_, end)| end), Some(12));
        remove_snapshot(dir.path());
        assert!(load_snapshot(dir.path()).is_none());
    }
}
