//! The operator admin APIs at every advertised version, for tests/versions.rs: one request
//! each against the standalone broker's topic "v", and the code its answer must carry.

use std::time::Duration;

use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::StrBytes;

use crate::common::ops::topic;
use crate::common::{Client, eventually};

/// GROUP_ID_NOT_FOUND, ELECTION_NOT_NEEDED, NO_REASSIGNMENT_IN_PROGRESS, RESOURCE_NOT_FOUND.
const GROUP_ID_NOT_FOUND: i16 = 69;
const RESOURCE_NOT_FOUND: i16 = 91;
const ELECTION_NOT_NEEDED: i16 = 84;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
/// What the ACL APIs answer on a broker started without `--authorizer acl`, as this one is.
const SECURITY_DISABLED: i16 = 54;

pub fn ops_api(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::OffsetDelete
            | ApiKey::DescribeLogDirs
            | ApiKey::ElectLeaders
            | ApiKey::DescribeQuorum
            | ApiKey::AlterPartitionReassignments
            | ApiKey::ListPartitionReassignments
            | ApiKey::DescribeClientQuotas
            | ApiKey::AlterClientQuotas
            | ApiKey::DescribeUserScramCredentials
            | ApiKey::AlterUserScramCredentials
            | ApiKey::DescribeAcls
            | ApiKey::CreateAcls
            | ApiKey::DeleteAcls
    )
}

pub fn ops_api_at(c: &mut Client, key: ApiKey, v: i16) {
    let (code, want) = match key {
        ApiKey::OffsetDelete => {
            let req = OffsetDeleteRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("no-such-group")))
                .with_topics(vec![
                    offset_delete_request::OffsetDeleteRequestTopic::default()
                        .with_name(topic("v"))
                        .with_partitions(vec![
                            offset_delete_request::OffsetDeleteRequestPartition::default()
                                .with_partition_index(0),
                        ]),
                ]);
            // Until __consumer_offsets exists and loads, the coordinator is not there yet.
            let code = eventually("OffsetDelete answered", Duration::from_secs(30), || {
                let r: OffsetDeleteResponse = c.call(key, v, &req);
                (![14, 15, 16].contains(&r.error_code)).then_some(r.error_code)
            });
            (code, GROUP_ID_NOT_FOUND)
        }
        ApiKey::DescribeLogDirs => {
            // No topic list: every hosted partition.
            let req = DescribeLogDirsRequest::default().with_topics(None);
            let r: DescribeLogDirsResponse = c.call(key, v, &req);
            let dir = &r.results[0];
            let hosted = dir.topics.iter().any(|t| t.name.0.as_str() == "v");
            assert!(hosted, "DescribeLogDirs v{v} lists topic v: {r:?}");
            assert_eq!(
                dir.total_bytes > 0,
                v >= 4,
                "DescribeLogDirs v{v} total bytes"
            );
            (dir.error_code, 0)
        }
        ApiKey::ElectLeaders => {
            let req = ElectLeadersRequest::default()
                .with_timeout_ms(10_000)
                .with_topic_partitions(Some(vec![
                    elect_leaders_request::TopicPartitions::default()
                        .with_topic(topic("v"))
                        .with_partitions(vec![0]),
                ]));
            let r: ElectLeadersResponse = c.call(key, v, &req);
            let code = r.replica_election_results[0].partition_result[0].error_code;
            (code, ELECTION_NOT_NEEDED)
        }
        ApiKey::DescribeQuorum => {
            let req = DescribeQuorumRequest::default().with_topics(vec![
                describe_quorum_request::TopicData::default()
                    .with_topic_name(topic("__cluster_metadata"))
                    .with_partitions(vec![describe_quorum_request::PartitionData::default()]),
            ]);
            let r: DescribeQuorumResponse = c.call(key, v, &req);
            let p = &r.topics[0].partitions[0];
            assert_eq!(p.current_voters.len(), 1, "DescribeQuorum v{v}: {r:?}");
            (p.error_code, 0)
        }
        ApiKey::AlterPartitionReassignments => {
            // Cancelling where nothing runs: refused, and nothing changes.
            let req = AlterPartitionReassignmentsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![
                    alter_partition_reassignments_request::ReassignableTopic::default()
                        .with_name(topic("v"))
                        .with_partitions(vec![
                            alter_partition_reassignments_request::ReassignablePartition::default()
                                .with_partition_index(0)
                                .with_replicas(None),
                        ]),
                ]);
            let r: AlterPartitionReassignmentsResponse = c.call(key, v, &req);
            assert_eq!(r.error_code, 0, "AlterPartitionReassignments v{v}");
            let code = r.responses[0].partitions[0].error_code;
            (code, NO_REASSIGNMENT_IN_PROGRESS)
        }
        ApiKey::ListPartitionReassignments => {
            let req = ListPartitionReassignmentsRequest::default().with_timeout_ms(10_000);
            let r: ListPartitionReassignmentsResponse = c.call(key, v, &req);
            assert!(r.topics.is_empty(), "nothing is being reassigned: {r:?}");
            (r.error_code, 0)
        }
        ApiKey::AlterClientQuotas => {
            // validate_only: the quota is checked by the controller but not stored.
            let entity = alter_client_quotas_request::EntityData::default()
                .with_entity_type(StrBytes::from_static_str("client-id"))
                .with_entity_name(Some(StrBytes::from_string(format!("versions-{v}"))));
            let op = alter_client_quotas_request::OpData::default()
                .with_key(StrBytes::from_static_str("producer_byte_rate"))
                .with_value(1_048_576.0);
            let req = AlterClientQuotasRequest::default()
                .with_validate_only(true)
                .with_entries(vec![
                    alter_client_quotas_request::EntryData::default()
                        .with_entity(vec![entity])
                        .with_ops(vec![op]),
                ]);
            let r: AlterClientQuotasResponse = c.call(key, v, &req);
            (r.entries[0].error_code, 0)
        }
        ApiKey::DescribeClientQuotas => {
            let component = describe_client_quotas_request::ComponentData::default()
                .with_entity_type(StrBytes::from_static_str("client-id"))
                .with_match_type(2)
                .with_match(None);
            let req = DescribeClientQuotasRequest::default().with_components(vec![component]);
            let r: DescribeClientQuotasResponse = c.call(key, v, &req);
            assert_eq!(
                r.entries.as_deref(),
                Some(&[][..]),
                "no quota was stored: {r:?}"
            );
            (r.error_code, 0)
        }
        ApiKey::AlterUserScramCredentials => {
            // Deleting a credential nobody has changes nothing and says so.
            let deletion = alter_user_scram_credentials_request::ScramCredentialDeletion::default()
                .with_name(StrBytes::from_string(format!("versions-{v}")))
                .with_mechanism(1);
            let req = AlterUserScramCredentialsRequest::default().with_deletions(vec![deletion]);
            let r: AlterUserScramCredentialsResponse = c.call(key, v, &req);
            (r.results[0].error_code, RESOURCE_NOT_FOUND)
        }
        ApiKey::DescribeUserScramCredentials => {
            let req = DescribeUserScramCredentialsRequest::default();
            let r: DescribeUserScramCredentialsResponse = c.call(key, v, &req);
            assert_eq!(r.results.len(), 0, "no user was added: {r:?}");
            (r.error_code, 0)
        }
        ApiKey::DescribeAcls => {
            let req = DescribeAclsRequest::default()
                .with_resource_type_filter(1)
                .with_resource_name_filter(None)
                .with_pattern_type_filter(1)
                .with_principal_filter(None)
                .with_host_filter(None)
                .with_operation(1)
                .with_permission_type(1);
            let r: DescribeAclsResponse = c.call(key, v, &req);
            (r.error_code, SECURITY_DISABLED)
        }
        ApiKey::CreateAcls => {
            let creation = create_acls_request::AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("v"))
                .with_resource_pattern_type(3)
                .with_principal(StrBytes::from_static_str("User:alice"))
                .with_host(StrBytes::from_static_str("*"))
                .with_operation(3)
                .with_permission_type(3);
            let req = CreateAclsRequest::default().with_creations(vec![creation]);
            let r: CreateAclsResponse = c.call(key, v, &req);
            (r.results[0].error_code, SECURITY_DISABLED)
        }
        ApiKey::DeleteAcls => {
            let filter = delete_acls_request::DeleteAclsFilter::default()
                .with_resource_type_filter(1)
                .with_resource_name_filter(None)
                .with_pattern_type_filter(1)
                .with_principal_filter(None)
                .with_host_filter(None)
                .with_operation(1)
                .with_permission_type(1);
            let req = DeleteAclsRequest::default().with_filters(vec![filter]);
            let r: DeleteAclsResponse = c.call(key, v, &req);
            (r.filter_results[0].error_code, SECURITY_DISABLED)
        }
        other => panic!("{other:?} is not an operator admin API"),
    };
    assert_eq!(code, want, "{key:?} v{v}");
}
