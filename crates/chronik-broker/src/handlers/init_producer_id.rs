//! InitProducerId for idempotent producers: a fresh producer id at epoch 0 from a block the
//! controller handed this broker. Transactions are not implemented, so a transactional id is
//! refused.

use std::sync::Mutex;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProducerId,
};

use super::NONE;
use crate::broker::Shared;
use crate::kafka_errors;

/// The unused part of this broker's current producer id block.
#[derive(Default)]
pub(crate) struct ProducerIdPool {
    /// `next..end` are still free.
    range: Mutex<(i64, i64)>,
}

impl ProducerIdPool {
    fn take(&self) -> Option<i64> {
        let mut range = self.range.lock().unwrap_or_else(|p| p.into_inner());
        (range.0 < range.1).then(|| {
            range.0 += 1;
            range.0 - 1
        })
    }

    fn refill(&self, first: i64, count: i32) {
        let mut range = self.range.lock().unwrap_or_else(|p| p.into_inner());
        if range.0 >= range.1 {
            *range = (first, first.saturating_add(i64::from(count)));
        }
    }
}

pub(crate) async fn handle(shared: &Shared, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(error.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if req
        .transactional_id
        .as_ref()
        .is_some_and(|id| !id.0.is_empty())
    {
        tracing::debug!("InitProducerId with a transactional id refused: no transactions");
        return failed(ResponseError::InvalidRequest);
    }
    // Kafka gives a non-transactional producer a new id every time, whatever id it had.
    let id = loop {
        if let Some(id) = shared.producer_ids.take() {
            break id;
        }
        match shared.cluster.allocate_producer_ids().await {
            Ok((first, count)) if count > 0 && first >= 0 => {
                shared.producer_ids.refill(first, count)
            }
            Ok((first, count)) => {
                tracing::error!(
                    first,
                    count,
                    "the controller handed out an empty producer id block"
                );
                return failed(ResponseError::UnknownServerError);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot allocate producer ids");
                return failed(kafka_errors::node_error(&e));
            }
        }
    };
    InitProducerIdResponse::default()
        .with_error_code(NONE)
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(0)
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
