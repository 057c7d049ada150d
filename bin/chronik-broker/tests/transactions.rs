//! Transactions at the protocol level: the coordinator's answers to bad requests (each a
//! clear error code, nothing changed), and a transaction's path through a partition (the last
//! stable offset, the commit and abort markers, the aborted list of a read_committed fetch).

mod common;
mod txn_client;

use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::messages::describe_producers_request::TopicRequest;
use chronik_kafka::kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, DescribeProducersResponse, DescribeTransactionsRequest,
    DescribeTransactionsResponse, ListTransactionsRequest, ListTransactionsResponse,
    WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use common::ops::*;
use common::{BrokerProc, wait_until};
use txn_client::*;

#[test]
fn bad_transactional_requests_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--transaction-max-timeout-ms", "60000"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 2), 0);
    assert_eq!(find_coordinator(&mut c, ""), INVALID_REQUEST);
    let producer = ready_producer(&mut c, "tx");
    assert_eq!(producer.1, 0);

    assert_eq!(init(&mut c, "tx", 0).0, INVALID_TRANSACTION_TIMEOUT);
    assert_eq!(init(&mut c, "tx", 60_001).0, INVALID_TRANSACTION_TIMEOUT);
    assert_eq!(init(&mut c, &"x".repeat(40_000), 1000).0, INVALID_REQUEST);
    assert_eq!(
        settled(|| end_txn(&mut c, "unknown", producer, true, 3)),
        INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(
        end_txn(&mut c, "tx", (producer.0 + 1, 0), true, 3),
        INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(
        end_txn(&mut c, "tx", (producer.0, 5), true, 3),
        PRODUCER_FENCED
    );
    assert_eq!(
        end_txn(&mut c, "tx", (producer.0, 5), true, 1),
        INVALID_PRODUCER_EPOCH
    );
    assert_eq!(
        end_txn(&mut c, "tx", producer, true, 3),
        INVALID_TXN_STATE,
        "nothing began"
    );
    assert_eq!(
        add_partitions(&mut c, "tx", (producer.0, 3), "t", &[0]),
        vec![PRODUCER_FENCED]
    );
    // Kafka refuses the whole request when a partition is unknown.
    assert_eq!(
        add_partitions(&mut c, "tx", producer, "t", &[0, 7]),
        vec![OPERATION_NOT_ATTEMPTED, UNKNOWN_TOPIC_OR_PARTITION]
    );
    assert_eq!(
        end_txn(&mut c, "tx", producer, false, 3),
        INVALID_TXN_STATE,
        "still nothing began"
    );

    let marker = WritableTxnMarker::default()
        .with_producer_id(producer.0.into())
        .with_producer_epoch(producer.1)
        .with_transaction_result(true)
        .with_coordinator_epoch(0)
        .with_topics(vec![
            WritableTxnMarkerTopic::default()
                .with_name(topic("missing"))
                .with_partition_indexes(vec![0]),
        ]);
    let req = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
    let resp: WriteTxnMarkersResponse = c.call(ApiKey::WriteTxnMarkers, 1, &req);
    assert_eq!(
        resp.markers[0].topics[0].partitions[0].error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id("tx")]);
    let resp: DescribeTransactionsResponse = c.call(ApiKey::DescribeTransactions, 0, &req);
    let state = &resp.transaction_states[0];
    assert_eq!(
        (state.error_code, state.transaction_state.as_str()),
        (0, "Empty")
    );
    let unknown = settled(|| {
        let req =
            DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id("nobody")]);
        let resp: DescribeTransactionsResponse = c.call(ApiKey::DescribeTransactions, 0, &req);
        resp.transaction_states[0].error_code
    });
    assert_eq!(unknown, TRANSACTIONAL_ID_NOT_FOUND);
    let req = ListTransactionsRequest::default()
        .with_state_filters(vec![StrBytes::from_static_str("Sleeping")])
        .with_duration_filter(-1);
    let resp: ListTransactionsResponse = c.call(ApiKey::ListTransactions, 1, &req);
    assert_eq!(
        resp.unknown_state_filters,
        vec![StrBytes::from_static_str("Sleeping")]
    );
    assert!(resp.transaction_states.is_empty());
    let req = DescribeProducersRequest::default().with_topics(vec![
        TopicRequest::default()
            .with_name(topic("missing"))
            .with_partition_indexes(vec![0]),
    ]);
    let resp: DescribeProducersResponse = c.call(ApiKey::DescribeProducers, 0, &req);
    assert_eq!(
        resp.topics[0].partitions[0].error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    // The broker still serves the producer normally.
    assert_eq!(add_partitions(&mut c, "tx", producer, "t", &[0]), vec![0]);
    assert_eq!(end_txn(&mut c, "tx", producer, false, 3), 0);
}

#[test]
fn a_transaction_moves_the_last_stable_offset_and_aborts_are_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    let producer = ready_producer(&mut c, "tx");

    assert_eq!(add_partitions(&mut c, "tx", producer, "t", &[0]), vec![0]);
    assert_eq!(
        txn_produce(&mut c, "tx", "t", txn_batch(producer, 0, &["a", "b"])),
        0
    );
    let open = fetch_committed(&mut c, "t");
    assert_eq!((open.high_watermark, open.last_stable_offset), (2, 0));
    assert_eq!(
        open.records.as_ref().map(Bytes::len),
        Some(0),
        "nothing is stable yet"
    );
    assert_eq!(end_txn(&mut c, "tx", producer, false, 3), 0);
    // The abort marker goes at offset 2; the transaction is then listed as aborted.
    wait_until("the abort marker", Duration::from_secs(30), || {
        fetch_committed(&mut c, "t").last_stable_offset == 3
    });
    let aborted = fetch_committed(&mut c, "t");
    let listed: Vec<(i64, i64)> = (aborted.aborted_transactions.iter().flatten())
        .map(|t| (t.producer_id.0, t.first_offset))
        .collect();
    assert_eq!(listed, vec![(producer.0, 0)]);

    assert_eq!(
        settled(|| add_partitions(&mut c, "tx", producer, "t", &[0])[0]),
        0
    );
    assert_eq!(
        txn_produce(&mut c, "tx", "t", txn_batch(producer, 2, &["c"])),
        0
    );
    assert_eq!(end_txn(&mut c, "tx", producer, true, 3), 0);
    wait_until("the commit marker", Duration::from_secs(30), || {
        fetch_committed(&mut c, "t").last_stable_offset == 5
    });
    let (code, latest) = list_offset(&mut c, "t", 0, -1);
    assert_eq!((code, latest), (0, 5));
}

#[test]
fn a_transactional_write_the_coordinator_does_not_know_of_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    assert_eq!(create_topic(&mut c, "other", 1), 0);
    let producer = ready_producer(&mut c, "tx");
    // No transaction began: the partition was never added.
    let batch = || txn_batch(producer, 0, &["early"]);
    assert_eq!(txn_produce(&mut c, "tx", "t", batch()), INVALID_TXN_STATE);
    assert_eq!(
        add_partitions(&mut c, "tx", producer, "other", &[0]),
        vec![0]
    );
    // Another partition is in the transaction, this one is not.
    assert_eq!(txn_produce(&mut c, "tx", "t", batch()), INVALID_TXN_STATE);
    // A transactional batch without its transactional id cannot be verified.
    assert_eq!(
        produce(&mut c, "t", 0, batch()).error_code,
        INVALID_TXN_STATE
    );
    assert_eq!(
        fetch(&mut c, "t", 0, 0, 0).high_watermark,
        0,
        "nothing was written"
    );

    assert_eq!(
        settled(|| add_partitions(&mut c, "tx", producer, "t", &[0])[0]),
        0
    );
    assert_eq!(txn_produce(&mut c, "tx", "t", batch()), 0);
    assert_eq!(end_txn(&mut c, "tx", producer, false, 3), 0);
    wait_until("the abort marker", Duration::from_secs(30), || {
        fetch_committed(&mut c, "t").last_stable_offset == 2
    });
    // A write of the ended transaction arriving late (same producer and epoch) cannot open a
    // transaction the coordinator will never end.
    let late = txn_batch(producer, 1, &["late"]);
    assert_eq!(txn_produce(&mut c, "tx", "t", late), INVALID_TXN_STATE);
    let open = fetch_committed(&mut c, "t");
    assert_eq!((open.high_watermark, open.last_stable_offset), (2, 2));
    // A newer producer with the id fences this one: its writes hear it is fenced.
    let (code, _, newer) = init(&mut c, "tx", 60_000);
    assert_eq!((code, newer), (0, producer.1 + 1));
    let fenced = txn_batch(producer, 2, &["zombie"]);
    assert_eq!(
        txn_produce(&mut c, "tx", "t", fenced),
        INVALID_PRODUCER_EPOCH
    );
}
