//! DescribeGroups, ListGroups, DeleteGroups and OffsetDelete.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use chronik_kafka::kafka_protocol::messages::describe_groups_response::{
    DescribedGroup, DescribedGroupMember,
};
use chronik_kafka::kafka_protocol::messages::list_groups_response::ListedGroup;
use chronik_kafka::kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, ListGroupsRequest, ListGroupsResponse, OffsetDeleteRequest, OffsetDeleteResponse,
};

use crate::handlers::{NONE, str_bytes};
use crate::services::Services;

use super::error_code;

/// DescribeGroups v4 added group instance ids; ListGroups v4 added group states, v5 types.
const DESCRIBE_INSTANCE_ID_VERSION: i16 = 4;
const LIST_STATES_VERSION: i16 = 4;
const LIST_TYPES_VERSION: i16 = 5;

pub(crate) fn describe(
    services: &Services,
    req: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let groups = (req.groups.into_iter())
        .map(|id| {
            let described = DescribedGroup::default().with_group_id(id.clone());
            match services.groups.describe(id.0.as_str()) {
                Ok(g) => {
                    let members = (g.members.into_iter())
                        .map(|m| {
                            let instance = m
                                .instance_id
                                .filter(|_| version >= DESCRIBE_INSTANCE_ID_VERSION);
                            DescribedGroupMember::default()
                                .with_member_id(str_bytes(&m.member_id))
                                .with_group_instance_id(instance.map(|i| str_bytes(&i)))
                                .with_client_id(str_bytes(&m.client_id))
                                .with_client_host(str_bytes(&m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect();
                    described
                        .with_error_code(NONE)
                        .with_group_state(str_bytes(g.state))
                        .with_protocol_type(str_bytes(&g.protocol_type))
                        .with_protocol_data(str_bytes(&g.protocol))
                        .with_members(members)
                }
                Err(e) => described.with_error_code(error_code(Some(&e))),
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub(crate) fn list(
    services: &Services,
    req: ListGroupsRequest,
    version: i16,
) -> ListGroupsResponse {
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|s| s.to_string()).collect();
    match services.groups.list(&states, &types) {
        Ok(groups) => {
            let listed = (groups.into_iter())
                .map(|g| {
                    let listed = ListedGroup::default()
                        .with_group_id(GroupId(str_bytes(&g.group_id)))
                        .with_protocol_type(str_bytes(&g.protocol_type));
                    let listed = match version >= LIST_STATES_VERSION {
                        true => listed.with_group_state(str_bytes(g.state)),
                        false => listed,
                    };
                    match version >= LIST_TYPES_VERSION {
                        true => listed.with_group_type(str_bytes(g.group_type)),
                        false => listed,
                    }
                })
                .collect();
            ListGroupsResponse::default().with_groups(listed)
        }
        Err(e) => ListGroupsResponse::default().with_error_code(error_code(Some(&e))),
    }
}

pub(crate) async fn delete(services: &Services, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::new();
    for id in req.groups_names {
        let code = match services.groups.delete(id.0.as_str()) {
            Ok(durable) => match durable.wait_async().await {
                Ok(()) => NONE,
                Err(e) => {
                    tracing::error!(group = %id.0, error = %e, "group deletion not made durable");
                    error_code(Some(&e))
                }
            },
            Err(e) => {
                tracing::debug!(group = %id.0, error = %e, "DeleteGroups refused");
                error_code(Some(&e))
            }
        };
        results.push(
            DeletableGroupResult::default()
                .with_group_id(id)
                .with_error_code(code),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}

/// OffsetDelete: removes a group's committed offsets of partitions its members do not consume.
/// Partitions of unknown topics are answered UNKNOWN_TOPIC_OR_PARTITION and left alone.
pub(crate) async fn delete_offsets(
    services: &Services,
    req: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let group = req.group_id.0.as_str();
    // Which partitions exist, read from one view of the metadata.
    let exists: Vec<Vec<bool>> = services.cluster.metadata(|s| {
        (req.topics.iter())
            .map(|t| {
                let topic = s.topic_by_name(t.name.0.as_str());
                (t.partitions.iter())
                    .map(|p| topic.and_then(|t| t.partition(p.partition_index)).is_some())
                    .collect()
            })
            .collect()
    });
    let known: Vec<(String, i32)> = (req.topics.iter().zip(&exists))
        .flat_map(|(t, found)| {
            (t.partitions.iter().zip(found))
                .filter(|(_, found)| **found)
                .map(|(p, _)| (t.name.0.to_string(), p.partition_index))
        })
        .collect();
    let outcome = async {
        let (outcomes, durable) = services.groups.delete_offsets(group, &known)?;
        if let Some(d) = durable {
            d.wait_async().await?;
        }
        Ok::<_, crate::groups::GroupError>(outcomes)
    };
    let outcomes = match outcome.await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            tracing::debug!(group, error = %e, "OffsetDelete refused");
            return OffsetDeleteResponse::default().with_error_code(error_code(Some(&e)));
        }
    };
    // The coordinator's outcomes are those of the known partitions, in request order.
    let mut decided = outcomes.into_iter();
    let mut code_of = |found: &bool| match found {
        true => error_code(decided.next().and_then(Result::err).as_ref()),
        false => ResponseError::UnknownTopicOrPartition.code(),
    };
    let codes: Vec<Vec<i16>> = (exists.iter())
        .map(|found| found.iter().map(&mut code_of).collect())
        .collect();
    let topics = (req.topics.into_iter().zip(codes))
        .map(|(topic, codes)| {
            let partitions = (topic.partitions.iter().zip(codes))
                .map(|(p, code)| {
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default()
        .with_error_code(NONE)
        .with_topics(topics)
}
