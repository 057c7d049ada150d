//! The transaction admin APIs: DescribeTransactions and ListTransactions (answered by each
//! transaction coordinator for the ids it coordinates: admin clients ask every broker) and
//! DescribeProducers (answered by each partition's leader).

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use chronik_kafka::kafka_protocol::messages::describe_transactions_response::{
    TopicData, TransactionState,
};
use chronik_kafka::kafka_protocol::messages::list_transactions_response;
use chronik_kafka::kafka_protocol::messages::{
    DescribeProducersRequest, DescribeProducersResponse, DescribeTransactionsRequest,
    DescribeTransactionsResponse, ListTransactionsRequest, ListTransactionsResponse, ProducerId,
    TopicName,
};
use chronik_types::TopicPartition;

use super::{NONE, str_bytes};
use crate::kafka_errors::{coord_error, partition_error_code};
use crate::services::Services;
use crate::transactions::{TxnMetadata, TxnState};
use crate::wall_clock::wall_ms;

pub(crate) fn describe_transactions(
    services: &Services,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let states = (req.transactional_ids.into_iter())
        .map(|id| {
            let state = TransactionState::default()
                .with_transactional_id(id.clone())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
                .with_transaction_start_time_ms(-1);
            match services.txns.describe(id.0.as_str()) {
                Ok(Some(m)) => described(state, &m),
                Ok(None) => state.with_error_code(ResponseError::TransactionalIdNotFound.code()),
                Err(e) => {
                    state.with_error_code(coord_error(&e, ResponseError::ProducerFenced).code())
                }
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

fn described(state: TransactionState, m: &TxnMetadata) -> TransactionState {
    let mut topics: Vec<TopicData> = Vec::new();
    for tp in &m.partitions {
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == tp.topic => t.partitions.push(tp.partition),
            _ => topics.push(
                TopicData::default()
                    .with_topic(TopicName(str_bytes(&tp.topic)))
                    .with_partitions(vec![tp.partition]),
            ),
        }
    }
    let started = match m.state {
        TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => -1,
        _ => m.start_ms,
    };
    state
        .with_error_code(NONE)
        .with_transaction_state(str_bytes(m.state.name()))
        .with_transaction_timeout_ms(m.timeout_ms)
        .with_transaction_start_time_ms(started)
        .with_producer_id(ProducerId(m.producer_id))
        .with_producer_epoch(m.producer_epoch)
        .with_topics(topics)
}

pub(crate) fn list_transactions(
    services: &Services,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let unknown: Vec<_> = (req.state_filters.iter())
        .filter(|f| !TxnState::NAMES.contains(&f.as_str()))
        .cloned()
        .collect();
    let now = wall_ms();
    let states = (services.txns.list().into_iter())
        .filter(|(_, m)| {
            req.state_filters.is_empty()
                || req
                    .state_filters
                    .iter()
                    .any(|f| f.as_str() == m.state.name())
        })
        .filter(|(_, m)| {
            req.producer_id_filters.is_empty()
                || req.producer_id_filters.iter().any(|p| p.0 == m.producer_id)
        })
        // v1: only transactions running longer than this many ms (-1: no filter).
        .filter(|(_, m)| {
            req.duration_filter < 0
                || (m.state == TxnState::Ongoing && now - m.start_ms > req.duration_filter)
        })
        .map(|(id, m)| {
            list_transactions_response::TransactionState::default()
                .with_transactional_id(chronik_kafka::kafka_protocol::messages::TransactionalId(
                    str_bytes(&id),
                ))
                .with_producer_id(ProducerId(m.producer_id))
                .with_transaction_state(str_bytes(m.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_error_code(NONE)
        .with_unknown_state_filters(unknown)
        .with_transaction_states(states)
}

pub(crate) fn describe_producers(
    services: &Services,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = (req.topics.into_iter())
        .map(|topic| {
            let partitions = (topic.partition_indexes.iter())
                .map(|&p| {
                    let tp = TopicPartition::new(topic.name.0.as_str(), p);
                    let answer = PartitionResponse::default().with_partition_index(p);
                    match services.layer.producers_of(&tp) {
                        Ok(producers) => answer.with_error_code(NONE).with_active_producers(
                            (producers.into_iter())
                                .map(|s| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(s.producer_id))
                                        .with_producer_epoch(i32::from(s.epoch))
                                        .with_last_sequence(s.last_sequence)
                                        .with_last_timestamp(s.last_timestamp)
                                        .with_coordinator_epoch(s.coordinator_epoch)
                                        .with_current_txn_start_offset(s.txn_start_offset)
                                })
                                .collect(),
                        ),
                        Err(e) => answer
                            .with_error_code(partition_error_code(&e))
                            .with_error_message(Some(str_bytes(&e.to_string()))),
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
