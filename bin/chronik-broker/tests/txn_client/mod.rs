//! A transactional producer at the protocol level, for the transaction tests: its requests to
//! the coordinator and to partition leaders, and Kafka's error codes they answer with.

#![allow(dead_code)]

use std::time::Duration;

use chronik_kafka::kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use chronik_kafka::kafka_protocol::messages::fetch_response::PartitionData;
use chronik_kafka::kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, EndTxnRequest, EndTxnResponse,
    FetchResponse, FindCoordinatorRequest, FindCoordinatorResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProduceResponse, TransactionalId,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_records::{build_batch, recompute_crc, set_producer};

use crate::common::ops::{fetch_request, produce_request};
use crate::common::{Client, wait_until};

pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const INVALID_REQUEST: i16 = 42;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
pub const INVALID_TXN_STATE: i16 = 48;
pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
pub const CONCURRENT_TRANSACTIONS: i16 = 51;
pub const PRODUCER_FENCED: i16 = 90;
pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;

pub fn txn_id(id: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(id.to_owned()))
}

pub fn find_coordinator(c: &mut Client, key: &str) -> i16 {
    let req = FindCoordinatorRequest::default()
        .with_key(StrBytes::from_string(key.to_owned()))
        .with_key_type(1);
    let resp: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 3, &req);
    resp.error_code
}

pub fn init(c: &mut Client, id: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(txn_id(id)))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1);
    let resp: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &req);
    (resp.error_code, resp.producer_id.0, resp.producer_epoch)
}

/// InitProducerId once the coordinator has loaded (the first requests see it loading).
pub fn ready_producer(c: &mut Client, id: &str) -> (i64, i16) {
    let mut got = (0, 0);
    wait_until(
        "the transaction coordinator",
        Duration::from_secs(30),
        || {
            if find_coordinator(c, id) != 0 {
                return false;
            }
            let (code, pid, epoch) = init(c, id, 60_000);
            got = (pid, epoch);
            match code {
                0 => true,
                COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE => false,
                other => panic!("InitProducerId failed with {other}"),
            }
        },
    );
    got
}

/// `call`'s error code once it is not one a client retries (the coordinator loading, or the
/// previous transaction's markers still being written).
pub fn settled(mut call: impl FnMut() -> i16) -> i16 {
    let mut code = 0;
    wait_until("a settled answer", Duration::from_secs(30), || {
        code = call();
        !matches!(
            code,
            COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE | CONCURRENT_TRANSACTIONS
        )
    });
    code
}

pub fn add_partitions(
    c: &mut Client,
    id: &str,
    producer: (i64, i16),
    topic: &str,
    parts: &[i32],
) -> Vec<i16> {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(txn_id(id))
        .with_v3_and_below_producer_id(producer.0.into())
        .with_v3_and_below_producer_epoch(producer.1)
        .with_v3_and_below_topics(vec![
            AddPartitionsToTxnTopic::default()
                .with_name(crate::common::ops::topic(topic))
                .with_partitions(parts.to_vec()),
        ]);
    let resp: AddPartitionsToTxnResponse = c.call(ApiKey::AddPartitionsToTxn, 3, &req);
    (resp.results_by_topic_v3_and_below.iter())
        .flat_map(|t| {
            t.results_by_partition
                .iter()
                .map(|p| p.partition_error_code)
        })
        .collect()
}

pub fn end_txn(c: &mut Client, id: &str, producer: (i64, i16), commit: bool, version: i16) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(txn_id(id))
        .with_producer_id(producer.0.into())
        .with_producer_epoch(producer.1)
        .with_committed(commit);
    let resp: EndTxnResponse = c.call(ApiKey::EndTxn, version, &req);
    resp.error_code
}

/// A transactional batch of `values` from `producer` starting at sequence `seq`.
pub fn txn_batch(producer: (i64, i16), seq: i32, values: &[&str]) -> Vec<u8> {
    let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    let mut b = build_batch(&values, 1_700_000_000_000);
    set_producer(&mut b, producer.0, producer.1, seq);
    b[22] |= 0x10; // attributes (low byte): transactional
    recompute_crc(&mut b);
    b
}

/// Produce v9 (acks=1) of a transactional batch, as producer `txn_id` sends it.
pub fn txn_produce(c: &mut Client, txn_id_: &str, topic_: &str, batch: Vec<u8>) -> i16 {
    txn_produce_at(c, txn_id_, topic_, batch, 9)
}

pub fn txn_produce_at(c: &mut Client, id: &str, topic_: &str, batch: Vec<u8>, version: i16) -> i16 {
    let req = produce_request(topic_, 0, 1, batch).with_transactional_id(Some(txn_id(id)));
    let resp: ProduceResponse = c.call(ApiKey::Produce, version, &req);
    resp.responses[0].partition_responses[0].error_code
}

pub fn fetch_committed(c: &mut Client, topic: &str) -> PartitionData {
    let req = fetch_request(topic, 0, 0, 0).with_isolation_level(1);
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &req);
    resp.responses[0].partitions[0].clone()
}
