//! ACLs as the controller service carries them (CreateAcls, DeleteAcls): conversions between
//! chronik-auth's types and the messages, in Kafka's numbering, and the two calls.

use chronik_auth::acl::codes::{KafkaFilter, any_or_code};
use chronik_auth::acl::{AclBinding, AclFilter, Operation, Permission, ResourceType};
use tonic::Status;

use super::pb::{self, AclFilterResult, ItemResult};
use super::service::{item, to_status};
use crate::ControllerError;
use crate::acls::{acl_label, acl_of, acl_record};
use crate::node::{MetaNode, NodeError};

/// `acl` as a request carries it.
pub fn acl_binding_message(acl: &AclBinding) -> pb::AclBinding {
    let r = acl_record(acl);
    pb::AclBinding {
        resource_type: r.resource_type,
        resource_name: r.resource_name,
        pattern_type: r.pattern_type,
        principal: r.principal,
        host: r.host,
        operation: r.operation,
        permission: r.permission,
    }
}

/// The ACL a message carries, refused unless its codes are a binding's and it is valid.
pub fn acl_binding(m: &pb::AclBinding) -> Result<AclBinding, ControllerError> {
    let record = crate::proto::Acl {
        resource_type: m.resource_type,
        resource_name: m.resource_name.clone(),
        pattern_type: m.pattern_type,
        principal: m.principal.clone(),
        host: m.host.clone(),
        operation: m.operation,
        permission: m.permission,
    };
    acl_of(&record).map_err(|e| ControllerError::InvalidRequest(e.to_string()))
}

/// `filter` as a request carries it.
pub fn acl_filter_message(filter: &AclFilter) -> pb::AclFilter {
    pb::AclFilter {
        resource_type: i32::from(any_or_code(filter.resource_type, ResourceType::kafka_code)),
        resource_name: filter.resource_name.clone(),
        pattern_type: i32::from(filter.pattern.kafka_code()),
        principal: filter.principal.clone(),
        host: filter.host.clone(),
        operation: i32::from(any_or_code(filter.operation, Operation::kafka_code)),
        permission: i32::from(any_or_code(filter.permission, Permission::kafka_code)),
    }
}

/// The filter a message carries: `None` for one matching nothing (a resource type Chronik
/// keeps no ACLs of), refused for an unknown code.
pub fn acl_filter(m: &pb::AclFilter) -> Result<Option<AclFilter>, ControllerError> {
    // Codes arrive as i32; one outside i8 is as unknown as any other.
    let code = |c: i32| i8::try_from(c).unwrap_or(i8::MIN);
    let kafka = KafkaFilter {
        resource_type: code(m.resource_type),
        resource_name: m.resource_name.as_deref(),
        pattern_type: code(m.pattern_type),
        principal: m.principal.as_deref(),
        host: m.host.as_deref(),
        operation: code(m.operation),
        permission: code(m.permission),
    };
    (kafka.to_filter()).map_err(|e| ControllerError::InvalidRequest(e.to_string()))
}

/// Creates each ACL of a request on its own.
pub(super) async fn create(
    node: &MetaNode,
    acls: &[pb::AclBinding],
) -> Result<Vec<ItemResult>, Status> {
    let mut results = Vec::with_capacity(acls.len());
    for m in acls {
        let (name, outcome) = match acl_binding(m) {
            Ok(acl) => {
                let outcome = node.create_acl(&acl).await;
                if outcome.is_ok() {
                    tracing::info!(acl = %acl_label(&acl), "ACL created");
                }
                (acl_label(&acl), outcome)
            }
            Err(e) => (m.resource_name.escape_debug().to_string(), Err(e.into())),
        };
        results.push(item(&name, outcome.map(|()| Vec::new()))?);
    }
    Ok(results)
}

/// Deletes what the filters of a request match, all in one decision; a filter refused for
/// its codes deletes nothing.
pub(super) async fn delete(
    node: &MetaNode,
    filters: &[pb::AclFilter],
) -> Result<Vec<AclFilterResult>, Status> {
    let converted: Vec<Result<Option<AclFilter>, ControllerError>> =
        filters.iter().map(acl_filter).collect();
    let valid: Vec<AclFilter> = (converted.iter())
        .filter_map(|c| c.as_ref().ok().and_then(Clone::clone))
        .collect();
    let outcome = match valid.is_empty() {
        true => Ok(Vec::new()),
        false => node.delete_acls(&valid).await,
    };
    let mut matched = match outcome {
        Ok(matched) => matched.into_iter(),
        Err(e @ (NodeError::NotLeader { .. } | NodeError::Raft(_))) => return Err(to_status(e)),
        Err(e) => {
            // The decision failed as a whole: every filter that took part says why.
            let why = item("", Err(e))?;
            let results = (converted.iter())
                .map(|c| match c {
                    Ok(Some(_)) => refused(why.clone()),
                    Ok(None) => deleted(Vec::new()),
                    Err(e) => refused(refusal(e)),
                })
                .collect();
            return Ok(results);
        }
    };
    let mut results = Vec::with_capacity(filters.len());
    for c in &converted {
        results.push(match c {
            Ok(Some(_)) => {
                let acls = matched.next().unwrap_or_default();
                for acl in &acls {
                    tracing::info!(acl = %acl_label(acl), "ACL deleted");
                }
                deleted(acls)
            }
            Ok(None) => deleted(Vec::new()),
            Err(e) => refused(refusal(e)),
        });
    }
    Ok(results)
}

fn deleted(acls: Vec<AclBinding>) -> AclFilterResult {
    AclFilterResult {
        result: Some(ItemResult::default()),
        deleted: acls.iter().map(acl_binding_message).collect(),
    }
}

fn refusal(e: &ControllerError) -> ItemResult {
    ItemResult {
        name: String::new(),
        error: e.kind().into(),
        error_message: e.to_string(),
        topic_id: Vec::new(),
    }
}

fn refused(result: ItemResult) -> AclFilterResult {
    AclFilterResult {
        result: Some(result),
        deleted: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use chronik_auth::acl::{PatternFilter, PatternType};

    use super::*;

    #[test]
    fn bindings_and_filters_round_trip() {
        let acl = crate::testing::topic_acl("orders", "User:alice");
        assert_eq!(acl_binding(&acl_binding_message(&acl)), Ok(acl));
        let filter = AclFilter {
            resource_type: None,
            resource_name: Some("ord".into()),
            pattern: PatternFilter::Exactly(PatternType::Prefixed),
            principal: None,
            host: Some("*".into()),
            operation: Some(Operation::Write),
            permission: None,
        };
        assert_eq!(
            acl_filter(&acl_filter_message(&filter)),
            Ok(Some(filter.clone()))
        );
        let mut m = acl_filter_message(&filter);
        m.resource_type = 6;
        assert_eq!(acl_filter(&m), Ok(None), "DELEGATION_TOKEN matches nothing");
        m.resource_type = 1 + 256;
        assert!(acl_filter(&m).is_err(), "ANY as an i8 is not ANY");
    }
}
