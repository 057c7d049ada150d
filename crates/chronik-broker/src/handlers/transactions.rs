//! The transactional producer's requests to its transaction coordinator (AddPartitionsToTxn,
//! AddOffsetsToTxn, EndTxn; InitProducerId is in init_producer_id.rs), to its group
//! coordinator (TxnOffsetCommit), and the coordinator's WriteTxnMarkers to partition leaders.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use chronik_kafka::kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use chronik_kafka::kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use chronik_kafka::kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, ProducerId, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use chronik_records::TxnMarker;
use chronik_types::TopicPartition;

use super::NONE;
use crate::groups::{Caller, OFFSETS_TOPIC, offsets_partitions, partition_for};
use crate::handlers::groups::offsets::{Requested, verdicts};
use crate::kafka_errors::{coord_error, group_error_code, partition_error_code};
use crate::services::Services;
use crate::transactions::{CoordError, EndProtocol, MAX_TXN_ID_BYTES, VERIFY_VERSION, Verified};

/// EndTxn v5 (KIP-890 part 2): every ending bumps the producer's epoch, which the response
/// carries.
const EPOCH_BUMP_VERSION: i16 = 5;
/// TxnOffsetCommit v5 (KIP-890 part 2): the producer sent no AddOffsetsToTxn; the commit
/// adds the group's offsets partition to its transaction.
const TXN_COMMIT_JOINS_VERSION: i16 = 5;

/// The first versions answering a fenced producer with PRODUCER_FENCED (KIP-588).
const ADD_PARTITIONS_FENCED_VERSION: i16 = 2;
const ADD_OFFSETS_FENCED_VERSION: i16 = 2;
const END_TXN_FENCED_VERSION: i16 = 2;

fn fenced_error(version: i16, since: i16) -> ResponseError {
    match version >= since {
        true => ResponseError::ProducerFenced,
        false => ResponseError::InvalidProducerEpoch,
    }
}

/// The refusal of a transactional id no stored record can hold.
fn check_id(txn_id: &str) -> Result<(), ResponseError> {
    match txn_id.is_empty() || txn_id.len() > MAX_TXN_ID_BYTES {
        true => Err(ResponseError::InvalidRequest),
        false => Ok(()),
    }
}

pub(crate) async fn add_partitions(
    services: &Services,
    req: AddPartitionsToTxnRequest,
    version: i16,
) -> AddPartitionsToTxnResponse {
    if version >= VERIFY_VERSION {
        return add_partitions_batched(services, req).await;
    }
    let txn_id = req.v3_and_below_transactional_id.0.as_str();
    let producer = (
        req.v3_and_below_producer_id.0,
        req.v3_and_below_producer_epoch,
    );
    let mut partitions = Vec::new();
    for topic in &req.v3_and_below_topics {
        for p in &topic.partitions {
            partitions.push(TopicPartition::new(topic.name.0.as_str(), *p));
        }
    }
    let unknown: Vec<&TopicPartition> = services.cluster.metadata(|s| {
        (partitions.iter())
            .filter(|tp| {
                s.topic_by_name(&tp.topic)
                    .and_then(|t| t.partition(tp.partition))
                    .is_none()
            })
            .collect()
    });
    let code = if let Err(e) = check_id(txn_id) {
        e.code()
    } else if !unknown.is_empty() {
        // Kafka refuses the whole request: the unknown ones, and OPERATION_NOT_ATTEMPTED for the rest.
        return partition_results(&req, |tp| match unknown.contains(&tp) {
            true => ResponseError::UnknownTopicOrPartition.code(),
            false => ResponseError::OperationNotAttempted.code(),
        });
    } else {
        match services
            .txns
            .add_partitions(txn_id, producer, &partitions)
            .await
        {
            Ok(()) => NONE,
            Err(e) => {
                log_refusal("AddPartitionsToTxn", txn_id, &e);
                coord_error(&e, fenced_error(version, ADD_PARTITIONS_FENCED_VERSION)).code()
            }
        }
    };
    partition_results(&req, |_| code)
}

/// AddPartitionsToTxn v4+, the form brokers send: several transactions, each added or, with
/// `verify_only`, only checked (KIP-890: is each partition in the ongoing transaction?).
async fn add_partitions_batched(
    services: &Services,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let mut results = Vec::with_capacity(req.transactions.len().min(1024));
    for txn in &req.transactions {
        let txn_id = txn.transactional_id.0.as_str();
        let producer = (txn.producer_id.0, txn.producer_epoch);
        let mut partitions = Vec::new();
        for topic in &txn.topics {
            for p in &topic.partitions {
                partitions.push(TopicPartition::new(topic.name.0.as_str(), *p));
            }
        }
        let codes: Vec<i16> = if let Err(e) = check_id(txn_id) {
            vec![e.code(); partitions.len()]
        } else if txn.verify_only {
            (partitions.iter())
                .map(|tp| match services.txns.verify_here(txn_id, producer, tp) {
                    Ok(Verified::InTransaction) => NONE,
                    Ok(Verified::NotInTransaction) => ResponseError::InvalidTxnState.code(),
                    Ok(Verified::Fenced) => ResponseError::ProducerFenced.code(),
                    Ok(Verified::Unavailable(_)) => ResponseError::CoordinatorNotAvailable.code(),
                    Err(e) => coord_error(&e, ResponseError::ProducerFenced).code(),
                })
                .collect()
        } else {
            let code = match services
                .txns
                .add_partitions(txn_id, producer, &partitions)
                .await
            {
                Ok(()) => NONE,
                Err(e) => coord_error(&e, ResponseError::ProducerFenced).code(),
            };
            vec![code; partitions.len()]
        };
        let mut codes = codes.into_iter();
        let topic_results = (txn.topics.iter())
            .map(|topic| {
                let parts = (topic.partitions.iter())
                    .map(|p| {
                        AddPartitionsToTxnPartitionResult::default()
                            .with_partition_index(*p)
                            .with_partition_error_code(codes.next().unwrap_or(NONE))
                    })
                    .collect();
                AddPartitionsToTxnTopicResult::default()
                    .with_name(topic.name.clone())
                    .with_results_by_partition(parts)
            })
            .collect();
        results.push(
            AddPartitionsToTxnResult::default()
                .with_transactional_id(txn.transactional_id.clone())
                .with_topic_results(topic_results),
        );
    }
    AddPartitionsToTxnResponse::default()
        .with_error_code(NONE)
        .with_results_by_transaction(results)
}

fn partition_results(
    req: &AddPartitionsToTxnRequest,
    code_of: impl Fn(&TopicPartition) -> i16,
) -> AddPartitionsToTxnResponse {
    let results = (req.v3_and_below_topics.iter())
        .map(|topic| {
            let parts = (topic.partitions.iter())
                .map(|p| {
                    let tp = TopicPartition::new(topic.name.0.as_str(), *p);
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(*p)
                        .with_partition_error_code(code_of(&tp))
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(topic.name.clone())
                .with_results_by_partition(parts)
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
}

pub(crate) async fn add_offsets(
    services: &Services,
    req: AddOffsetsToTxnRequest,
    version: i16,
) -> AddOffsetsToTxnResponse {
    let txn_id = req.transactional_id.0.as_str();
    let producer = (req.producer_id.0, req.producer_epoch);
    let code = match check_id(txn_id) {
        Err(e) => e.code(),
        Ok(()) => match services.cluster.metadata(offsets_partitions) {
            None => ResponseError::CoordinatorNotAvailable.code(),
            Some(count) => {
                let tp = TopicPartition::new(
                    OFFSETS_TOPIC,
                    partition_for(req.group_id.0.as_str(), count),
                );
                match services.txns.add_partitions(txn_id, producer, &[tp]).await {
                    Ok(()) => NONE,
                    Err(e) => {
                        log_refusal("AddOffsetsToTxn", txn_id, &e);
                        coord_error(&e, fenced_error(version, ADD_OFFSETS_FENCED_VERSION)).code()
                    }
                }
            }
        },
    };
    AddOffsetsToTxnResponse::default().with_error_code(code)
}

pub(crate) async fn end_txn(
    services: &Services,
    req: EndTxnRequest,
    version: i16,
) -> EndTxnResponse {
    let txn_id = req.transactional_id.0.as_str();
    let producer = (req.producer_id.0, req.producer_epoch);
    let protocol = match version >= EPOCH_BUMP_VERSION {
        true => EndProtocol::BumpEpoch,
        false => EndProtocol::KeepEpoch,
    };
    let ended = match check_id(txn_id) {
        Err(e) => Err(e.code()),
        Ok(()) => {
            let ended = services
                .txns
                .end_txn(txn_id, producer, req.committed, protocol);
            ended.await.map_err(|e| {
                log_refusal("EndTxn", txn_id, &e);
                coord_error(&e, fenced_error(version, END_TXN_FENCED_VERSION)).code()
            })
        }
    };
    // The producer id and epoch to go on with (v5); earlier versions carry none.
    let (code, (producer_id, epoch)) = match ended {
        Ok(next) if version >= EPOCH_BUMP_VERSION => (NONE, next),
        Ok(_) => (NONE, (-1, -1)),
        Err(code) => (code, (-1, -1)),
    };
    EndTxnResponse::default()
        .with_error_code(code)
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(epoch)
}

/// TxnOffsetCommit: the consumer group's offsets, committed with the producer's transaction.
pub(crate) async fn txn_offset_commit(
    services: &Services,
    req: TxnOffsetCommitRequest,
    version: i16,
) -> TxnOffsetCommitResponse {
    let group = req.group_id.0.as_str();
    let producer = (req.producer_id.0, req.producer_epoch);
    if version >= TXN_COMMIT_JOINS_VERSION
        && let Err(code) = join_offsets_partition(services, &req, producer).await
    {
        let none = (req.topics.iter()).map(|t| vec![NONE; t.partitions.len()]);
        return txn_commit_answer(&req, none.collect(), code);
    }
    let instance = req.group_instance_id.as_ref().map(|i| i.as_str());
    let who = Caller {
        member_id: req.member_id.as_str(),
        instance_id: instance,
        generation: req.generation_id,
    };
    let requested = (req.topics.iter()).map(|t| {
        let parts = (t.partitions.iter()).map(|p| Requested {
            partition: p.partition_index,
            offset: p.committed_offset,
            leader_epoch: p.committed_leader_epoch,
            metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
        });
        (t.name.0.as_str(), parts.collect())
    });
    let (codes, entries) = verdicts(services, requested);
    let outcome = match services.groups.txn_commit(group, producer, who, entries) {
        Ok(None) => NONE,
        Ok(Some(written)) => match written.wait_async().await {
            Ok(()) => NONE,
            Err(e) => group_error_code(&e),
        },
        Err(e) => {
            tracing::debug!(group, error = %e, "TxnOffsetCommit refused");
            group_error_code(&e)
        }
    };
    txn_commit_answer(&req, codes, outcome)
}

/// Adds the group's `__consumer_offsets` partition to the producer's transaction
/// (TxnOffsetCommit v5), or the error code every partition of the commit is answered with.
async fn join_offsets_partition(
    services: &Services,
    req: &TxnOffsetCommitRequest,
    producer: (i64, i16),
) -> Result<(), i16> {
    let txn_id = req.transactional_id.0.as_str();
    check_id(txn_id).map_err(|e| e.code())?;
    let count = (services.cluster.metadata(offsets_partitions))
        .ok_or(ResponseError::CoordinatorNotAvailable.code())?;
    let tp = TopicPartition::new(OFFSETS_TOPIC, partition_for(req.group_id.0.as_str(), count));
    match services.txns.join(txn_id, producer, &tp).await {
        Verified::InTransaction => Ok(()),
        Verified::Fenced => Err(ResponseError::InvalidProducerEpoch.code()),
        Verified::NotInTransaction => Err(ResponseError::InvalidTxnState.code()),
        Verified::Unavailable(why) => {
            tracing::debug!(
                transactional_id = txn_id,
                why,
                "offsets partition not added"
            );
            Err(ResponseError::CoordinatorNotAvailable.code())
        }
    }
}

/// The answer to a TxnOffsetCommit: each partition's own refusal (`codes`), else `outcome`.
fn txn_commit_answer(
    req: &TxnOffsetCommitRequest,
    codes: Vec<Vec<i16>>,
    outcome: i16,
) -> TxnOffsetCommitResponse {
    let topics = (req.topics.iter().zip(codes))
        .map(|(topic, topic_codes)| {
            let partitions = (topic.partitions.iter().zip(topic_codes))
                .map(|(p, code)| {
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(if code == NONE { outcome } else { code })
                })
                .collect();
            TxnOffsetCommitResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

fn log_refusal(api: &str, txn_id: &str, e: &CoordError) {
    tracing::debug!(api, transactional_id = txn_id, error = %e, "transactional request refused");
}

/// WriteTxnMarkers: each marker in every partition it names, written as leader and answered
/// once the partition's ISR has it.
pub(crate) async fn write_txn_markers(
    services: &Services,
    req: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let mut results = Vec::with_capacity(req.markers.len().min(1024));
    for marker in req.markers {
        let producer = (marker.producer_id.0, marker.producer_epoch);
        let ending = TxnMarker {
            commit: marker.transaction_result,
            coordinator_epoch: marker.coordinator_epoch,
        };
        let tps: Vec<TopicPartition> = (marker.topics.iter())
            .flat_map(|t| {
                let name = t.name.0.as_str();
                (t.partition_indexes.iter()).map(move |p| TopicPartition::new(name, *p))
            })
            .collect();
        let (layer, groups) = (&services.layer, &services.groups);
        let written =
            crate::transactions::write_markers(layer, groups, &tps, producer, ending).await;
        let mut outcomes = tps.iter().zip(written);
        let mut topics = Vec::new();
        for topic in marker.topics {
            let mut partitions = Vec::new();
            for (tp, written) in outcomes.by_ref().take(topic.partition_indexes.len()) {
                let code = match written {
                    Ok(()) => NONE,
                    Err(e) => {
                        tracing::debug!(partition = %tp, error = %e, "transaction marker refused");
                        partition_error_code(&e)
                    }
                };
                partitions.push(
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(tp.partition)
                        .with_error_code(code),
                );
            }
            topics.push(
                WritableTxnMarkerTopicResult::default()
                    .with_name(topic.name)
                    .with_partitions(partitions),
            );
        }
        results.push(
            WritableTxnMarkerResult::default()
                .with_producer_id(marker.producer_id)
                .with_topics(topics),
        );
    }
    WriteTxnMarkersResponse::default().with_markers(results)
}
