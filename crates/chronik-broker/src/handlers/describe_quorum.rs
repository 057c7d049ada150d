//! DescribeQuorum: the metadata quorum (Raft leader, term, commit index, voters) as Kafka's
//! `__cluster_metadata` partition 0. Offsets are Raft log indexes; a voter's log end is known
//! only when the meta node that answered leads (else -1), and no voter reports fetch times
//! (-1, which clients show as unknown). Brokers follow the metadata through a watch rather
//! than as Raft observers, so no observers are listed.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::describe_quorum_response::{
    PartitionData, ReplicaState, TopicData,
};
use chronik_kafka::kafka_protocol::messages::{
    BrokerId, DescribeQuorumRequest, DescribeQuorumResponse,
};

use super::NONE;
use crate::cluster::QuorumStatus;
use crate::kafka_errors::node_error;
use crate::services::Services;

/// The name KRaft gives its metadata log, which clients ask about.
const METADATA_TOPIC: &str = "__cluster_metadata";
/// "Not known" in Kafka's replica state fields.
const UNKNOWN: i64 = -1;

pub(crate) async fn handle(
    services: &Services,
    req: DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    let status = match services.cluster.quorum_status().await {
        Ok(status) => status,
        Err(e) => {
            tracing::warn!(error = %e, "the metadata quorum cannot be described");
            return DescribeQuorumResponse::default().with_error_code(node_error(&e).code());
        }
    };
    let topics = (req.topics.into_iter())
        .map(|topic| {
            let ours = topic.topic_name.0.as_str() == METADATA_TOPIC;
            let partitions = (topic.partitions.iter())
                .map(|p| match ours && p.partition_index == 0 {
                    true => describe(&status),
                    false => PartitionData::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        .with_leader_id(BrokerId(-1))
                        .with_leader_epoch(-1)
                        .with_high_watermark(UNKNOWN),
                })
                .collect();
            TopicData::default()
                .with_topic_name(topic.topic_name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeQuorumResponse::default()
        .with_error_code(NONE)
        .with_topics(topics)
}

fn describe(status: &QuorumStatus) -> PartitionData {
    let voters = (status.voters.iter())
        .map(|(id, matched)| {
            ReplicaState::default()
                .with_replica_id(BrokerId(node_id(*id)))
                .with_log_end_offset(matched.map_or(UNKNOWN, to_i64))
                .with_last_fetch_timestamp(UNKNOWN)
                .with_last_caught_up_timestamp(UNKNOWN)
        })
        .collect();
    PartitionData::default()
        .with_partition_index(0)
        .with_error_code(NONE)
        .with_leader_id(BrokerId(status.leader.map_or(-1, node_id)))
        .with_leader_epoch(i32::try_from(status.term).unwrap_or(i32::MAX))
        .with_high_watermark(to_i64(status.commit_index))
        .with_current_voters(voters)
}

/// A meta node id as Kafka's 32-bit node id (ids beyond it show as -1).
fn node_id(id: u64) -> i32 {
    i32::try_from(id).unwrap_or(-1)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
