//! Producers and transactions: WRITE on the transactional id, IDEMPOTENT_WRITE for an
//! idempotent producer's id, CLUSTER_ACTION for what brokers send each other.

use chronik_auth::acl::{Operation, ResourceType};
use chronik_kafka::kafka_protocol::messages::*;

use super::{Amend, Asked, CLUSTER_DENIED, GROUP_DENIED, Gate, TOPIC_DENIED, TXN_ID_DENIED, split};

/// What Kafka answers for the partitions of a request it refused in part.
const NOT_ATTEMPTED: i16 = 55;

/// A transactional producer needs WRITE on its transactional id; an idempotent one
/// IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
pub(super) fn init_producer_id(a: &Asked<'_>, r: InitProducerIdRequest) -> Gate {
    let (ok, code) = match &r.transactional_id {
        Some(id) => (
            a.may_transactional_id(Operation::Write, id.as_str()),
            TXN_ID_DENIED,
        ),
        None => (
            a.may_cluster(Operation::IdempotentWrite)
                || a.may_some(Operation::Write, ResourceType::Topic),
            CLUSTER_DENIED,
        ),
    };
    if ok {
        return Gate::Serve(RequestKind::InitProducerId(r), None);
    }
    Gate::Refuse(ResponseKind::InitProducerId(
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    ))
}

/// AddPartitionsToTxn: a client's needs WRITE on its transactional id and on each topic (the
/// other partitions of a request refused in part are not attempted, as in Kafka); a broker's
/// batched verification (v4+) needs CLUSTER_ACTION.
pub(super) fn add_partitions_to_txn(a: &Asked<'_>, r: AddPartitionsToTxnRequest) -> Gate {
    if a.version >= 4 {
        return if a.may_cluster(Operation::ClusterAction) {
            Gate::Serve(RequestKind::AddPartitionsToTxn(r), None)
        } else {
            Gate::Refuse(ResponseKind::AddPartitionsToTxn(
                AddPartitionsToTxnResponse::default().with_error_code(CLUSTER_DENIED),
            ))
        };
    }
    let id_ok = a.may_transactional_id(Operation::Write, r.v3_and_below_transactional_id.as_str());
    let denied: Vec<&TopicName> = (r.v3_and_below_topics.iter())
        .map(|t| &t.name)
        .filter(|n| !id_ok || !a.may_topic(Operation::Write, n.as_str()))
        .collect();
    if denied.is_empty() {
        return Gate::Serve(RequestKind::AddPartitionsToTxn(r), None);
    }
    let results = (r.v3_and_below_topics.iter())
        .map(|t| {
            let code = match (id_ok, denied.contains(&&t.name)) {
                (false, _) => TXN_ID_DENIED,
                (true, true) => TOPIC_DENIED,
                (true, false) => NOT_ATTEMPTED,
            };
            add_partitions_to_txn_response::AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(
                    (t.partitions.iter())
                        .map(|p| {
                            add_partitions_to_txn_response::AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(*p)
                                .with_partition_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    Gate::Refuse(ResponseKind::AddPartitionsToTxn(
        AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results),
    ))
}

pub(super) fn add_offsets_to_txn(a: &Asked<'_>, r: AddOffsetsToTxnRequest) -> Gate {
    let code = if !a.may_transactional_id(Operation::Write, r.transactional_id.as_str()) {
        TXN_ID_DENIED
    } else if !a.may_group(Operation::Read, r.group_id.as_str()) {
        GROUP_DENIED
    } else {
        return Gate::Serve(RequestKind::AddOffsetsToTxn(r), None);
    };
    Gate::Refuse(ResponseKind::AddOffsetsToTxn(
        AddOffsetsToTxnResponse::default().with_error_code(code),
    ))
}

pub(super) fn end_txn(a: &Asked<'_>, r: EndTxnRequest) -> Gate {
    if a.may_transactional_id(Operation::Write, r.transactional_id.as_str()) {
        return Gate::Serve(RequestKind::EndTxn(r), None);
    }
    Gate::Refuse(ResponseKind::EndTxn(
        EndTxnResponse::default()
            .with_error_code(TXN_ID_DENIED)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    ))
}

/// TxnOffsetCommit needs WRITE on the transactional id and READ on the group (the whole
/// request refused otherwise, before anything is looked up), and READ on each topic.
pub(super) fn txn_offset_commit(a: &Asked<'_>, mut r: TxnOffsetCommitRequest) -> Gate {
    let whole = if !a.may_transactional_id(Operation::Write, r.transactional_id.as_str()) {
        Some(TXN_ID_DENIED)
    } else if !a.may_group(Operation::Read, r.group_id.as_str()) {
        Some(GROUP_DENIED)
    } else {
        None
    };
    if let Some(code) = whole {
        return Gate::Refuse(ResponseKind::TxnOffsetCommit(
            TxnOffsetCommitResponse::default().with_topics(txn_commit_errors(&r.topics, code)),
        ));
    }
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Read, t.name.as_str())
    });
    r.topics = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::TxnOffsetCommit(r), None);
    }
    let refused = txn_commit_errors(&denied, TOPIC_DENIED);
    let amend = Amend::new(move |body| {
        if let ResponseKind::TxnOffsetCommit(body) = body {
            body.topics.extend(refused.iter().cloned());
        }
    });
    Gate::Serve(RequestKind::TxnOffsetCommit(r), Some(amend))
}

fn txn_commit_errors(
    topics: &[txn_offset_commit_request::TxnOffsetCommitRequestTopic],
    code: i16,
) -> Vec<txn_offset_commit_response::TxnOffsetCommitResponseTopic> {
    (topics.iter())
        .map(|t| {
            txn_offset_commit_response::TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    (t.partitions.iter())
                        .map(|p| {
                            txn_offset_commit_response::TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect()
}

/// WriteTxnMarkers comes from transaction coordinators: CLUSTER_ACTION.
pub(super) fn write_txn_markers(a: &Asked<'_>, r: WriteTxnMarkersRequest) -> Gate {
    if a.may_cluster(Operation::ClusterAction) {
        return Gate::Serve(RequestKind::WriteTxnMarkers(r), None);
    }
    let markers = (r.markers.iter())
        .map(|m| {
            write_txn_markers_response::WritableTxnMarkerResult::default()
                .with_producer_id(m.producer_id)
                .with_topics(
                    (m.topics.iter())
                        .map(|t| {
                            write_txn_markers_response::WritableTxnMarkerTopicResult::default()
                                .with_name(t.name.clone())
                                .with_partitions(
                                    (t.partition_indexes.iter())
                                        .map(|p| {
                                            write_txn_markers_response::WritableTxnMarkerPartitionResult::default()
                                                .with_partition_index(*p)
                                                .with_error_code(CLUSTER_DENIED)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                )
        })
        .collect();
    Gate::Refuse(ResponseKind::WriteTxnMarkers(
        WriteTxnMarkersResponse::default().with_markers(markers),
    ))
}

pub(super) fn describe_transactions(a: &Asked<'_>, mut r: DescribeTransactionsRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.transactional_ids), |id| {
        a.may_transactional_id(Operation::Describe, id.as_str())
    });
    r.transactional_ids = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::DescribeTransactions(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::DescribeTransactions(body) = body {
            for id in &denied {
                body.transaction_states.push(
                    describe_transactions_response::TransactionState::default()
                        .with_transactional_id(id.clone())
                        .with_error_code(TXN_ID_DENIED)
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1),
                );
            }
        }
    });
    Gate::Serve(RequestKind::DescribeTransactions(r), Some(amend))
}

/// ListTransactions lists the transactions whose id the client may DESCRIBE.
pub(super) fn list_transactions(a: &Asked<'_>, r: ListTransactionsRequest) -> Gate {
    let asker = a.owned();
    let amend = Amend::new(move |body| {
        if let ResponseKind::ListTransactions(body) = body {
            body.transaction_states.retain(|t| {
                asker.may_transactional_id(Operation::Describe, t.transactional_id.as_str())
            });
        }
    });
    Gate::Serve(RequestKind::ListTransactions(r), Some(amend))
}
