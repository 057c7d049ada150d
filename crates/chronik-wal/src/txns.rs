//! Each segment's aborted-transaction index (Kafka's `.txnindex`): the transactions whose abort
//! marker lies in the segment, each with the offset of its producer's first batch, so that a
//! read_committed fetch learns which records to skip from the segments it reads.
//!
//! Finding a transaction's first offset needs the transactions still open where the segment
//! begins, so the index keeps those too: a segment rescanned after a crash starts from what the
//! previous segment's index says was open at its end. Kept in the segment's index file
//! ([`crate::index`]), built as batches are appended and rebuilt whenever the index is.

use std::collections::BTreeMap;

use chronik_records::BatchHeader;
use chronik_types::Offset;

/// An aborted transaction's span in the log: its producer's first batch in it and its abort
/// marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: Offset,
    /// The abort marker's offset.
    pub last_offset: Offset,
}

/// Producer id → first offset of its open transaction.
pub type OpenTxns = BTreeMap<i64, Offset>;

/// The transactions of one segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentTxns {
    /// Open where the segment begins (the previous segment's `open`): where a rescan starts.
    pub open_at_start: OpenTxns,
    /// Open after the segment's last batch.
    pub open: OpenTxns,
    /// The transactions whose abort marker is in this segment, in marker order.
    pub aborted: Vec<AbortedTxn>,
}

impl SegmentTxns {
    /// A segment beginning with `open` transactions.
    pub fn starting_with(open: OpenTxns) -> Self {
        Self {
            open_at_start: open.clone(),
            open,
            aborted: Vec::new(),
        }
    }

    /// The transactions of the segment that follows this one, before it holds anything.
    pub fn next_segment(&self) -> Self {
        Self::starting_with(self.open.clone())
    }

    /// Follows one stored Kafka batch, `base_offset` being where the log put it. A payload that
    /// is not a readable batch header changes nothing.
    pub fn on_batch(&mut self, base_offset: Offset, batch: &[u8]) {
        let Ok(header) = BatchHeader::parse(batch) else {
            return;
        };
        if !header.is_transactional() || header.producer_id < 0 {
            return;
        }
        let producer_id = header.producer_id;
        if !header.is_control() {
            self.open.entry(producer_id).or_insert(base_offset);
            return;
        }
        let Some(marker) = chronik_records::read_marker(batch) else {
            return;
        };
        // A marker for a transaction with no data here (one that wrote nothing to this
        // partition, or whose data retention removed) has nothing for a reader to skip.
        if let Some(first_offset) = self.open.remove(&producer_id)
            && !marker.commit
        {
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset,
                last_offset: base_offset,
            });
        }
    }

    /// The aborted transactions that overlap `[from, to)`.
    pub fn overlapping(&self, from: Offset, to: Offset) -> impl Iterator<Item = &AbortedTxn> {
        (self.aborted.iter()).filter(move |t| t.last_offset >= from && t.first_offset < to)
    }

    /// Appends the encoded form to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for open in [&self.open_at_start, &self.open] {
            out.extend_from_slice(&(open.len() as u32).to_be_bytes());
            for (pid, first) in open {
                out.extend_from_slice(&pid.to_be_bytes());
                out.extend_from_slice(&first.to_be_bytes());
            }
        }
        out.extend_from_slice(&(self.aborted.len() as u32).to_be_bytes());
        for t in &self.aborted {
            out.extend_from_slice(&t.producer_id.to_be_bytes());
            out.extend_from_slice(&t.first_offset.to_be_bytes());
            out.extend_from_slice(&t.last_offset.to_be_bytes());
        }
    }

    /// Reads what [`SegmentTxns::encode`] wrote from the front of `bytes`, returning the rest.
    /// Counts are checked against the bytes present before anything is allocated.
    pub(crate) fn decode(bytes: &[u8]) -> Option<(Self, &[u8])> {
        let (open_at_start, rest) = decode_open(bytes)?;
        let (open, rest) = decode_open(rest)?;
        let (n, mut rest) = split_u32(rest)?;
        if rest.len() < n.checked_mul(24)? {
            return None;
        }
        let mut aborted = Vec::with_capacity(n);
        for _ in 0..n {
            let (producer_id, r) = split_i64(rest)?;
            let (first_offset, r) = split_i64(r)?;
            let (last_offset, r) = split_i64(r)?;
            rest = r;
            aborted.push(AbortedTxn {
                producer_id,
                first_offset,
                last_offset,
            });
        }
        let txns = Self {
            open_at_start,
            open,
            aborted,
        };
        Some((txns, rest))
    }
}

fn decode_open(bytes: &[u8]) -> Option<(OpenTxns, &[u8])> {
    let (n, mut rest) = split_u32(bytes)?;
    if rest.len() < n.checked_mul(16)? {
        return None;
    }
    let mut open = OpenTxns::new();
    for _ in 0..n {
        let (pid, r) = split_i64(rest)?;
        let (first, r) = split_i64(r)?;
        rest = r;
        open.insert(pid, first);
    }
    Some((open, rest))
}

fn split_u32(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head) as usize, rest))
}

fn split_i64(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    Some((i64::from_be_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pid: i64) -> Vec<u8> {
        chronik_records::build_transactional_batch(&[b"v"], 0, pid)
    }

    fn marker(pid: i64, commit: bool) -> Vec<u8> {
        let marker = chronik_records::TxnMarker {
            commit,
            coordinator_epoch: 0,
        };
        chronik_records::build_marker_batch(pid, 0, marker, 0)
    }

    #[test]
    fn an_aborted_transaction_spans_from_its_first_batch_to_its_marker() {
        let mut t = SegmentTxns::default();
        t.on_batch(0, &data(7));
        t.on_batch(1, &data(8));
        t.on_batch(2, &data(7));
        t.on_batch(3, &marker(8, true));
        t.on_batch(4, &marker(7, false));
        t.on_batch(5, &marker(9, false));
        t.on_batch(6, &data(9));
        let aborted = AbortedTxn {
            producer_id: 7,
            first_offset: 0,
            last_offset: 4,
        };
        assert_eq!(t.aborted, vec![aborted]);
        assert_eq!(t.open, OpenTxns::from([(9, 6)]));
        assert_eq!(t.overlapping(4, 10).count(), 1);
        assert_eq!(t.overlapping(5, 10).count(), 0);
        assert_eq!(t.overlapping(0, 0).count(), 0);
    }

    #[test]
    fn a_transaction_open_across_segments_keeps_its_first_offset() {
        let mut first = SegmentTxns::default();
        first.on_batch(10, &data(3));
        let mut second = first.next_segment();
        second.on_batch(20, &data(3));
        second.on_batch(21, &marker(3, false));
        assert_eq!(second.open_at_start, OpenTxns::from([(3, 10)]));
        assert_eq!(second.aborted[0].first_offset, 10);
    }

    #[test]
    fn plain_batches_and_unreadable_payloads_change_nothing() {
        let mut t = SegmentTxns::default();
        t.on_batch(0, &chronik_records::build_batch(&[b"v"], 0));
        t.on_batch(1, b"not a batch");
        assert_eq!(t, SegmentTxns::default());
    }

    #[test]
    fn encode_decode_round_trip_and_short_input_is_refused() {
        let mut t = SegmentTxns::starting_with(OpenTxns::from([(1, 5), (2, 6)]));
        t.on_batch(7, &marker(1, false));
        t.on_batch(8, &data(4));
        let mut bytes = Vec::new();
        t.encode(&mut bytes);
        bytes.extend_from_slice(b"tail");
        let (back, rest) = SegmentTxns::decode(&bytes).unwrap();
        assert_eq!((back, rest), (t, &b"tail"[..]));
        for cut in 0..bytes.len() - 4 {
            assert!(SegmentTxns::decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        assert!(SegmentTxns::decode(&u32::MAX.to_be_bytes()).is_none());
    }
}
