//! A partition's open transactions as its producer state sees them, by first offset: the
//! earliest bounds the last stable offset. The aborted ones are in the log's segment indexes.

use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct TxnIndex {
    /// First offset → producer id of every open transaction.
    open: BTreeMap<i64, i64>,
}

impl TxnIndex {
    pub fn open(&mut self, first_offset: i64, producer_id: i64) {
        self.open.insert(first_offset, producer_id);
    }

    pub fn close(&mut self, first_offset: i64) {
        self.open.remove(&first_offset);
    }

    pub fn first_open(&self) -> Option<i64> {
        self.open.keys().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
