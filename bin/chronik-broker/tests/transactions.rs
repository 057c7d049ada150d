//! Transactions at the protocol level: the coordinator's answers to bad requests (each a
//! clear error code, nothing changed), and a transaction's path through a partition (the last
//! stable offset, the commit and abort markers, the aborted list of a read_committed fetch),
//! also for producers that end every transaction with an epoch bump (KIP-890 part 2).

mod common;

use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use chronik_kafka::kafka_protocol::messages::describe_producers_request::TopicRequest;
use chronik_kafka::kafka_protocol::messages::fetch_response::PartitionData;
use chronik_kafka::kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use chronik_kafka::kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use chronik_kafka::kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ApiVersionsRequest,
    ApiVersionsResponse, DescribeProducersRequest, DescribeProducersResponse,
    DescribeTransactionsRequest, DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse,
    FetchResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, InitProducerIdRequest,
    InitProducerIdResponse, ListTransactionsRequest, ListTransactionsResponse, OffsetFetchRequest,
    OffsetFetchResponse, ProduceResponse, TransactionalId, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_records::{build_batch, recompute_crc, set_producer};
use common::meta::start_meta;
use common::ops::*;
use common::{BrokerProc, Client, eventually, wait_until};

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const INVALID_REQUEST: i16 = 42;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
const OPERATION_NOT_ATTEMPTED: i16 = 55;
const CONCURRENT_TRANSACTIONS: i16 = 51;
const PRODUCER_FENCED: i16 = 90;
const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;

fn txn_id(id: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(id.to_owned()))
}

fn find_coordinator(c: &mut Client, key: &str) -> i16 {
    let req = FindCoordinatorRequest::default()
        .with_key(StrBytes::from_string(key.to_owned()))
        .with_key_type(1);
    let resp: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 3, &req);
    resp.error_code
}

fn init(c: &mut Client, id: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(txn_id(id)))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1);
    let resp: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &req);
    (resp.error_code, resp.producer_id.0, resp.producer_epoch)
}

/// InitProducerId once the coordinator has loaded (the first requests see it loading).
fn ready_producer(c: &mut Client, id: &str) -> (i64, i16) {
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
fn settled(mut call: impl FnMut() -> i16) -> i16 {
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

fn add_partitions(
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
                .with_name(common::ops::topic(topic))
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

fn end_txn(c: &mut Client, id: &str, producer: (i64, i16), commit: bool, version: i16) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(txn_id(id))
        .with_producer_id(producer.0.into())
        .with_producer_epoch(producer.1)
        .with_committed(commit);
    let resp: EndTxnResponse = c.call(ApiKey::EndTxn, version, &req);
    resp.error_code
}

/// A transactional batch of `values` from `producer` starting at sequence `seq`.
fn txn_batch(producer: (i64, i16), seq: i32, values: &[&str]) -> Vec<u8> {
    let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    let mut b = build_batch(&values, 1_700_000_000_000);
    set_producer(&mut b, producer.0, producer.1, seq);
    b[22] |= 0x10; // attributes (low byte): transactional
    recompute_crc(&mut b);
    b
}

/// Produce v9 (acks=1) of a transactional batch, as producer `txn_id` sends it.
fn txn_produce(c: &mut Client, txn_id_: &str, topic_: &str, batch: Vec<u8>) -> i16 {
    txn_produce_at(c, txn_id_, topic_, batch, 9)
}

fn txn_produce_at(c: &mut Client, id: &str, topic_: &str, batch: Vec<u8>, version: i16) -> i16 {
    let req = produce_request(topic_, 0, 1, batch).with_transactional_id(Some(txn_id(id)));
    let resp: ProduceResponse = c.call(ApiKey::Produce, version, &req);
    resp.responses[0].partition_responses[0].error_code
}

fn fetch_committed(c: &mut Client, topic: &str) -> PartitionData {
    let req = fetch_request(topic, 0, 0, 0).with_isolation_level(1);
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &req);
    resp.responses[0].partitions[0].clone()
}

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

/// EndTxn v5: the error code and the producer id and epoch to go on with.
fn end_txn_bumping(
    c: &mut Client,
    id: &str,
    producer: (i64, i16),
    commit: bool,
) -> (i16, (i64, i16)) {
    let req = EndTxnRequest::default()
        .with_transactional_id(txn_id(id))
        .with_producer_id(producer.0.into())
        .with_producer_epoch(producer.1)
        .with_committed(commit);
    let resp: EndTxnResponse = c.call(ApiKey::EndTxn, 5, &req);
    (resp.error_code, (resp.producer_id.0, resp.producer_epoch))
}

/// TxnOffsetCommit v5 of offset `offset` of partition 0 of `topic_` for `group`, outside any
/// group generation.
fn txn_offset_commit(
    c: &mut Client,
    id: &str,
    producer: (i64, i16),
    group: &str,
    topic_: &str,
    offset: i64,
) -> i16 {
    let partition = TxnOffsetCommitRequestPartition::default()
        .with_partition_index(0)
        .with_committed_offset(offset)
        .with_committed_leader_epoch(-1);
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(txn_id(id))
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_producer_id(producer.0.into())
        .with_producer_epoch(producer.1)
        .with_generation_id(-1)
        .with_topics(vec![
            TxnOffsetCommitRequestTopic::default()
                .with_name(common::ops::topic(topic_))
                .with_partitions(vec![partition]),
        ]);
    let resp: TxnOffsetCommitResponse = c.call(ApiKey::TxnOffsetCommit, 5, &req);
    resp.topics[0].partitions[0].error_code
}

/// The committed offset of partition 0 of `topic_` for `group` (OffsetFetch v5).
fn committed_offset(c: &mut Client, group: &str, topic_: &str) -> (i16, i64) {
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_topics(Some(vec![
            OffsetFetchRequestTopic::default()
                .with_name(common::ops::topic(topic_))
                .with_partition_indexes(vec![0]),
        ]));
    let resp: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 5, &req);
    (
        resp.error_code,
        resp.topics[0].partitions[0].committed_offset,
    )
}

#[test]
fn producers_that_bump_the_epoch_at_every_end_need_no_add_calls_and_their_late_writes_are_fenced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    let versions: ApiVersionsResponse =
        c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    let finalized: Vec<(String, i16)> = (versions.finalized_features.iter())
        .map(|f| (f.name.to_string(), f.max_version_level))
        .collect();
    assert_eq!(finalized, [("transaction.version".to_owned(), 2)]);
    let producer = ready_producer(&mut c, "tv2");

    // Produce v12 and TxnOffsetCommit v5 add their partitions to the transaction themselves.
    let first = txn_batch(producer, 0, &["a"]);
    assert_eq!(
        settled(|| txn_produce_at(&mut c, "tv2", "t", first.clone(), 12)),
        0
    );
    assert_eq!(
        settled(|| txn_offset_commit(&mut c, "tv2", producer, "g", "t", 1)),
        0
    );
    let (code, next) = end_txn_bumping(&mut c, "tv2", producer, true);
    assert_eq!((code, next), (0, (producer.0, producer.1 + 1)));
    wait_until("the commit marker", Duration::from_secs(30), || {
        fetch_committed(&mut c, "t").last_stable_offset == 2
    });
    // A retry of that EndTxn names the epoch it ended and hears the new one.
    assert_eq!(end_txn_bumping(&mut c, "tv2", producer, true), (0, next));
    assert_eq!(settled(|| committed_offset(&mut c, "g", "t").0), 0);
    assert_eq!(committed_offset(&mut c, "g", "t").1, 1);

    // A write of the ended transaction arriving late carries the ended epoch: fenced, where
    // at the same epoch it would have been added to the next transaction.
    let late = txn_batch(producer, 1, &["late"]);
    assert_eq!(
        txn_produce_at(&mut c, "tv2", "t", late, 12),
        INVALID_PRODUCER_EPOCH
    );
    assert_eq!(
        fetch(&mut c, "t", 0, 0, 0).high_watermark,
        2,
        "nothing was written"
    );

    // The next transaction runs at the new epoch from sequence 0; its abort bumps again.
    let second = txn_batch(next, 0, &["b"]);
    assert_eq!(
        settled(|| txn_produce_at(&mut c, "tv2", "t", second.clone(), 12)),
        0
    );
    let (code, after) = end_txn_bumping(&mut c, "tv2", next, false);
    assert_eq!((code, after), (0, (next.0, next.1 + 1)));
    wait_until("the abort marker", Duration::from_secs(30), || {
        fetch_committed(&mut c, "t").last_stable_offset == 4
    });
    let aborted = fetch_committed(&mut c, "t");
    let listed: Vec<(i64, i64)> = (aborted.aborted_transactions.iter().flatten())
        .map(|t| (t.producer_id.0, t.first_offset))
        .collect();
    assert_eq!(listed, vec![(producer.0, 2)]);
    // Ending again at the new epoch with no transaction open is refused.
    assert_eq!(
        end_txn_bumping(&mut c, "tv2", after, true).0,
        INVALID_TXN_STATE
    );
}

/// The broker coordinating transactional id `key`, once one does.
fn coordinator_of(c: &mut Client, key: &str) -> i32 {
    eventually("a transaction coordinator", Duration::from_secs(30), || {
        let req = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(key.to_owned()))
            .with_key_type(1);
        let resp: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 3, &req);
        (resp.error_code == 0).then_some(resp.node_id.0)
    })
}

#[test]
fn a_partition_leader_adds_itself_to_a_transaction_through_a_coordinator_on_another_broker() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start_meta(&rt, dir.path());
    let meta = node.local_addr().to_string();
    let brokers: Vec<BrokerProc> = ["1", "2"]
        .iter()
        .map(|id| {
            let home = dir.path().join(id);
            std::fs::create_dir_all(&home).expect("broker dir");
            let args = [
                "--meta",
                &meta,
                "--id",
                id,
                "--offsets-topic-replication-factor",
                "1",
            ];
            BrokerProc::start(&home, &args)
        })
        .collect();
    let mut clients: Vec<Client> = brokers.iter().map(BrokerProc::client).collect();
    assert_eq!(create_topic(&mut clients[0], "t", 1), 0);
    let leader = metadata(&mut clients[0], Some(&["t"]), false).topics[0].partitions[0]
        .leader_id
        .0;
    // A transactional id whose coordinator is the other broker.
    let id = (0..64)
        .map(|i| format!("remote-{i}"))
        .find(|id| coordinator_of(&mut clients[0], id) != leader)
        .expect("an id coordinated by the other broker");
    let (on_leader, on_coordinator) = match leader {
        1 => (0, 1),
        _ => (1, 0),
    };
    let producer = ready_producer(&mut clients[on_coordinator], &id);

    let batch = txn_batch(producer, 0, &["a"]);
    let produced = settled(|| txn_produce_at(&mut clients[on_leader], &id, "t", batch.clone(), 12));
    assert_eq!(
        produced,
        0,
        "added through the coordinator on broker {}",
        3 - leader
    );
    let (code, next) = end_txn_bumping(&mut clients[on_coordinator], &id, producer, true);
    assert_eq!((code, next), (0, (producer.0, producer.1 + 1)));
    wait_until(
        "the commit marker on the leader",
        Duration::from_secs(30),
        || fetch_committed(&mut clients[on_leader], "t").last_stable_offset == 2,
    );
    let late = txn_batch(producer, 1, &["late"]);
    let fenced = txn_produce_at(&mut clients[on_leader], &id, "t", late, 12);
    assert_eq!(fenced, INVALID_PRODUCER_EPOCH);
    drop(brokers);
    rt.block_on(node.shutdown());
}
