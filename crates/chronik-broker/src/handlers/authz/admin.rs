//! Administration: topics (CREATE, DELETE, ALTER), configs (DESCRIBE_CONFIGS, ALTER_CONFIGS
//! on the topic or the cluster) and the cluster-wide operations (DESCRIBE or ALTER on the
//! cluster). An API this module does not know is served to super users only.

use chronik_auth::acl::Operation;
use chronik_kafka::kafka_protocol::messages::*;

use super::{Amend, Asked, CLUSTER_DENIED, Gate, TOPIC_DENIED, split};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::handlers::str_bytes;

/// DescribeConfigs' and AlterConfigs' resource type of a topic.
const TOPIC_RESOURCE: i8 = 2;

pub(super) fn gate(a: &Asked<'_>, request: RequestKind) -> Gate {
    use Operation::{Alter, Describe, DescribeConfigs};
    use RequestKind as R;
    match request {
        R::CreateTopics(r) => create_topics(a, r),
        R::DeleteTopics(r) => delete_topics(a, r),
        R::CreatePartitions(r) => create_partitions(a, r),
        R::DescribeConfigs(r) => describe_configs(a, r),
        R::AlterConfigs(r) => alter_configs(a, r),
        R::IncrementalAlterConfigs(r) => incremental_alter_configs(a, r),
        R::AlterClientQuotas(r) => alter_client_quotas(a, r),
        R::AlterUserScramCredentials(r) => alter_scram(a, r),
        R::DescribeCluster(r) => cluster(a, Describe, R::DescribeCluster(r), || {
            ResponseKind::DescribeCluster(
                DescribeClusterResponse::default().with_error_code(CLUSTER_DENIED),
            )
        }),
        // Before v3 there is no top-level error: a refused client gets no log dirs, as in Kafka.
        R::DescribeLogDirs(r) => {
            let code = if a.version >= 3 { CLUSTER_DENIED } else { 0 };
            cluster(a, Describe, R::DescribeLogDirs(r), || {
                ResponseKind::DescribeLogDirs(
                    DescribeLogDirsResponse::default().with_error_code(code),
                )
            })
        }
        R::ElectLeaders(r) => {
            let refusal = elect_leaders_refusal(&r, a.version);
            cluster(a, Alter, R::ElectLeaders(r), || refusal)
        }
        R::AlterPartitionReassignments(r) => {
            cluster(a, Alter, R::AlterPartitionReassignments(r), || {
                ResponseKind::AlterPartitionReassignments(
                    AlterPartitionReassignmentsResponse::default().with_error_code(CLUSTER_DENIED),
                )
            })
        }
        R::ListPartitionReassignments(r) => {
            cluster(a, Describe, R::ListPartitionReassignments(r), || {
                ResponseKind::ListPartitionReassignments(
                    ListPartitionReassignmentsResponse::default().with_error_code(CLUSTER_DENIED),
                )
            })
        }
        R::DescribeQuorum(r) => cluster(a, Describe, R::DescribeQuorum(r), || {
            ResponseKind::DescribeQuorum(
                DescribeQuorumResponse::default().with_error_code(CLUSTER_DENIED),
            )
        }),
        R::DescribeClientQuotas(r) => {
            cluster(a, DescribeConfigs, R::DescribeClientQuotas(r), || {
                ResponseKind::DescribeClientQuotas(
                    DescribeClientQuotasResponse::default().with_error_code(CLUSTER_DENIED),
                )
            })
        }
        R::DescribeUserScramCredentials(r) => {
            cluster(a, Describe, R::DescribeUserScramCredentials(r), || {
                ResponseKind::DescribeUserScramCredentials(
                    DescribeUserScramCredentialsResponse::default().with_error_code(CLUSTER_DENIED),
                )
            })
        }
        R::DescribeAcls(r) => cluster(a, Describe, R::DescribeAcls(r), || {
            ResponseKind::DescribeAcls(
                DescribeAclsResponse::default().with_error_code(CLUSTER_DENIED),
            )
        }),
        R::CreateAcls(r) => {
            let n = r.creations.len();
            cluster(a, Alter, R::CreateAcls(r), || {
                let denied = create_acls_response::AclCreationResult::default()
                    .with_error_code(CLUSTER_DENIED);
                ResponseKind::CreateAcls(
                    CreateAclsResponse::default().with_results(vec![denied; n]),
                )
            })
        }
        R::DeleteAcls(r) => {
            let n = r.filters.len();
            cluster(a, Alter, R::DeleteAcls(r), || {
                let denied = delete_acls_response::DeleteAclsFilterResult::default()
                    .with_error_code(CLUSTER_DENIED);
                ResponseKind::DeleteAcls(
                    DeleteAclsResponse::default().with_filter_results(vec![denied; n]),
                )
            })
        }
        other if a.is_super_user() => Gate::Serve(other, None),
        _ => Gate::Close("an API without an authorization rule is served to super users only"),
    }
}

fn cluster(
    a: &Asked<'_>,
    operation: Operation,
    request: RequestKind,
    refusal: impl FnOnce() -> ResponseKind,
) -> Gate {
    if a.may_cluster(operation) {
        Gate::Serve(request, None)
    } else {
        Gate::Refuse(refusal())
    }
}

/// ElectLeaders refused: the top-level error, and each named partition's (v0 has only those).
fn elect_leaders_refusal(r: &ElectLeadersRequest, version: i16) -> ResponseKind {
    let results = (r.topic_partitions.iter().flatten())
        .map(|t| {
            elect_leaders_response::ReplicaElectionResult::default()
                .with_topic(t.topic.clone())
                .with_partition_result(
                    (t.partitions.iter())
                        .map(|p| {
                            elect_leaders_response::PartitionResult::default()
                                .with_partition_id(*p)
                                .with_error_code(CLUSTER_DENIED)
                        })
                        .collect(),
                )
        })
        .collect();
    let top_level = if version >= 1 { CLUSTER_DENIED } else { 0 };
    ResponseKind::ElectLeaders(
        ElectLeadersResponse::default()
            .with_error_code(top_level)
            .with_replica_election_results(results),
    )
}

/// CreateTopics needs CREATE on the cluster or on each topic.
fn create_topics(a: &Asked<'_>, mut r: CreateTopicsRequest) -> Gate {
    let on_cluster = a.may_cluster(Operation::Create);
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        on_cluster || a.may_topic(Operation::Create, t.name.as_str())
    });
    r.topics = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::CreateTopics(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::CreateTopics(body) = body {
            for t in &denied {
                body.topics.push(
                    create_topics_response::CreatableTopicResult::default()
                        .with_name(t.name.clone())
                        .with_error_code(TOPIC_DENIED)
                        .with_error_message(Some(str_bytes("not authorized to create this topic")))
                        .with_num_partitions(-1)
                        .with_replication_factor(-1),
                );
            }
        }
    });
    Gate::Serve(RequestKind::CreateTopics(r), Some(amend))
}

/// DeleteTopics needs DELETE on each topic; one named by id is checked under its name.
fn delete_topics(a: &Asked<'_>, mut r: DeleteTopicsRequest) -> Gate {
    let name_of = |id: &Uuid| -> Option<String> {
        (a.services().cluster)
            .metadata(|s| (s.topics().find(|t| t.id.0 == *id.as_bytes())).map(|t| t.name.clone()))
    };
    let (names, denied_names) = split(std::mem::take(&mut r.topic_names), |n| {
        a.may_topic(Operation::Delete, n.as_str())
    });
    r.topic_names = names;
    let (states, denied_states) = split(std::mem::take(&mut r.topics), |t| {
        let name = t
            .name
            .as_ref()
            .map(|n| n.to_string())
            .or_else(|| name_of(&t.topic_id));
        // An unknown id is the handler's to refuse (UNKNOWN_TOPIC_ID).
        name.is_none_or(|n| a.may_topic(Operation::Delete, &n))
    });
    r.topics = states;
    if denied_names.is_empty() && denied_states.is_empty() {
        return Gate::Serve(RequestKind::DeleteTopics(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::DeleteTopics(body) = body {
            let denied = |name: Option<TopicName>, id: Uuid| {
                delete_topics_response::DeletableTopicResult::default()
                    .with_name(name)
                    .with_topic_id(id)
                    .with_error_code(TOPIC_DENIED)
            };
            for n in &denied_names {
                body.responses.push(denied(Some(n.clone()), Uuid::nil()));
            }
            for t in &denied_states {
                body.responses.push(denied(t.name.clone(), t.topic_id));
            }
        }
    });
    Gate::Serve(RequestKind::DeleteTopics(r), Some(amend))
}

/// CreatePartitions needs ALTER on each topic.
fn create_partitions(a: &Asked<'_>, mut r: CreatePartitionsRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.topics), |t| {
        a.may_topic(Operation::Alter, t.name.as_str())
    });
    r.topics = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::CreatePartitions(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::CreatePartitions(body) = body {
            for t in &denied {
                body.results.push(
                    create_partitions_response::CreatePartitionsTopicResult::default()
                        .with_name(t.name.clone())
                        .with_error_code(TOPIC_DENIED),
                );
            }
        }
    });
    Gate::Serve(RequestKind::CreatePartitions(r), Some(amend))
}

/// The operation on a config resource: a topic's own ACLs, a broker's the cluster's.
fn may_config(a: &Asked<'_>, operation: Operation, resource_type: i8, name: &str) -> bool {
    if resource_type == TOPIC_RESOURCE {
        a.may_topic(operation, name)
    } else {
        a.may_cluster(operation)
    }
}

fn config_denied_code(resource_type: i8) -> i16 {
    if resource_type == TOPIC_RESOURCE {
        TOPIC_DENIED
    } else {
        CLUSTER_DENIED
    }
}

fn describe_configs(a: &Asked<'_>, mut r: DescribeConfigsRequest) -> Gate {
    let (allowed, denied) = split(std::mem::take(&mut r.resources), |c| {
        may_config(
            a,
            Operation::DescribeConfigs,
            c.resource_type,
            c.resource_name.as_str(),
        )
    });
    r.resources = allowed;
    if denied.is_empty() {
        return Gate::Serve(RequestKind::DescribeConfigs(r), None);
    }
    let amend = Amend::new(move |body| {
        if let ResponseKind::DescribeConfigs(body) = body {
            for c in &denied {
                body.results.push(
                    describe_configs_response::DescribeConfigsResult::default()
                        .with_resource_type(c.resource_type)
                        .with_resource_name(c.resource_name.clone())
                        .with_error_code(config_denied_code(c.resource_type)),
                );
            }
        }
    });
    Gate::Serve(RequestKind::DescribeConfigs(r), Some(amend))
}

/// AlterConfigs and IncrementalAlterConfigs: the same check, each with its own message types.
macro_rules! alter_configs {
    ($name:ident, $request:ident, $kind:ident, $response:path) => {
        fn $name(a: &Asked<'_>, mut r: $request) -> Gate {
            let (allowed, denied) = split(std::mem::take(&mut r.resources), |c| {
                let name = c.resource_name.as_str();
                may_config(a, Operation::AlterConfigs, c.resource_type, name)
            });
            r.resources = allowed;
            if denied.is_empty() {
                return Gate::Serve(RequestKind::$kind(r), None);
            }
            let denied: Vec<(i8, StrBytes)> = (denied.into_iter())
                .map(|c| (c.resource_type, c.resource_name))
                .collect();
            let amend = Amend::new(move |body| {
                if let ResponseKind::$kind(body) = body {
                    for (t, name) in &denied {
                        body.responses.push(
                            <$response>::default()
                                .with_resource_type(*t)
                                .with_resource_name(name.clone())
                                .with_error_code(config_denied_code(*t)),
                        );
                    }
                }
            });
            Gate::Serve(RequestKind::$kind(r), Some(amend))
        }
    };
}

alter_configs!(
    alter_configs,
    AlterConfigsRequest,
    AlterConfigs,
    alter_configs_response::AlterConfigsResourceResponse
);
alter_configs!(
    incremental_alter_configs,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigs,
    incremental_alter_configs_response::AlterConfigsResourceResponse
);

/// AlterClientQuotas needs ALTER_CONFIGS on the cluster; every entry is refused otherwise.
fn alter_client_quotas(a: &Asked<'_>, r: AlterClientQuotasRequest) -> Gate {
    if a.may_cluster(Operation::AlterConfigs) {
        return Gate::Serve(RequestKind::AlterClientQuotas(r), None);
    }
    let entries = (r.entries.into_iter())
        .map(|e| {
            alter_client_quotas_response::EntryData::default()
                .with_error_code(CLUSTER_DENIED)
                .with_entity(
                    (e.entity.into_iter())
                        .map(|d| {
                            alter_client_quotas_response::EntityData::default()
                                .with_entity_type(d.entity_type)
                                .with_entity_name(d.entity_name)
                        })
                        .collect(),
                )
        })
        .collect();
    Gate::Refuse(ResponseKind::AlterClientQuotas(
        AlterClientQuotasResponse::default().with_entries(entries),
    ))
}

/// AlterUserScramCredentials needs ALTER on the cluster; every user is refused otherwise.
fn alter_scram(a: &Asked<'_>, r: AlterUserScramCredentialsRequest) -> Gate {
    if a.may_cluster(Operation::Alter) {
        return Gate::Serve(RequestKind::AlterUserScramCredentials(r), None);
    }
    let mut users: Vec<StrBytes> = (r.deletions.iter().map(|d| d.name.clone()))
        .chain(r.upsertions.iter().map(|u| u.name.clone()))
        .collect();
    users.sort();
    users.dedup();
    let results = (users.into_iter())
        .map(|user| {
            alter_user_scram_credentials_response::AlterUserScramCredentialsResult::default()
                .with_user(user)
                .with_error_code(CLUSTER_DENIED)
        })
        .collect();
    Gate::Refuse(ResponseKind::AlterUserScramCredentials(
        AlterUserScramCredentialsResponse::default().with_results(results),
    ))
}
