//! OffsetCommit (answered once the commit is durable) and OffsetFetch (v8: several groups).

use std::collections::HashSet;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use chronik_kafka::kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use chronik_kafka::kafka_protocol::messages::{
    GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    TopicName,
};

use chronik_kafka::kafka_protocol::protocol::StrBytes;

use super::{caller, error_code};
use crate::groups::{CommitEntry, MAX_OFFSET_METADATA_BYTES, OffsetValue, TopicOffsets};
use crate::handlers::{NONE, str_bytes};
use crate::services::Services;
use crate::wall_clock::wall_ms;

/// OffsetFetch v2 moved coordinator errors to a top-level error code; v8 batched groups.
const FETCH_TOP_LEVEL_ERROR_VERSION: i16 = 2;
const FETCH_BATCHED_VERSION: i16 = 8;
/// OffsetCommit 9 and OffsetFetch 9 carry consumer-protocol member epochs (KIP-848).
const MEMBER_EPOCH_VERSION: i16 = 9;

/// Validates and applies the commit now, in request order (a client pipelining commits on
/// one connection, as librdkafka's async commits do, must see the last one win); the returned
/// future answers once the commit is durable.
pub(crate) fn commit(
    services: &Services,
    req: OffsetCommitRequest,
    version: i16,
) -> impl Future<Output = OffsetCommitResponse> + Send + 'static {
    let group = req.group_id.0.as_str();
    let instance = req.group_instance_id.as_ref().map(|i| i.as_str());
    let who = caller(
        req.member_id.as_str(),
        instance,
        req.generation_id_or_member_epoch,
    );
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
    tracing::debug!(group, member = %req.member_id, offsets = entries.len(), "OffsetCommit");
    let member_epochs = version >= MEMBER_EPOCH_VERSION;
    let applied = services.groups.commit(group, who, entries, member_epochs);
    let group = group.to_owned();
    async move {
        let outcome = match applied {
            Ok(None) => NONE,
            Ok(Some(durable)) => match durable.wait_async().await {
                Ok(()) => NONE,
                Err(e) => {
                    tracing::error!(group, error = %e, "offset commit not made durable");
                    error_code(Some(&e))
                }
            },
            Err(e) => {
                tracing::debug!(group, error = %e, "OffsetCommit refused");
                error_code(Some(&e))
            }
        };
        commit_response(&req, codes, outcome)
    }
}

/// The answer: each partition's own verdict, or the commit's `outcome` where it had none.
fn commit_response(
    req: &OffsetCommitRequest,
    codes: Vec<Vec<i16>>,
    outcome: i16,
) -> OffsetCommitResponse {
    let topics = (req.topics.iter().zip(codes))
        .map(|(topic, topic_codes)| {
            let partitions = (topic.partitions.iter().zip(topic_codes))
                .map(|(p, code)| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(if code == NONE { outcome } else { code })
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// One offset a commit (plain or transactional) asks for.
pub(crate) struct Requested {
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// Per-partition verdicts of a commit, topic by topic in request order (NONE for a valid
/// one), and the valid partitions as the entries that go to the coordinator.
pub(crate) fn verdicts<'a>(
    services: &Services,
    topics: impl Iterator<Item = (&'a str, Vec<Requested>)>,
) -> (Vec<Vec<i16>>, Vec<CommitEntry>) {
    let now = wall_ms();
    let mut codes: Vec<Vec<i16>> = Vec::new();
    let mut entries = Vec::new();
    for (name, partitions) in topics {
        let mut topic_codes = Vec::new();
        for p in partitions {
            let code = if !partition_exists(services, name, p.partition) {
                ResponseError::UnknownTopicOrPartition.code()
            } else if (p.metadata.as_ref()).is_some_and(|m| m.len() > MAX_OFFSET_METADATA_BYTES) {
                ResponseError::OffsetMetadataTooLarge.code()
            } else {
                entries.push(CommitEntry {
                    topic: name.to_owned(),
                    partition: p.partition,
                    value: OffsetValue {
                        offset: p.offset,
                        leader_epoch: p.leader_epoch,
                        metadata: p.metadata.unwrap_or_default(),
                        commit_timestamp: now,
                    },
                });
                NONE
            };
            topic_codes.push(code);
        }
        codes.push(topic_codes);
    }
    (codes, entries)
}

fn partition_exists(services: &Services, topic: &str, partition: i32) -> bool {
    (services.cluster).metadata(|s| {
        s.topic_by_name(topic)
            .and_then(|t| t.partition(partition))
            .is_some()
    })
}

pub(crate) fn fetch(
    services: &Services,
    req: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    if version >= FETCH_BATCHED_VERSION {
        let groups = (req.groups.into_iter())
            .map(|g| {
                let topics = g.topics.map(|ts| {
                    (ts.into_iter())
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                });
                let member = g.member_id.as_ref().map(|m| m.as_str());
                let checked = match version >= MEMBER_EPOCH_VERSION {
                    true => (services.groups).check_offset_fetcher(
                        &g.group_id.0,
                        member,
                        g.member_epoch,
                    ),
                    false => Ok(()),
                };
                match checked {
                    Ok(()) => fetch_group_v8(services, g.group_id, topics, req.require_stable),
                    Err(e) => OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id)
                        .with_error_code(error_code(Some(&e))),
                }
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let topics = req.topics.map(|ts| {
        (ts.into_iter())
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect::<Vec<_>>()
    });
    let group = req.group_id.0.as_str();
    tracing::debug!(group, version, "OffsetFetch");
    match services.groups.fetch_offsets(group, topics.clone()) {
        Ok(found) => {
            let mut topics = legacy_topics(found, NONE);
            if req.require_stable {
                let unstable = unstable(services, group);
                for t in &mut topics {
                    for p in &mut t.partitions {
                        if unstable.contains(&(t.name.0.to_string(), p.partition_index)) {
                            p.error_code = ResponseError::UnstableOffsetCommit.code();
                            p.committed_offset = -1;
                        }
                    }
                }
            }
            OffsetFetchResponse::default().with_topics(topics)
        }
        Err(e) if version >= FETCH_TOP_LEVEL_ERROR_VERSION => {
            OffsetFetchResponse::default().with_error_code(error_code(Some(&e)))
        }
        Err(e) => {
            // v1 has no top-level error: every requested partition carries it.
            let requested = (topics.unwrap_or_default().into_iter())
                .map(|(t, parts)| (t, parts.into_iter().map(|p| (p, None)).collect()))
                .collect();
            OffsetFetchResponse::default()
                .with_topics(legacy_topics(requested, error_code(Some(&e))))
        }
    }
}

/// Maps committed offsets to a response's topics: `partition` builds one partition from
/// (index, offset, leader epoch, metadata), `topic` one topic from its name and partitions.
/// An uncommitted partition is offset -1, epoch -1, empty metadata, as Kafka answers.
fn map_topics<T, P>(
    found: Vec<TopicOffsets>,
    partition: impl Fn(i32, i64, i32, StrBytes) -> P,
    topic: impl Fn(TopicName, Vec<P>) -> T,
) -> Vec<T> {
    (found.into_iter())
        .map(|(name, parts)| {
            let partitions = (parts.into_iter())
                .map(|(p, v)| match v {
                    Some(v) => partition(p, v.offset, v.leader_epoch, str_bytes(&v.metadata)),
                    None => partition(p, -1, -1, StrBytes::default()),
                })
                .collect();
            topic(TopicName(str_bytes(&name)), partitions)
        })
        .collect()
}

fn legacy_topics(found: Vec<TopicOffsets>, code: i16) -> Vec<OffsetFetchResponseTopic> {
    map_topics(
        found,
        |p, offset, epoch, metadata| {
            OffsetFetchResponsePartition::default()
                .with_partition_index(p)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(epoch)
                .with_metadata(Some(metadata))
                .with_error_code(code)
        },
        |name, partitions| {
            OffsetFetchResponseTopic::default()
                .with_name(name)
                .with_partitions(partitions)
        },
    )
}

/// The partitions of `group` an open transaction is committing offsets of (KIP-447: a
/// consumer asking for stable offsets is told to retry until the transaction ends).
fn unstable(services: &Services, group: &str) -> HashSet<(String, i32)> {
    services.groups.unstable_offsets(group).unwrap_or_default()
}

fn fetch_group_v8(
    services: &Services,
    group: GroupId,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> OffsetFetchResponseGroup {
    tracing::debug!(group = %group.0, "OffsetFetch");
    let found = match services.groups.fetch_offsets(group.0.as_str(), topics) {
        Ok(found) => found,
        Err(e) => {
            return OffsetFetchResponseGroup::default()
                .with_group_id(group)
                .with_error_code(error_code(Some(&e)));
        }
    };
    let unstable = match require_stable {
        true => unstable(services, group.0.as_str()),
        false => HashSet::new(),
    };
    let topics = map_topics(
        found,
        |p, offset, epoch, metadata| {
            OffsetFetchResponsePartitions::default()
                .with_partition_index(p)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(epoch)
                .with_metadata(Some(metadata))
        },
        |name, mut partitions| {
            for p in &mut partitions {
                if unstable.contains(&(name.0.to_string(), p.partition_index)) {
                    p.error_code = ResponseError::UnstableOffsetCommit.code();
                    p.committed_offset = -1;
                }
            }
            OffsetFetchResponseTopics::default()
                .with_name(name)
                .with_partitions(partitions)
        },
    );
    OffsetFetchResponseGroup::default()
        .with_group_id(group)
        .with_topics(topics)
}
