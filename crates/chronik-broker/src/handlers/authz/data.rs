//! Reading and writing topics: Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, Metadata,
//! DeleteRecords, DescribeProducers.

use chronik_auth::acl::Operation;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::*;
use uuid::Uuid;

use super::{
    Amend, Asked, CLUSTER_DENIED, Gate, TOPIC_DENIED, TXN_ID_DENIED, UNKNOWN_TOPIC, split,
};

/// Produce needs WRITE on each topic, and a transactional produce WRITE on its
/// transactional id (every partition refused otherwise). A topic that does not exist is
/// created for the producer only if it may CREATE it; otherwise it stays unknown.
pub(super) fn produce(a: &Asked<'_>, mut r: ProduceRequest) -> Gate {
    let txn_denied = (r.transactional_id.as_ref())
        .is_some_and(|id| !a.may_transactional_id(Operation::Write, id.as_str()));
    let refusal = |name: &str| {
        if txn_denied {
            Some(TXN_ID_DENIED)
        } else if !a.may_topic(Operation::Write, name) {
            Some(TOPIC_DENIED)
        } else if !a.may_create_if_missing(name) {
            Some(UNKNOWN_TOPIC)
        } else {
            None
        }
    };
    let mut refused: Vec<(TopicName, Vec<i32>, i16)> = Vec::new();
    r.topic_data.retain(|t| match refusal(t.name.as_str()) {
        None => true,
        Some(code) => {
            let partitions = t.partition_data.iter().map(|p| p.index).collect();
            refused.push((t.name.clone(), partitions, code));
            false
        }
    });
    if refused.is_empty() {
        return Gate::Serve(RequestKind::Produce(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::Produce(body) = body {
            for (name, partitions, code) in &refused {
                body.responses.push(
                    produce_response::TopicProduceResponse::default()
                        .with_name(name.clone())
                        .with_partition_responses(
                            (partitions.iter())
                                .map(|p| {
                                    produce_response::PartitionProduceResponse::default()
                                        .with_index(*p)
                                        .with_error_code(*code)
                                        .with_base_offset(-1)
                                })
                                .collect(),
                        ),
                );
            }
        }
    });
    Gate::Serve(RequestKind::Produce(r), Some(amend))
}

/// A follower's fetch needs CLUSTER_ACTION; a consumer's READ on each topic. With the
/// authorizer on, other fetches are served without a fetch session, so that every fetch
/// names, and is checked for, every partition it reads (a session would go on serving the
/// partitions it holds to a follower that lost CLUSTER_ACTION).
pub(super) fn fetch(a: &Asked<'_>, mut r: FetchRequest) -> Gate {
    // A follower's fetch without CLUSTER_ACTION: every partition refused, as Kafka does.
    let follower = r.replica_id.0 >= 0;
    if follower && a.may_cluster(Operation::ClusterAction) {
        return Gate::Serve(RequestKind::Fetch(r), None);
    }
    r.session_id = 0;
    r.session_epoch = -1;
    r.forgotten_topics_data.clear();
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        !follower && a.may_topic(Operation::Read, t.topic.as_str())
    });
    r.topics = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::Fetch(r), None);
    }
    let refused: Vec<(TopicName, Vec<i32>)> = (denied.into_iter())
        .map(|t| (t.topic, t.partitions.iter().map(|p| p.partition).collect()))
        .collect();
    let amend = Amend::new(move |body| {
        if let ResponseKind::Fetch(body) = body {
            for (name, partitions) in &refused {
                body.responses.push(
                    fetch_response::FetchableTopicResponse::default()
                        .with_topic(name.clone())
                        .with_partitions(
                            (partitions.iter())
                                .map(|p| {
                                    fetch_response::PartitionData::default()
                                        .with_partition_index(*p)
                                        .with_error_code(TOPIC_DENIED)
                                        .with_high_watermark(-1)
                                        .with_last_stable_offset(-1)
                                        .with_log_start_offset(-1)
                                })
                                .collect(),
                        ),
                );
            }
        }
    });
    Gate::Serve(RequestKind::Fetch(r), Some(amend))
}

/// ListOffsets needs DESCRIBE on each topic.
pub(super) fn list_offsets(a: &Asked<'_>, mut r: ListOffsetsRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Describe, t.name.as_str())
    });
    r.topics = allowed;
    let refused: Vec<(TopicName, Vec<i32>)> = (denied.into_iter())
        .map(|t| {
            (
                t.name,
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let amend = (!refused.is_empty()).then(|| {
        Amend::new(move |body| {
            if let ResponseKind::ListOffsets(body) = body {
                for (name, partitions) in &refused {
                    body.topics.push(
                        list_offsets_response::ListOffsetsTopicResponse::default()
                            .with_name(name.clone())
                            .with_partitions(
                                (partitions.iter())
                                    .map(|p| {
                                        list_offsets_response::ListOffsetsPartitionResponse::default()
                                            .with_partition_index(*p)
                                            .with_error_code(TOPIC_DENIED)
                                            .with_timestamp(-1)
                                            .with_offset(-1)
                                    })
                                    .collect(),
                            ),
                    );
                }
            }
        })
    });
    Gate::Serve(RequestKind::ListOffsets(r), amend)
}

/// A follower's OffsetForLeaderEpoch needs CLUSTER_ACTION; a consumer's DESCRIBE on each topic.
pub(super) fn offset_for_leader_epoch(a: &Asked<'_>, mut r: OffsetForLeaderEpochRequest) -> Gate {
    let follower = r.replica_id.0 >= 0;
    if follower && !a.may_cluster(Operation::ClusterAction) {
        let code = CLUSTER_DENIED;
        return Gate::Refuse(ResponseKind::OffsetForLeaderEpoch(epoch_errors(
            r.topics, code,
        )));
    }
    if follower {
        return Gate::Serve(RequestKind::OffsetForLeaderEpoch(r), None);
    }
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Describe, t.topic.as_str())
    });
    r.topics = allowed;
    let refused = epoch_errors(denied, TOPIC_DENIED);
    let amend = (!refused.topics.is_empty()).then(|| {
        Amend::new(move |body| {
            if let ResponseKind::OffsetForLeaderEpoch(body) = body {
                body.topics.extend(refused.topics.iter().cloned());
            }
        })
    });
    Gate::Serve(RequestKind::OffsetForLeaderEpoch(r), amend)
}

fn epoch_errors(
    topics: Vec<offset_for_leader_epoch_request::OffsetForLeaderTopic>,
    code: i16,
) -> OffsetForLeaderEpochResponse {
    OffsetForLeaderEpochResponse::default().with_topics(
        (topics.into_iter())
            .map(|t| {
                offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                    .with_topic(t.topic)
                    .with_partitions(
                        (t.partitions.iter())
                            .map(|p| {
                                offset_for_leader_epoch_response::EpochEndOffset::default()
                                    .with_partition(p.partition)
                                    .with_error_code(code)
                                    .with_leader_epoch(-1)
                                    .with_end_offset(-1)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// Metadata shows only the topics the client may DESCRIBE: a named one it may not gets
/// TOPIC_AUTHORIZATION_FAILED, and the list of all topics leaves such topics out. A topic
/// is created on the fly only for a client that may CREATE it.
pub(super) fn metadata(a: &Asked<'_>, mut r: MetadataRequest) -> Gate {
    let mut refused: Vec<TopicName> = Vec::new();
    if let Some(topics) = r.topics.take() {
        let (allowed, denied) = split(topics, |t| {
            t.name
                .as_ref()
                .is_none_or(|n| a.may_topic(Operation::Describe, n.as_str()))
        });
        refused = denied.into_iter().filter_map(|t| t.name).collect();
        let may_create = |t: &metadata_request::MetadataRequestTopic| {
            (t.name.as_ref()).is_none_or(|n| a.may_topic(Operation::Create, n.as_str()))
        };
        if r.allow_auto_topic_creation
            && !a.may_cluster(Operation::Create)
            && !allowed.iter().all(may_create)
        {
            r.allow_auto_topic_creation = false;
        }
        // An empty list asks for every topic in v0; keep "nothing allowed" as nothing.
        if allowed.is_empty() && !refused.is_empty() {
            let body = MetadataResponse::default().with_topics(denied_topics(&refused));
            return Gate::Serve(
                RequestKind::Metadata(r.with_topics(Some(Vec::new()))),
                Some(Amend::new(move |response| {
                    if let ResponseKind::Metadata(response) = response {
                        response.topics = body.topics.clone();
                    }
                })),
            );
        }
        r.topics = Some(allowed);
    }
    // What is left to filter: the list of all topics, and topics asked for by id (names
    // were checked above); a topic by id the client may not describe is refused, as in Kafka.
    let by_id: Vec<Uuid> = (r.topics.iter().flatten())
        .filter(|t| t.name.is_none())
        .map(|t| t.topic_id)
        .collect();
    let asker = a.owned();
    let amend = Amend::new(move |body| {
        if let ResponseKind::Metadata(body) = body {
            let may = |n: &TopicName| asker.may_topic(Operation::Describe, n.as_str());
            body.topics.retain_mut(|t| {
                if t.name.as_ref().is_none_or(may) {
                    return true;
                }
                if by_id.contains(&t.topic_id) {
                    *t = metadata_response::MetadataResponseTopic::default()
                        .with_topic_id(t.topic_id)
                        .with_error_code(TOPIC_DENIED);
                    return true;
                }
                false
            });
            body.topics.extend(denied_topics(&refused));
        }
    });
    Gate::Serve(RequestKind::Metadata(r), Some(amend))
}

fn denied_topics(names: &[TopicName]) -> Vec<metadata_response::MetadataResponseTopic> {
    (names.iter())
        .map(|n| {
            metadata_response::MetadataResponseTopic::default()
                .with_name(Some(n.clone()))
                .with_error_code(TOPIC_DENIED)
        })
        .collect()
}

/// DeleteRecords needs DELETE on each topic.
pub(super) fn delete_records(a: &Asked<'_>, mut r: DeleteRecordsRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Delete, t.name.as_str())
    });
    r.topics = allowed;
    let refused: Vec<delete_records_response::DeleteRecordsTopicResult> = (denied.into_iter())
        .map(|t| {
            delete_records_response::DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(
                    (t.partitions.iter())
                        .map(|p| {
                            delete_records_response::DeleteRecordsPartitionResult::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(TOPIC_DENIED)
                                .with_low_watermark(-1)
                        })
                        .collect(),
                )
        })
        .collect();
    let amend = (!refused.is_empty()).then(|| {
        Amend::new(move |body| {
            if let ResponseKind::DeleteRecords(body) = body {
                body.topics.extend(refused.iter().cloned());
            }
        })
    });
    Gate::Serve(RequestKind::DeleteRecords(r), amend)
}

/// DescribeProducers needs READ on each topic.
pub(super) fn describe_producers(a: &Asked<'_>, mut r: DescribeProducersRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Read, t.name.as_str())
    });
    r.topics = allowed;
    let message = ResponseError::TopicAuthorizationFailed.to_string();
    let refused: Vec<describe_producers_response::TopicResponse> = (denied.into_iter())
        .map(|t| {
            describe_producers_response::TopicResponse::default()
                .with_name(t.name)
                .with_partitions(
                    (t.partition_indexes.iter())
                        .map(|p| {
                            describe_producers_response::PartitionResponse::default()
                                .with_partition_index(*p)
                                .with_error_code(TOPIC_DENIED)
                                .with_error_message(Some(super::super::str_bytes(&message)))
                        })
                        .collect(),
                )
        })
        .collect();
    let amend = (!refused.is_empty()).then(|| {
        Amend::new(move |body| {
            if let ResponseKind::DescribeProducers(body) = body {
                body.topics.extend(refused.iter().cloned());
            }
        })
    });
    Gate::Serve(RequestKind::DescribeProducers(r), amend)
}
