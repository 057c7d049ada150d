//! DescribeAcls, CreateAcls and DeleteAcls: the ACLs kept in the metadata, read from this
//! broker's view and changed through the controller. Kafka's numeric codes become
//! chronik-auth's types through `chronik_auth::acl::codes`. Without `--authorizer acl` no
//! ACL is enforced, so all three answer SECURITY_DISABLED as Kafka does without an authorizer.
//! Who may call them is checked at dispatch, not here.

use std::future::Future;

use chronik_auth::acl::codes::KafkaFilter;
use chronik_auth::acl::{AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType};
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::create_acls_request::AclCreation;
use chronik_kafka::kafka_protocol::messages::create_acls_response::AclCreationResult;
use chronik_kafka::kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use chronik_kafka::kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use chronik_kafka::kafka_protocol::messages::describe_acls_response::{
    AclDescription, DescribeAclsResource,
};
use chronik_kafka::kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};
use chronik_metadata::node::NodeError;

use super::{NONE, str_bytes};
use crate::kafka_errors::{Refusal, node_refusal};
use crate::services::Services;

fn security_disabled() -> Refusal {
    (
        ResponseError::SecurityDisabled,
        "ACLs are disabled on this broker: start it with --authorizer acl to create, describe \
         and delete ACLs"
            .into(),
    )
}

fn invalid(e: chronik_auth::AuthError) -> Refusal {
    (ResponseError::InvalidRequest, e.to_string())
}

fn enabled(services: &Services) -> bool {
    services.config.authorizer.is_some()
}

pub(crate) fn describe(services: &Services, req: DescribeAclsRequest) -> DescribeAclsResponse {
    let enabled = enabled(services);
    services
        .cluster
        .metadata(|s| describe_in(enabled, s.acls(), &req))
}

/// DescribeAcls over `acls`, this broker's view of them.
fn describe_in(
    enabled: bool,
    acls: &[AclBinding],
    req: &DescribeAclsRequest,
) -> DescribeAclsResponse {
    if !enabled {
        return describe_refused(security_disabled());
    }
    match filter_of(&describe_filter(req)) {
        Ok(None) => DescribeAclsResponse::default().with_error_code(NONE),
        Ok(Some(filter)) => describe_acls(acls, &filter),
        Err(refusal) => describe_refused(refusal),
    }
}

pub(crate) async fn create(services: &Services, req: CreateAclsRequest) -> CreateAclsResponse {
    let cluster = &services.cluster;
    create_with(enabled(services), req, |acls| async move {
        cluster.create_acls(&acls).await
    })
    .await
}

pub(crate) async fn delete(services: &Services, req: DeleteAclsRequest) -> DeleteAclsResponse {
    let cluster = &services.cluster;
    delete_with(enabled(services), req, |filters| async move {
        cluster.delete_acls(&filters).await
    })
    .await
}

fn describe_refused((error, message): Refusal) -> DescribeAclsResponse {
    DescribeAclsResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(str_bytes(&message)))
}

fn describe_filter(req: &DescribeAclsRequest) -> KafkaFilter<'_> {
    KafkaFilter {
        resource_type: req.resource_type_filter,
        resource_name: req.resource_name_filter.as_deref(),
        pattern_type: req.pattern_type_filter,
        principal: req.principal_filter.as_deref(),
        host: req.host_filter.as_deref(),
        operation: req.operation,
        permission: req.permission_type,
    }
}

fn delete_filter(f: &DeleteAclsFilter) -> KafkaFilter<'_> {
    KafkaFilter {
        resource_type: f.resource_type_filter,
        resource_name: f.resource_name_filter.as_deref(),
        pattern_type: f.pattern_type_filter,
        principal: f.principal_filter.as_deref(),
        host: f.host_filter.as_deref(),
        operation: f.operation,
        permission: f.permission_type,
    }
}

/// The filter, `None` when it matches nothing Chronik keeps, or INVALID_REQUEST.
fn filter_of(f: &KafkaFilter<'_>) -> Result<Option<AclFilter>, Refusal> {
    f.to_filter().map_err(invalid)
}

/// The ACLs `filter` matches, grouped by resource as Kafka answers them. `acls` is sorted by
/// resource first, so each resource's ACLs are consecutive.
fn describe_acls(acls: &[AclBinding], filter: &AclFilter) -> DescribeAclsResponse {
    let mut resources: Vec<DescribeAclsResource> = Vec::new();
    let mut last: Option<&AclBinding> = None;
    for acl in acls.iter().filter(|a| filter.matches(a)) {
        let same_resource = last.is_some_and(|l| {
            (l.resource_type, &l.resource_name, l.pattern)
                == (acl.resource_type, &acl.resource_name, acl.pattern)
        });
        if !same_resource {
            resources.push(
                DescribeAclsResource::default()
                    .with_resource_type(acl.resource_type.kafka_code())
                    .with_resource_name(str_bytes(&acl.resource_name))
                    .with_pattern_type(acl.pattern.kafka_code()),
            );
        }
        last = Some(acl);
        if let Some(resource) = resources.last_mut() {
            resource.acls.push(
                AclDescription::default()
                    .with_principal(str_bytes(&acl.principal))
                    .with_host(str_bytes(&acl.host))
                    .with_operation(acl.operation.kafka_code())
                    .with_permission_type(acl.permission.kafka_code()),
            );
        }
    }
    DescribeAclsResponse::default()
        .with_error_code(NONE)
        .with_resources(resources)
}

/// The ACL a creation asks for, or INVALID_REQUEST with the reason: ANY and unknown codes,
/// resource types Chronik does not support, and whatever `AclBinding::validate` refuses.
fn binding_of(c: &AclCreation) -> Result<AclBinding, Refusal> {
    let acl = AclBinding {
        resource_type: ResourceType::from_kafka_code(c.resource_type).map_err(invalid)?,
        resource_name: c.resource_name.as_str().to_owned(),
        pattern: PatternType::from_kafka_code(c.resource_pattern_type).map_err(invalid)?,
        principal: c.principal.as_str().to_owned(),
        host: c.host.as_str().to_owned(),
        operation: Operation::from_kafka_code(c.operation).map_err(invalid)?,
        permission: Permission::from_kafka_code(c.permission_type).map_err(invalid)?,
    };
    acl.validate().map_err(invalid)?;
    Ok(acl)
}

/// CreateAcls with the quorum call `create` (apart so tests can stand in for the quorum).
async fn create_with<F, Fut>(enabled: bool, req: CreateAclsRequest, create: F) -> CreateAclsResponse
where
    F: FnOnce(Vec<AclBinding>) -> Fut,
    Fut: Future<Output = Result<Vec<Result<(), NodeError>>, NodeError>>,
{
    let mut outcomes: Vec<Result<(), Refusal>> = Vec::with_capacity(req.creations.len());
    let mut valid = Vec::new();
    for c in &req.creations {
        let checked = match enabled {
            true => binding_of(c),
            false => Err(security_disabled()),
        };
        outcomes.push(checked.map(|acl| valid.push(acl)));
    }
    if !valid.is_empty() {
        let asked = valid.len();
        let answered: Vec<Result<(), Refusal>> = match create(valid).await {
            Ok(results) if results.len() == asked => (results.into_iter())
                .map(|r| r.map_err(|e| node_refusal(&e)))
                .collect(),
            Ok(_) => vec![Err(count_mismatch()); asked],
            Err(e) => (0..asked).map(|_| Err(node_refusal(&e))).collect(),
        };
        let mut answered = answered.into_iter();
        for outcome in outcomes.iter_mut().filter(|o| o.is_ok()) {
            if let Some(Err(e)) = answered.next() {
                *outcome = Err(e);
            }
        }
    }
    let results = (outcomes.into_iter())
        .map(|o| match o {
            Ok(()) => AclCreationResult::default().with_error_code(NONE),
            Err((error, message)) => AclCreationResult::default()
                .with_error_code(error.code())
                .with_error_message(Some(str_bytes(&message))),
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

fn count_mismatch() -> Refusal {
    (
        ResponseError::UnknownServerError,
        "the metadata quorum answered another number of results than asked; check that the \
         brokers and meta nodes run the same version"
            .into(),
    )
}

/// DeleteAcls with the quorum call `delete` (apart so tests can stand in for the quorum).
async fn delete_with<F, Fut>(enabled: bool, req: DeleteAclsRequest, delete: F) -> DeleteAclsResponse
where
    F: FnOnce(Vec<AclFilter>) -> Fut,
    Fut: Future<Output = Result<Vec<Result<Vec<AclBinding>, NodeError>>, NodeError>>,
{
    // Per filter: refused, matches nothing Chronik keeps (`Ok(None)`), or sent to the quorum.
    let mut outcomes: Vec<Result<Option<Vec<AclBinding>>, Refusal>> = Vec::new();
    let mut valid = Vec::new();
    for f in &req.filters {
        outcomes.push(match enabled {
            false => Err(security_disabled()),
            true => filter_of(&delete_filter(f)).map(|filter| {
                filter.map(|filter| {
                    valid.push(filter);
                    Vec::new()
                })
            }),
        });
    }
    if !valid.is_empty() {
        let asked = valid.len();
        let answered: Vec<Result<Vec<AclBinding>, Refusal>> = match delete(valid).await {
            Ok(results) if results.len() == asked => (results.into_iter())
                .map(|r| r.map_err(|e| node_refusal(&e)))
                .collect(),
            Ok(_) => vec![Err(count_mismatch()); asked],
            Err(e) => (0..asked).map(|_| Err(node_refusal(&e))).collect(),
        };
        let mut answered = answered.into_iter();
        for outcome in outcomes.iter_mut() {
            if let Ok(Some(_)) = outcome
                && let Some(result) = answered.next()
            {
                *outcome = result.map(Some);
            }
        }
    }
    let results = (outcomes.into_iter())
        .map(|o| match o {
            Ok(deleted) => DeleteAclsFilterResult::default()
                .with_error_code(NONE)
                .with_matching_acls(deleted.unwrap_or_default().iter().map(matching).collect()),
            Err((error, message)) => DeleteAclsFilterResult::default()
                .with_error_code(error.code())
                .with_error_message(Some(str_bytes(&message))),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}

fn matching(acl: &AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_error_code(NONE)
        .with_resource_type(acl.resource_type.kafka_code())
        .with_resource_name(str_bytes(&acl.resource_name))
        .with_pattern_type(acl.pattern.kafka_code())
        .with_principal(str_bytes(&acl.principal))
        .with_host(str_bytes(&acl.host))
        .with_operation(acl.operation.kafka_code())
        .with_permission_type(acl.permission.kafka_code())
}

#[cfg(test)]
#[path = "acls_tests.rs"]
mod tests;
