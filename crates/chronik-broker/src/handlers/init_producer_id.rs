//! InitProducerId for idempotent producers: a fresh producer id at epoch 0 from a block the
//! controller handed this broker. Transactions are not implemented, so a transactional id is
//! refused.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProducerId,
};

use super::NONE;
use crate::kafka_errors;
use crate::services::Services;

pub(crate) async fn handle(
    services: &Services,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
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
        if let Some(id) = services.producer_ids.take() {
            break id;
        }
        match services.cluster.allocate_producer_ids().await {
            Ok((first, count)) if count > 0 && first >= 0 => {
                services.producer_ids.refill(first, count)
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
