//! Before fetching in a new leader epoch, a follower cuts whatever its log holds beyond the
//! point where it agrees with the leader (OffsetForLeaderEpoch, KIP-101/279).

use std::collections::HashMap;
use std::sync::Arc;

use chronik_client::Connection;
use chronik_kafka::kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    BrokerId as KafkaBrokerId, OffsetForLeaderEpochRequest,
};
use chronik_metadata::BrokerId;
use chronik_types::TopicPartition;

use super::by_topic;
use super::fetcher::{Part, epoch_of, topic_name};
use crate::partitions::Hosted;

/// Asks the leader where each partition's latest local epoch ends there and cuts the local
/// log to that point: what lies beyond was never committed and differs from the leader.
/// Returns how many partitions are now ready to fetch.
pub(super) async fn truncate(
    me: BrokerId,
    conn: &Connection,
    parts: &[&Part],
) -> chronik_client::Result<usize> {
    let mut asked: HashMap<TopicPartition, (&Arc<Hosted>, i32, Option<i32>)> = HashMap::new();
    let mut wanted = Vec::new();
    for (tp, hosted) in parts {
        let epoch = epoch_of(hosted);
        let latest = hosted.log.epochs().last().map(|e| e.epoch);
        asked.insert(tp.clone(), (hosted, epoch, latest));
        let Some(latest) = latest else {
            continue;
        };
        let partition = OffsetForLeaderPartition::default()
            .with_partition(tp.partition)
            .with_current_leader_epoch(epoch)
            .with_leader_epoch(latest);
        wanted.push((tp.topic.as_str(), partition));
    }
    let topics: Vec<OffsetForLeaderTopic> = (by_topic(wanted).into_iter())
        .map(|(topic, partitions)| {
            OffsetForLeaderTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect();
    // An empty log has nothing to diverge.
    let mut done = 0;
    for (tp, (hosted, epoch, latest)) in &asked {
        if latest.is_none() {
            done += 1;
            let end = hosted.log.end_offset();
            hosted.replica.update(|p| p.truncated(*epoch, end));
            tracing::debug!(partition = %tp, "empty log: nothing to truncate");
        }
    }
    if topics.is_empty() {
        return Ok(done);
    }
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(KafkaBrokerId(me))
        .with_topics(topics);
    let resp = conn.call(&req, "chronik-replica-fetcher").await?;
    for topic in resp.topics {
        for answer in topic.partitions {
            let tp = TopicPartition::new(topic.topic.0.as_str(), answer.partition);
            let Some((hosted, epoch, Some(latest))) = asked.get(&tp) else {
                continue;
            };
            if answer.error_code != 0 {
                tracing::debug!(partition = %tp, code = answer.error_code, "leader refused OffsetForLeaderEpoch; waiting for metadata");
                continue;
            }
            cut_divergent(
                &tp,
                hosted,
                *epoch,
                *latest,
                answer.leader_epoch,
                answer.end_offset,
            );
            done += 1;
        }
    }
    Ok(done)
}

/// Truncates to where the leader's answer says the logs agree (KIP-279): the end of the
/// largest common epoch, never beyond the local log end.
fn cut_divergent(
    tp: &TopicPartition,
    hosted: &Hosted,
    epoch: i32,
    asked_epoch: i32,
    leader_epoch: i32,
    leader_end: i64,
) {
    let log = &hosted.log;
    let local_end = log.end_offset();
    let target = super::divergence::truncation_point(
        (log.start_offset(), local_end),
        hosted.replica.high_watermark(),
        asked_epoch,
        (leader_epoch, leader_end),
        |e| log.end_offset_for_epoch(e),
    );
    if target < local_end {
        match log.truncate_to(target) {
            Ok(_) => {
                tracing::info!(partition = %tp, from = local_end, to = target, leader_epoch = epoch,
                    "divergent tail truncated to match the new leader");
                reset_producers(tp, hosted);
            }
            Err(e) => {
                return tracing::warn!(partition = %tp, error = %e, "cannot truncate the divergent tail");
            }
        }
    }
    let end = log.end_offset();
    hosted.replica.update(|p| p.truncated(epoch, end));
}

/// Rebuilds the idempotent producer state from the log after a cut.
pub(super) fn reset_producers(tp: &TopicPartition, hosted: &Hosted) {
    let (states, _) = crate::partitions::recover_producers(tp, &hosted.log);
    *hosted.producers() = states;
}
