//! DescribeQuorum: the metadata quorum (Raft leader, term, commit index, voters) as Kafka's
//! `__cluster_metadata` partition 0. Offsets are Raft log indexes; a voter's log end is known
//! only when the meta node that answered leads (else -1), and no voter reports fetch times
//! (-1, which clients show as unknown). Brokers follow the metadata through a watch rather
//! than as Raft observers, so no observers are listed. From v2 (KIP-853) the response lists
//! each voter's endpoint: its meta node's gRPC address under the listener name
//! [`META_LISTENER`] (it speaks Chronik's controller protocol, not Kafka's); voters have no
//! directory ids (all zeros).

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use chronik_kafka::kafka_protocol::messages::{
    BrokerId, DescribeQuorumRequest, DescribeQuorumResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;

use super::NONE;
use crate::cluster::QuorumStatus;
use crate::kafka_errors::node_error;
use crate::services::Services;

/// The name KRaft gives its metadata log, which clients ask about.
const METADATA_TOPIC: &str = "__cluster_metadata";
/// "Not known" in Kafka's replica state fields.
const UNKNOWN: i64 = -1;
/// The listener name a voter's meta node address is reported under.
const META_LISTENER: &str = "CHRONIK_META";

/// DescribeQuorum v2 added the node list (KIP-853).
const NODES_VERSION: i16 = 2;

pub(crate) async fn handle(
    services: &Services,
    req: DescribeQuorumRequest,
    version: i16,
) -> DescribeQuorumResponse {
    match services.cluster.quorum_status().await {
        Ok(status) => answer(&status, req, version),
        Err(e) => {
            tracing::warn!(error = %e, "the metadata quorum cannot be described");
            DescribeQuorumResponse::default().with_error_code(node_error(&e).code())
        }
    }
}

/// The answer to `req` at `version` from the quorum's `status`.
fn answer(
    status: &QuorumStatus,
    req: DescribeQuorumRequest,
    version: i16,
) -> DescribeQuorumResponse {
    let topics = (req.topics.into_iter())
        .map(|topic| {
            let ours = topic.topic_name.0.as_str() == METADATA_TOPIC;
            let partitions = (topic.partitions.iter())
                .map(|p| match ours && p.partition_index == 0 {
                    true => describe(status),
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
        .with_nodes(match version >= NODES_VERSION {
            true => nodes(status),
            false => Vec::new(),
        })
}

/// The voters whose address is known, as v2's node list (earlier versions leave it out).
fn nodes(status: &QuorumStatus) -> Vec<Node> {
    (status.voters.iter())
        .filter_map(|v| {
            let (host, port) = v.address.as_deref()?.rsplit_once(':')?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let listener = Listener::default()
                .with_name(StrBytes::from_static_str(META_LISTENER))
                .with_host(StrBytes::from_string(host.to_owned()))
                .with_port(port.parse().ok()?);
            Some(
                Node::default()
                    .with_node_id(BrokerId(node_id(v.id)))
                    .with_listeners(vec![listener]),
            )
        })
        .collect()
}

fn describe(status: &QuorumStatus) -> PartitionData {
    let voters = (status.voters.iter())
        .map(|v| {
            ReplicaState::default()
                .with_replica_id(BrokerId(node_id(v.id)))
                .with_log_end_offset(v.matched.map_or(UNKNOWN, to_i64))
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

#[cfg(test)]
mod tests {
    use chronik_kafka::kafka_protocol::messages::describe_quorum_request::{
        PartitionData as AskedPartition, TopicData as AskedTopic,
    };
    use chronik_kafka::kafka_protocol::messages::{ApiKey, ResponseKind, TopicName};

    use super::*;
    use crate::cluster::VoterStatus;

    fn voter(id: u64, matched: Option<u64>, address: Option<&str>) -> VoterStatus {
        VoterStatus {
            id,
            matched,
            address: address.map(str::to_owned),
        }
    }

    fn request() -> DescribeQuorumRequest {
        let asked = AskedTopic::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
            .with_partitions(vec![AskedPartition::default().with_partition_index(0)]);
        DescribeQuorumRequest::default().with_topics(vec![asked])
    }

    #[test]
    fn v2_lists_the_voters_with_a_known_address_and_every_version_encodes() {
        let status = QuorumStatus {
            leader: Some(1),
            term: 3,
            commit_index: 40,
            voters: vec![
                voter(1, Some(40), Some("127.0.0.1:9400")),
                voter(2, Some(38), Some("[::1]:9401")),
                voter(3, None, None),
            ],
        };
        let v2 = answer(&status, request(), 2);
        let nodes: Vec<(i32, String, u16)> = (v2.nodes.iter())
            .flat_map(|n| {
                n.listeners
                    .iter()
                    .map(move |l| (n.node_id.0, l.host.to_string(), l.port))
            })
            .collect();
        assert_eq!(
            nodes,
            [(1, "127.0.0.1".into(), 9400), (2, "::1".into(), 9401)]
        );
        let partition = &v2.topics[0].partitions[0];
        assert_eq!((partition.leader_id.0, partition.leader_epoch), (1, 3));
        assert_eq!(partition.current_voters.len(), 3);
        assert_eq!(partition.current_voters[2].log_end_offset, UNKNOWN);
        for version in 0..=2 {
            let response = answer(&status, request(), version);
            assert_eq!(response.nodes.is_empty(), version < NODES_VERSION);
            let body = ResponseKind::DescribeQuorum(response);
            let encoded = chronik_kafka::encode_response(ApiKey::DescribeQuorum, version, 7, body);
            assert!(encoded.is_ok(), "v{version}: {encoded:?}");
        }
    }
}
