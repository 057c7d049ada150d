//! The transaction APIs at every advertised version, for tests/versions.rs: one successful
//! request each, by transactional id "vtx" on the topic "v" and group "vg".

use std::time::Duration;

use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::common::ops::topic;
use crate::common::{Client, eventually};

/// Error codes a client retries: the coordinator loading or not there yet, a transaction
/// completing.
const RETRIED: [i16; 3] = [14, 15, 51];

pub fn txn_api(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::AddPartitionsToTxn
            | ApiKey::AddOffsetsToTxn
            | ApiKey::EndTxn
            | ApiKey::WriteTxnMarkers
            | ApiKey::TxnOffsetCommit
            | ApiKey::DescribeTransactions
            | ApiKey::ListTransactions
            | ApiKey::DescribeProducers
    )
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

fn txn_id() -> TransactionalId {
    TransactionalId(s("vtx"))
}

/// `req` as `key` v`v`, sent again while `code` of its answer is a retried one; that code.
fn call<Req: Encodable, Resp: Decodable>(
    c: &mut Client,
    key: ApiKey,
    v: i16,
    req: &Req,
    code: impl Fn(&Resp) -> i16,
) -> i16 {
    answer(c, key, v, req, |r| (code(r), ())).0
}

/// [`call`], also returning what `read` takes from the last answer.
fn answer<Req: Encodable, Resp: Decodable, T>(
    c: &mut Client,
    key: ApiKey,
    v: i16,
    req: &Req,
    read: impl Fn(&Resp) -> (i16, T),
) -> (i16, T) {
    eventually(
        &format!("{key:?} v{v} answered"),
        Duration::from_secs(30),
        || {
            let got = read(&c.call(key, v, req));
            (!RETRIED.contains(&got.0)).then_some(got)
        },
    )
}

/// The producer of "vtx", registered once (FindCoordinator creates the internal topics).
pub fn producer(c: &mut Client) -> (i64, i16) {
    for key_type in [0, 1] {
        let req = FindCoordinatorRequest::default()
            .with_key(s(if key_type == 0 { "vg" } else { "vtx" }))
            .with_key_type(key_type);
        let code = call(
            c,
            ApiKey::FindCoordinator,
            3,
            &req,
            |r: &FindCoordinatorResponse| r.error_code,
        );
        assert_eq!(code, 0, "FindCoordinator key type {key_type}");
    }
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(txn_id()))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let (code, ids) = answer(
        c,
        ApiKey::InitProducerId,
        4,
        &req,
        |r: &InitProducerIdResponse| (r.error_code, (r.producer_id.0, r.producer_epoch)),
    );
    assert_eq!(code, 0, "InitProducerId with a transactional id");
    ids
}

/// One request of transaction API `key` at `v` by `producer`, which must succeed; returns the
/// producer id and epoch to go on with (EndTxn v5 bumps the epoch).
pub fn txn_api_at(c: &mut Client, key: ApiKey, v: i16, producer: (i64, i16)) -> (i64, i16) {
    let (pid, epoch) = (ProducerId(producer.0), producer.1);
    let mut next = producer;
    let code = match key {
        ApiKey::AddPartitionsToTxn if v >= 4 => {
            let txn = add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                .with_transactional_id(txn_id())
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_verify_only(true)
                .with_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic("v"))
                        .with_partitions(vec![0]),
                ]);
            let req = AddPartitionsToTxnRequest::default().with_transactions(vec![txn]);
            call(c, key, v, &req, |r: &AddPartitionsToTxnResponse| {
                r.results_by_transaction[0].topic_results[0].results_by_partition[0]
                    .partition_error_code
            })
        }
        ApiKey::AddPartitionsToTxn => {
            let req = AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(txn_id())
                .with_v3_and_below_producer_id(pid)
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic("v"))
                        .with_partitions(vec![0]),
                ]);
            call(c, key, v, &req, |r: &AddPartitionsToTxnResponse| {
                r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
            })
        }
        ApiKey::AddOffsetsToTxn => {
            let req = AddOffsetsToTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_group_id(GroupId(s("vg")));
            call(c, key, v, &req, |r: &AddOffsetsToTxnResponse| r.error_code)
        }
        ApiKey::TxnOffsetCommit => {
            let req = TxnOffsetCommitRequest::default()
                .with_transactional_id(txn_id())
                .with_group_id(GroupId(s("vg")))
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_generation_id(-1)
                .with_topics(vec![
                    txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                        .with_name(topic("v"))
                        .with_partitions(vec![
                            txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(1)
                                .with_committed_leader_epoch(-1),
                        ]),
                ]);
            call(c, key, v, &req, |r: &TxnOffsetCommitResponse| {
                r.topics[0].partitions[0].error_code
            })
        }
        ApiKey::EndTxn => {
            // The first commits; up to v4 the others are retries of a completed commit. v5
            // ends a transaction of its own, which bumps the epoch.
            if v >= 5 {
                txn_api_at(c, ApiKey::AddPartitionsToTxn, 3, producer);
            }
            let req = EndTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_committed(true);
            let (code, ended) = answer(c, key, v, &req, |r: &EndTxnResponse| {
                (r.error_code, (r.producer_id.0, r.producer_epoch))
            });
            if v >= 5 {
                assert_eq!(
                    ended,
                    (producer.0, producer.1 + 1),
                    "EndTxn v5 bumps the epoch"
                );
                next = ended;
            }
            code
        }
        ApiKey::WriteTxnMarkers => {
            let marker = write_txn_markers_request::WritableTxnMarker::default()
                .with_producer_id(ProducerId(999_999))
                .with_producer_epoch(0)
                .with_transaction_result(false)
                .with_coordinator_epoch(0)
                .with_topics(vec![
                    write_txn_markers_request::WritableTxnMarkerTopic::default()
                        .with_name(topic("v"))
                        .with_partition_indexes(vec![0]),
                ]);
            let req = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
            call(c, key, v, &req, |r: &WriteTxnMarkersResponse| {
                r.markers[0].topics[0].partitions[0].error_code
            })
        }
        ApiKey::DescribeTransactions => {
            let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id()]);
            call(c, key, v, &req, |r: &DescribeTransactionsResponse| {
                r.transaction_states[0].error_code
            })
        }
        ApiKey::ListTransactions => {
            let req = ListTransactionsRequest::default().with_duration_filter(-1);
            call(c, key, v, &req, |r: &ListTransactionsResponse| r.error_code)
        }
        ApiKey::DescribeProducers => {
            let req = DescribeProducersRequest::default().with_topics(vec![
                describe_producers_request::TopicRequest::default()
                    .with_name(topic("v"))
                    .with_partition_indexes(vec![0]),
            ]);
            call(c, key, v, &req, |r: &DescribeProducersResponse| {
                r.topics[0].partitions[0].error_code
            })
        }
        other => panic!("{other:?} is not a transaction API"),
    };
    assert_eq!(code, 0, "{key:?} v{v}");
    next
}
