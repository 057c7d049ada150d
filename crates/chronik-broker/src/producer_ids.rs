//! The producer ids this broker hands to idempotent producers: a block the controller
//! allocated to it, used up one id at a time.

use std::sync::Mutex;

use chronik_metadata::node::NodeError;

use crate::cluster::Cluster;

/// Why no producer id could be handed out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProducerIdError {
    #[error("cannot allocate producer ids: {0}")]
    Node(#[from] NodeError),
    #[error("the controller handed out an empty producer id block (first {first}, count {count})")]
    EmptyBlock { first: i64, count: i32 },
}

/// The unused part of this broker's current producer id block.
#[derive(Default)]
pub(crate) struct ProducerIdPool {
    /// `next..end` are still free.
    range: Mutex<(i64, i64)>,
}

impl ProducerIdPool {
    pub fn take(&self) -> Option<i64> {
        let mut range = self.range.lock().unwrap_or_else(|p| p.into_inner());
        (range.0 < range.1).then(|| {
            range.0 += 1;
            range.0 - 1
        })
    }

    /// The next free id, asking the controller for a new block when this one is used up.
    pub async fn next(&self, cluster: &Cluster) -> Result<i64, ProducerIdError> {
        loop {
            if let Some(id) = self.take() {
                return Ok(id);
            }
            match cluster.allocate_producer_ids().await? {
                (first, count) if count > 0 && first >= 0 => self.refill(first, count),
                (first, count) => return Err(ProducerIdError::EmptyBlock { first, count }),
            }
        }
    }

    pub fn refill(&self, first: i64, count: i32) {
        let mut range = self.range.lock().unwrap_or_else(|p| p.into_inner());
        if range.0 >= range.1 {
            *range = (first, first.saturating_add(i64::from(count)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ProducerIdPool;

    #[test]
    fn a_pool_hands_out_its_block_once() {
        let pool = ProducerIdPool::default();
        assert_eq!(pool.take(), None);
        pool.refill(10, 2);
        pool.refill(99, 5);
        assert_eq!(
            (pool.take(), pool.take(), pool.take()),
            (Some(10), Some(11), None)
        );
    }
}
