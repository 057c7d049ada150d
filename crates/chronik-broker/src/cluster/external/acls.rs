//! CreateAcls and DeleteAcls on an external quorum: one call to its leader, then a wait until
//! this broker's image shows the outcome, so a DescribeAcls right after sees it.

use chronik_auth::acl::{AclBinding, AclFilter};
use chronik_metadata::ErrorKind;
use chronik_metadata::grpc::pb::{CreateAclsRequest, DeleteAclsRequest};
use chronik_metadata::grpc::{acl_binding, acl_binding_message, acl_filter_message};
use chronik_metadata::node::NodeError;

use super::{ExternalQuorum, refusal};

/// Refuses an answer with a result count other than the request's item count.
fn check_count(what: &str, answered: usize, asked: usize) -> Result<(), NodeError> {
    if answered == asked {
        return Ok(());
    }
    Err(NodeError::Remote {
        kind: ErrorKind::Internal,
        message: format!(
            "the quorum answered {answered} of {asked} {what}; check that every meta node runs \
             the same version"
        ),
    })
}

pub(super) async fn create(
    q: &ExternalQuorum,
    acls: &[AclBinding],
) -> Result<Vec<Result<(), NodeError>>, NodeError> {
    let req = CreateAclsRequest {
        acls: acls.iter().map(acl_binding_message).collect(),
    };
    let results = q
        .call(|mut c| {
            let req = req.clone();
            async move { c.create_acls(req).await }
        })
        .await?
        .results;
    check_count("ACL creations", results.len(), acls.len())?;
    let outcomes: Vec<Result<(), NodeError>> = (results.into_iter())
        .map(|r| match r.error {
            0 => Ok(()),
            _ => Err(refusal(r)),
        })
        .collect();
    let created: Vec<&AclBinding> = (acls.iter().zip(&outcomes))
        .filter(|(_, o)| o.is_ok())
        .map(|(a, _)| a)
        .collect();
    let shown = |s: &chronik_metadata::MetadataState| {
        (created.iter()).all(|a| s.acls().binary_search(a).is_ok())
    };
    q.wait_for_image("the new ACLs", shown).await?;
    Ok(outcomes)
}

pub(super) async fn delete(
    q: &ExternalQuorum,
    filters: &[AclFilter],
) -> Result<Vec<Result<Vec<AclBinding>, NodeError>>, NodeError> {
    let req = DeleteAclsRequest {
        filters: filters.iter().map(acl_filter_message).collect(),
    };
    let results = q
        .call(|mut c| {
            let req = req.clone();
            async move { c.delete_acls(req).await }
        })
        .await?
        .results;
    check_count("ACL filters", results.len(), filters.len())?;
    let mut outcomes = Vec::with_capacity(results.len());
    for r in results {
        let result = r.result.unwrap_or_default();
        if result.error != 0 {
            outcomes.push(Err(refusal(result)));
            continue;
        }
        let deleted = (r.deleted.iter())
            .map(acl_binding)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| NodeError::Remote {
                kind: ErrorKind::Internal,
                message: format!("the quorum answered a deleted ACL this broker cannot read: {e}"),
            })?;
        outcomes.push(Ok(deleted));
    }
    let gone: Vec<&AclBinding> = outcomes.iter().flatten().flatten().collect();
    let shown = |s: &chronik_metadata::MetadataState| {
        (gone.iter()).all(|a| s.acls().binary_search(a).is_err())
    };
    q.wait_for_image("the ACLs deleted", shown).await?;
    Ok(outcomes)
}
