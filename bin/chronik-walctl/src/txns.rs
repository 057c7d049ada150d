//! The transactions of a partition as `dump` shows them: each marker's kind, and, from the
//! batches dumped, the aborted transactions (what a read_committed consumer is told to skip)
//! and those still open at the end.

use std::collections::BTreeMap;

use chronik_records::BatchHeader;
use serde::Serialize;

/// A control batch's transaction marker.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MarkerRow {
    /// "commit" or "abort".
    pub kind: &'static str,
    pub coordinator_epoch: i32,
}

/// The marker of `batch` (whole stored batch bytes), if it is one.
pub fn marker(batch: &[u8]) -> Option<MarkerRow> {
    chronik_records::read_marker(batch).map(|m| MarkerRow {
        kind: if m.commit { "commit" } else { "abort" },
        coordinator_epoch: m.coordinator_epoch,
    })
}

/// A transaction's span: its first batch and (for an ended one) its marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub producer_id: i64,
    pub first_offset: i64,
    pub marker_offset: Option<i64>,
}

/// What the dumped batches say about transactions.
#[derive(Debug, Default, Serialize)]
pub struct Transactions {
    pub transactional_batches: u64,
    pub commit_markers: u64,
    pub abort_markers: u64,
    pub aborted: Vec<Span>,
    pub open: Vec<Span>,
    /// Producer id → first offset of its open transaction.
    #[serde(skip)]
    opened: BTreeMap<i64, i64>,
}

impl Transactions {
    pub fn add(&mut self, header: &BatchHeader, marker: Option<MarkerRow>) {
        if !header.is_transactional() {
            return;
        }
        let pid = header.producer_id;
        match (header.is_control(), marker) {
            (true, Some(m)) => {
                let first = self.opened.remove(&pid);
                if m.kind == "commit" {
                    self.commit_markers += 1;
                } else {
                    self.abort_markers += 1;
                    if let Some(first_offset) = first {
                        self.aborted.push(Span {
                            producer_id: pid,
                            first_offset,
                            marker_offset: Some(header.base_offset),
                        });
                    }
                }
            }
            (true, None) => {}
            (false, _) => {
                self.transactional_batches += 1;
                self.opened.entry(pid).or_insert(header.base_offset);
            }
        }
    }

    /// Ends the walk: the transactions without a marker are open.
    pub fn finish(&mut self) {
        let mut open: Vec<Span> = (self.opened.iter())
            .map(|(&producer_id, &first_offset)| Span {
                producer_id,
                first_offset,
                marker_offset: None,
            })
            .collect();
        open.sort_by_key(|s| s.first_offset);
        self.open = open;
    }

    /// Whether any transactional batch or marker was seen.
    pub fn any(&self) -> bool {
        self.transactional_batches + self.commit_markers + self.abort_markers > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, base: i64, transactional: bool, control: bool) -> BatchHeader {
        let mut b = chronik_records::build_batch(&[b"x"], 1);
        let attrs: i16 = (if transactional { 0x10 } else { 0 }) | (if control { 0x20 } else { 0 });
        b[21..23].copy_from_slice(&attrs.to_be_bytes());
        b[43..51].copy_from_slice(&pid.to_be_bytes());
        let mut h = BatchHeader::parse(&b).unwrap();
        h.base_offset = base;
        h
    }

    #[test]
    fn aborted_and_open_transactions_are_found() {
        let mut t = Transactions::default();
        let abort = Some(MarkerRow {
            kind: "abort",
            coordinator_epoch: 0,
        });
        let commit = Some(MarkerRow {
            kind: "commit",
            coordinator_epoch: 0,
        });
        t.add(&header(1, 0, true, false), None);
        t.add(&header(2, 1, true, false), None);
        t.add(&header(1, 2, true, false), None);
        t.add(&header(1, 3, true, true), abort);
        t.add(&header(2, 4, true, true), commit);
        t.add(&header(3, 5, true, false), None);
        t.add(&header(9, 6, false, false), None);
        t.finish();
        assert_eq!(
            (t.transactional_batches, t.commit_markers, t.abort_markers),
            (4, 1, 1)
        );
        assert_eq!(
            t.aborted,
            vec![Span {
                producer_id: 1,
                first_offset: 0,
                marker_offset: Some(3)
            }]
        );
        assert_eq!(t.open.len(), 1);
        assert_eq!(t.open[0].first_offset, 5);
    }
}
