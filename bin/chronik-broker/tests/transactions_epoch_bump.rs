//! Transactions of producers that end every transaction with an epoch bump (KIP-890 part 2,
//! transaction version 2) at the protocol level: no AddPartitionsToTxn or AddOffsetsToTxn,
//! EndTxn v5's new epoch, late writes fenced, and a coordinator on another broker.

mod common;
mod txn_client;

use std::time::Duration;

use chronik_kafka::kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use chronik_kafka::kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, EndTxnRequest, EndTxnResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, GroupId, OffsetFetchRequest,
    OffsetFetchResponse, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use common::meta::start_meta;
use common::ops::*;
use common::{BrokerProc, Client, eventually, wait_until};
use txn_client::*;

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
