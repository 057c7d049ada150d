//! A partition's transactions as its producer state sees them: the open ones (by first
//! offset, which bounds the last stable offset) and the aborted ones still in the log, which a
//! read_committed fetch lists so the consumer drops their records.

use std::collections::{BTreeMap, VecDeque};

/// An aborted transaction's span in the log: its first record and its abort marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct TxnIndex {
    /// First offset → producer id of every open transaction.
    open: BTreeMap<i64, i64>,
    /// Aborted transactions in marker order (so by `last_offset`).
    aborted: VecDeque<AbortedTxn>,
}

impl TxnIndex {
    pub fn open(&mut self, first_offset: i64, producer_id: i64) {
        self.open.insert(first_offset, producer_id);
    }

    pub fn close(&mut self, first_offset: i64) {
        self.open.remove(&first_offset);
    }

    pub fn aborted(&mut self, txn: AbortedTxn) {
        self.aborted.push_back(txn);
    }

    pub fn first_open(&self) -> Option<i64> {
        self.open.keys().next().copied()
    }

    /// Those overlapping `[from, to)`: ended at or after `from`, begun before `to`.
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        let start = self.aborted.partition_point(|t| t.last_offset < from);
        (self.aborted.range(start..))
            .filter(|t| t.first_offset < to)
            .copied()
            .collect()
    }

    pub fn trim(&mut self, log_start: i64) {
        while self
            .aborted
            .front()
            .is_some_and(|t| t.last_offset < log_start)
        {
            self.aborted.pop_front();
        }
    }

    pub fn aborted_list(&self) -> impl Iterator<Item = &AbortedTxn> {
        self.aborted.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(producer_id: i64, first_offset: i64, last_offset: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id,
            first_offset,
            last_offset,
        }
    }

    #[test]
    fn the_earliest_open_transaction_bounds_stability() {
        let mut index = TxnIndex::default();
        assert_eq!(index.first_open(), None);
        index.open(10, 1);
        index.open(4, 2);
        assert_eq!(index.first_open(), Some(4));
        index.close(4);
        assert_eq!(index.first_open(), Some(10));
    }

    #[test]
    fn a_fetch_is_told_of_the_aborted_transactions_it_overlaps() {
        let mut index = TxnIndex::default();
        index.aborted(txn(1, 0, 5));
        index.aborted(txn(2, 3, 9));
        index.aborted(txn(3, 20, 25));
        assert_eq!(index.aborted_between(6, 20), vec![txn(2, 3, 9)]);
        assert_eq!(index.aborted_between(0, 100).len(), 3);
        assert_eq!(index.aborted_between(26, 100), vec![]);
        index.trim(6);
        assert_eq!(
            index.aborted_between(0, 100),
            vec![txn(2, 3, 9), txn(3, 20, 25)]
        );
    }
}
