//! Consumer groups: membership needs READ on the group, describing DESCRIBE, deleting
//! DELETE; offsets need the group and the topics.

use chronik_auth::acl::Operation;
use chronik_kafka::kafka_protocol::messages::*;

use super::{Amend, Asked, GROUP_DENIED, Gate, TOPIC_DENIED, TXN_ID_DENIED, split};

fn refuse_or_serve(
    allowed: bool,
    request: RequestKind,
    refusal: impl FnOnce() -> ResponseKind,
) -> Gate {
    if allowed {
        Gate::Serve(request, None)
    } else {
        Gate::Refuse(refusal())
    }
}

pub(super) fn join_group(a: &Asked<'_>, r: JoinGroupRequest) -> Gate {
    let ok = a.may_group(Operation::Read, r.group_id.as_str());
    refuse_or_serve(ok, RequestKind::JoinGroup(r), || {
        ResponseKind::JoinGroup(
            JoinGroupResponse::default()
                .with_error_code(GROUP_DENIED)
                .with_generation_id(-1),
        )
    })
}

pub(super) fn sync_group(a: &Asked<'_>, r: SyncGroupRequest) -> Gate {
    let ok = a.may_group(Operation::Read, r.group_id.as_str());
    refuse_or_serve(ok, RequestKind::SyncGroup(r), || {
        ResponseKind::SyncGroup(SyncGroupResponse::default().with_error_code(GROUP_DENIED))
    })
}

pub(super) fn heartbeat(a: &Asked<'_>, r: HeartbeatRequest) -> Gate {
    let ok = a.may_group(Operation::Read, r.group_id.as_str());
    refuse_or_serve(ok, RequestKind::Heartbeat(r), || {
        ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(GROUP_DENIED))
    })
}

pub(super) fn leave_group(a: &Asked<'_>, r: LeaveGroupRequest) -> Gate {
    let ok = a.may_group(Operation::Read, r.group_id.as_str());
    refuse_or_serve(ok, RequestKind::LeaveGroup(r), || {
        ResponseKind::LeaveGroup(LeaveGroupResponse::default().with_error_code(GROUP_DENIED))
    })
}

/// The new consumer protocol's heartbeat needs READ on the group and DESCRIBE on every
/// topic it subscribes to by name.
pub(super) fn consumer_group_heartbeat(a: &Asked<'_>, r: ConsumerGroupHeartbeatRequest) -> Gate {
    let refusal = |code: i16, what: &str| {
        Gate::Refuse(ResponseKind::ConsumerGroupHeartbeat(
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(code)
                .with_error_message(Some(super::super::str_bytes(what))),
        ))
    };
    if !a.may_group(Operation::Read, r.group_id.as_str()) {
        return refusal(GROUP_DENIED, "not authorized to read the group");
    }
    let topics = r.subscribed_topic_names.iter().flatten();
    if let Some(t) = topics
        .into_iter()
        .find(|t| !a.may_topic(Operation::Describe, t.as_str()))
    {
        return refusal(
            TOPIC_DENIED,
            &format!("not authorized to describe topic {}", t.as_str()),
        );
    }
    Gate::Serve(RequestKind::ConsumerGroupHeartbeat(r), None)
}

pub(super) fn describe_groups(a: &Asked<'_>, mut r: DescribeGroupsRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.groups), |g| {
        a.may_group(Operation::Describe, g.as_str())
    });
    r.groups = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::DescribeGroups(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::DescribeGroups(body) = body {
            for g in &denied {
                body.groups.push(
                    describe_groups_response::DescribedGroup::default()
                        .with_group_id(g.clone())
                        .with_error_code(GROUP_DENIED),
                );
            }
        }
    });
    Gate::Serve(RequestKind::DescribeGroups(r), Some(amend))
}

pub(super) fn consumer_group_describe(a: &Asked<'_>, mut r: ConsumerGroupDescribeRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.group_ids), |g| {
        a.may_group(Operation::Describe, g.as_str())
    });
    r.group_ids = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::ConsumerGroupDescribe(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::ConsumerGroupDescribe(body) = body {
            for g in &denied {
                body.groups.push(
                    consumer_group_describe_response::DescribedGroup::default()
                        .with_group_id(g.clone())
                        .with_error_code(GROUP_DENIED),
                );
            }
        }
    });
    Gate::Serve(RequestKind::ConsumerGroupDescribe(r), Some(amend))
}

/// ListGroups lists every group for DESCRIBE on the cluster, else the groups the client may
/// DESCRIBE.
pub(super) fn list_groups(a: &Asked<'_>, r: ListGroupsRequest) -> Gate {
    if a.may_cluster(Operation::Describe) {
        return Gate::Serve(RequestKind::ListGroups(r), None);
    }
    let asker = a.owned();
    let amend = Amend::new(move |body| {
        if let ResponseKind::ListGroups(body) = body {
            body.groups
                .retain(|g| asker.may_group(Operation::Describe, g.group_id.as_str()));
        }
    });
    Gate::Serve(RequestKind::ListGroups(r), Some(amend))
}

pub(super) fn delete_groups(a: &Asked<'_>, mut r: DeleteGroupsRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.groups_names), |g| {
        a.may_group(Operation::Delete, g.as_str())
    });
    r.groups_names = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::DeleteGroups(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::DeleteGroups(body) = body {
            for g in &denied {
                body.results.push(
                    delete_groups_response::DeletableGroupResult::default()
                        .with_group_id(g.clone())
                        .with_error_code(GROUP_DENIED),
                );
            }
        }
    });
    Gate::Serve(RequestKind::DeleteGroups(r), Some(amend))
}

/// OffsetDelete needs DELETE on the group and READ on each topic.
pub(super) fn offset_delete(a: &Asked<'_>, mut r: OffsetDeleteRequest) -> Gate {
    if !a.may_group(Operation::Delete, r.group_id.as_str()) {
        return Gate::Refuse(ResponseKind::OffsetDelete(
            OffsetDeleteResponse::default().with_error_code(GROUP_DENIED),
        ));
    }
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Read, t.name.as_str())
    });
    r.topics = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::OffsetDelete(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::OffsetDelete(body) = body {
            for t in &denied {
                body.topics.push(
                    offset_delete_response::OffsetDeleteResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(
                            (t.partitions.iter())
                                .map(|p| {
                                    offset_delete_response::OffsetDeleteResponsePartition::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(TOPIC_DENIED)
                                })
                                .collect(),
                        ),
                );
            }
        }
    });
    Gate::Serve(RequestKind::OffsetDelete(r), Some(amend))
}

/// OffsetCommit needs READ on the group (every partition refused otherwise, before the group
/// is even looked up) and READ on each topic.
pub(super) fn offset_commit(a: &Asked<'_>, mut r: OffsetCommitRequest) -> Gate {
    if !a.may_group(Operation::Read, r.group_id.as_str()) {
        return Gate::Refuse(ResponseKind::OffsetCommit(
            OffsetCommitResponse::default().with_topics(commit_errors(&r.topics, GROUP_DENIED)),
        ));
    }
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Read, t.name.as_str())
    });
    r.topics = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::OffsetCommit(r), None);
    }
    let refused = commit_errors(&denied, TOPIC_DENIED);
    let amend = Amend::new(move |body| {
        if let ResponseKind::OffsetCommit(body) = body {
            body.topics.extend(refused.iter().cloned());
        }
    });
    Gate::Serve(RequestKind::OffsetCommit(r), Some(amend))
}

fn commit_errors(
    topics: &[offset_commit_request::OffsetCommitRequestTopic],
    code: i16,
) -> Vec<offset_commit_response::OffsetCommitResponseTopic> {
    (topics.iter())
        .map(|t| {
            offset_commit_response::OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    (t.partitions.iter())
                        .map(|p| {
                            offset_commit_response::OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect()
}

/// OffsetFetch needs DESCRIBE on the group and on each topic. It changes nothing, so the
/// response is filtered after the fact: a named topic the client may not describe gets
/// TOPIC_AUTHORIZATION_FAILED, and "all topics" leaves such topics out.
pub(super) fn offset_fetch(a: &Asked<'_>, mut r: OffsetFetchRequest) -> Gate {
    let v = a.version;
    if v < 8 && !a.may_group(Operation::Describe, r.group_id.as_str()) {
        let topics = r.topics.clone().unwrap_or_default();
        // v0-1 have no top-level error: the partitions carry it.
        let top_level = if v >= 2 { GROUP_DENIED } else { 0 };
        return Gate::Refuse(ResponseKind::OffsetFetch(
            OffsetFetchResponse::default()
                .with_error_code(top_level)
                .with_topics(
                    (topics.into_iter())
                        .map(|t| {
                            let partitions = (t.partition_indexes.iter())
                                .map(|p| denied_partition(*p, GROUP_DENIED))
                                .collect();
                            offset_fetch_response::OffsetFetchResponseTopic::default()
                                .with_name(t.name)
                                .with_partitions(partitions)
                        })
                        .collect(),
                ),
        ));
    }
    let denied_groups: Vec<GroupId> = (r.groups.iter())
        .filter(|g| !a.may_group(Operation::Describe, g.group_id.as_str()))
        .map(|g| g.group_id.clone())
        .collect();
    r.groups.retain(|g| !denied_groups.contains(&g.group_id));
    // Groups that asked for all their topics: those the client may not describe are left out.
    let all_topics = r.topics.is_none();
    let groups_asking_all: Vec<GroupId> = (r.groups.iter())
        .filter(|g| g.topics.is_none())
        .map(|g| g.group_id.clone())
        .collect();
    let asker = a.owned();
    let amend = Amend::new(move |body| {
        let ResponseKind::OffsetFetch(body) = body else {
            return;
        };
        let may = |name: &TopicName| asker.may_topic(Operation::Describe, name.as_str());
        if all_topics {
            body.topics.retain(|t| may(&t.name));
        }
        for t in &mut body.topics {
            if !may(&t.name) {
                for p in &mut t.partitions {
                    *p = denied_partition(p.partition_index, TOPIC_DENIED);
                }
            }
        }
        for g in &mut body.groups {
            if groups_asking_all.contains(&g.group_id) {
                g.topics.retain(|t| may(&t.name));
            }
            for t in &mut g.topics {
                if !may(&t.name) {
                    for p in &mut t.partitions {
                        p.error_code = TOPIC_DENIED;
                        p.committed_offset = -1;
                        p.metadata = None;
                    }
                }
            }
        }
        for g in &denied_groups {
            body.groups.push(
                offset_fetch_response::OffsetFetchResponseGroup::default()
                    .with_group_id(g.clone())
                    .with_error_code(GROUP_DENIED),
            );
        }
    });
    Gate::Serve(RequestKind::OffsetFetch(r), Some(amend))
}

fn denied_partition(
    partition: i32,
    code: i16,
) -> offset_fetch_response::OffsetFetchResponsePartition {
    offset_fetch_response::OffsetFetchResponsePartition::default()
        .with_partition_index(partition)
        .with_committed_offset(-1)
        .with_error_code(code)
}

/// FindCoordinator needs DESCRIBE on the group or the transactional id it looks for.
pub(super) fn find_coordinator(a: &Asked<'_>, mut r: FindCoordinatorRequest) -> Gate {
    let may = |key: &str| match r.key_type {
        1 => a.may_transactional_id(Operation::Describe, key),
        _ => a.may_group(Operation::Describe, key),
    };
    let code = if r.key_type == 1 {
        TXN_ID_DENIED
    } else {
        GROUP_DENIED
    };
    if a.version < 4 {
        let ok = may(r.key.as_str());
        return refuse_or_serve(ok, RequestKind::FindCoordinator(r), || {
            ResponseKind::FindCoordinator(
                FindCoordinatorResponse::default()
                    .with_error_code(code)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1),
            )
        });
    }
    let (allowed, denied) = split(std::mem::take(&mut r.coordinator_keys), |k| may(k.as_str()));
    r.coordinator_keys = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::FindCoordinator(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::FindCoordinator(body) = body {
            for key in &denied {
                body.coordinators.push(
                    find_coordinator_response::Coordinator::default()
                        .with_key(key.clone())
                        .with_node_id(BrokerId(-1))
                        .with_port(-1)
                        .with_error_code(code),
                );
            }
        }
    });
    Gate::Serve(RequestKind::FindCoordinator(r), Some(amend))
}
