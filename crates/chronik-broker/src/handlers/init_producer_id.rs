//! InitProducerId. An idempotent producer gets a fresh producer id at epoch 0 from a block the
//! controller handed this broker; a transactional producer gets its transactional id's
//! producer id with the epoch bumped, from the id's transaction coordinator (which first
//! aborts a transaction the previous producer left open).

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProducerId,
};

use super::NONE;
use crate::kafka_errors;
use crate::producer_ids::ProducerIdError;
use crate::services::Services;
use crate::transactions::MAX_TXN_ID_BYTES;

/// The first InitProducerId version answering a fenced producer with PRODUCER_FENCED (KIP-588).
const FENCED_VERSION: i16 = 4;

pub(crate) async fn handle(
    services: &Services,
    req: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(error.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if let Some(txn_id) = req.transactional_id.as_ref().filter(|id| !id.0.is_empty()) {
        let txn_id = txn_id.0.as_str();
        if txn_id.len() > MAX_TXN_ID_BYTES {
            return failed(ResponseError::InvalidRequest);
        }
        // KIP-360: a producer recovering from an abortable error names its id and epoch.
        let expected = (req.producer_id.0 >= 0).then_some((req.producer_id.0, req.producer_epoch));
        let timeout = req.transaction_timeout_ms;
        return match services
            .txns
            .init_producer_id(txn_id, timeout, expected)
            .await
        {
            Ok((id, epoch)) => InitProducerIdResponse::default()
                .with_error_code(NONE)
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(epoch),
            Err(e) => {
                tracing::debug!(transactional_id = txn_id, error = %e, "InitProducerId refused");
                let fenced = match version >= FENCED_VERSION {
                    true => ResponseError::ProducerFenced,
                    false => ResponseError::InvalidProducerEpoch,
                };
                failed(kafka_errors::coord_error(&e, fenced))
            }
        };
    }
    // Kafka gives a non-transactional producer a new id every time, whatever id it had.
    let id = match services.producer_ids.next(&services.cluster).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, "cannot hand out a producer id");
            return failed(match &e {
                ProducerIdError::Node(e) => kafka_errors::node_error(e),
                ProducerIdError::EmptyBlock { .. } => ResponseError::UnknownServerError,
            });
        }
    };
    InitProducerIdResponse::default()
        .with_error_code(NONE)
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(0)
}
