//! The Kafka error codes a response carries, top level and per item, for the per-API error
//! counter (`chronik_broker_request_errors_total{api,error}`).

use chronik_kafka::kafka_protocol::messages::ResponseKind;

/// Every non-zero error code in `body`.
pub(crate) fn error_codes(body: &ResponseKind) -> Vec<i16> {
    let mut codes = Vec::new();
    let mut add = |code: i16| {
        if code != 0 {
            codes.push(code);
        }
    };
    match body {
        ResponseKind::Produce(r) => (r.responses.iter())
            .flat_map(|t| &t.partition_responses)
            .for_each(|p| add(p.error_code)),
        ResponseKind::Fetch(r) => {
            add(r.error_code);
            (r.responses.iter())
                .flat_map(|t| &t.partitions)
                .for_each(|p| add(p.error_code));
        }
        ResponseKind::ListOffsets(r) => (r.topics.iter())
            .flat_map(|t| &t.partitions)
            .for_each(|p| add(p.error_code)),
        ResponseKind::Metadata(r) => {
            for t in &r.topics {
                add(t.error_code);
                t.partitions.iter().for_each(|p| add(p.error_code));
            }
        }
        ResponseKind::OffsetCommit(r) => (r.topics.iter())
            .flat_map(|t| &t.partitions)
            .for_each(|p| add(p.error_code)),
        ResponseKind::OffsetFetch(r) => {
            add(r.error_code);
            (r.topics.iter())
                .flat_map(|t| &t.partitions)
                .for_each(|p| add(p.error_code));
            for g in &r.groups {
                add(g.error_code);
                (g.topics.iter())
                    .flat_map(|t| &t.partitions)
                    .for_each(|p| add(p.error_code));
            }
        }
        ResponseKind::OffsetForLeaderEpoch(r) => (r.topics.iter())
            .flat_map(|t| &t.partitions)
            .for_each(|p| add(p.error_code)),
        ResponseKind::CreateTopics(r) => r.topics.iter().for_each(|t| add(t.error_code)),
        ResponseKind::DeleteTopics(r) => r.responses.iter().for_each(|t| add(t.error_code)),
        ResponseKind::DeleteRecords(r) => (r.topics.iter())
            .flat_map(|t| &t.partitions)
            .for_each(|p| add(p.error_code)),
        ResponseKind::CreatePartitions(r) => r.results.iter().for_each(|t| add(t.error_code)),
        ResponseKind::DescribeConfigs(r) => r.results.iter().for_each(|t| add(t.error_code)),
        ResponseKind::AlterConfigs(r) => r.responses.iter().for_each(|t| add(t.error_code)),
        ResponseKind::IncrementalAlterConfigs(r) => {
            r.responses.iter().for_each(|t| add(t.error_code))
        }
        ResponseKind::FindCoordinator(r) => {
            add(r.error_code);
            r.coordinators.iter().for_each(|c| add(c.error_code));
        }
        ResponseKind::JoinGroup(r) => add(r.error_code),
        ResponseKind::SyncGroup(r) => add(r.error_code),
        ResponseKind::Heartbeat(r) => add(r.error_code),
        ResponseKind::LeaveGroup(r) => {
            add(r.error_code);
            r.members.iter().for_each(|m| add(m.error_code));
        }
        ResponseKind::DescribeGroups(r) => r.groups.iter().for_each(|g| add(g.error_code)),
        ResponseKind::ListGroups(r) => add(r.error_code),
        ResponseKind::DeleteGroups(r) => r.results.iter().for_each(|g| add(g.error_code)),
        ResponseKind::InitProducerId(r) => add(r.error_code),
        ResponseKind::DescribeCluster(r) => add(r.error_code),
        ResponseKind::ApiVersions(r) => add(r.error_code),
        _ => {}
    }
    codes
}

#[cfg(test)]
mod tests {
    use chronik_kafka::kafka_protocol::messages::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };
    use chronik_kafka::kafka_protocol::messages::{
        FindCoordinatorResponse, MetadataResponse, ResponseKind,
    };

    use super::error_codes;

    #[test]
    fn top_level_and_item_codes_are_collected_and_zeroes_skipped() {
        let topic = MetadataResponseTopic::default()
            .with_error_code(3)
            .with_partitions(vec![
                MetadataResponsePartition::default(),
                MetadataResponsePartition::default().with_error_code(6),
            ]);
        let md = MetadataResponse::default().with_topics(vec![topic]);
        assert_eq!(error_codes(&ResponseKind::Metadata(md)), vec![3, 6]);
        let fc = FindCoordinatorResponse::default().with_error_code(15);
        assert_eq!(error_codes(&ResponseKind::FindCoordinator(fc)), vec![15]);
        let ok = FindCoordinatorResponse::default();
        assert!(error_codes(&ResponseKind::FindCoordinator(ok)).is_empty());
    }
}
