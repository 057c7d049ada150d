//! ACL changes (Kafka's CreateAcls and DeleteAcls). DeleteAcls filters are resolved here,
//! against the state the records will apply to, so what a filter reports deleted is exactly
//! what its records remove.

use chronik_auth::acl::{AclBinding, AclFilter};

use crate::ControllerError;
use crate::MetadataRecord;
use crate::acls::{MAX_ACLS, MAX_ACLS_DELETED_AT_ONCE, acl_record};
use crate::controller::Decision;
use crate::proto::metadata_record::Record;
use crate::proto::{CreateAcl, DeleteAcl};
use crate::state::MetadataState;

/// The record creating `acl`, checked as the state machine checks it so a refusal comes back
/// here rather than from the log. An ACL that exists proposes nothing.
pub fn create_acl(state: &MetadataState, acl: &AclBinding) -> Decision {
    acl.validate()
        .map_err(|e| ControllerError::InvalidRequest(e.to_string()))?;
    if state.acls().binary_search(acl).is_ok() {
        return Ok(Vec::new());
    }
    if state.acls().len() >= MAX_ACLS {
        return Err(ControllerError::InvalidRequest(format!(
            "the cluster already holds {MAX_ACLS} ACLs, the most it keeps; delete ACLs no \
             longer needed (or use prefixed and wildcard ones) before creating more"
        )));
    }
    Ok(vec![MetadataRecord::new(Record::CreateAcl(CreateAcl {
        acl: Some(acl_record(acl)),
    }))])
}

/// What DeleteAcls removes: for each filter the ACLs it matches (an ACL two filters match
/// appears under both), and the records deleting each of them once.
#[derive(Debug, Default, PartialEq)]
pub struct AclDeletion {
    pub matched: Vec<Vec<AclBinding>>,
    pub records: Vec<MetadataRecord>,
}

/// Resolves `filters` against `state`. Refused as a whole when they match more than
/// [`MAX_ACLS_DELETED_AT_ONCE`] ACLs, which one request may not delete.
pub fn delete_acls(
    state: &MetadataState,
    filters: &[AclFilter],
) -> Result<AclDeletion, ControllerError> {
    let mut deleted = vec![false; state.acls().len()];
    let mut count = 0usize;
    let mut matched = Vec::with_capacity(filters.len());
    for filter in filters {
        let mut mine = Vec::new();
        for (acl, gone) in state.acls().iter().zip(deleted.iter_mut()) {
            if !filter.matches(acl) {
                continue;
            }
            if !*gone {
                *gone = true;
                count += 1;
                if count > MAX_ACLS_DELETED_AT_ONCE {
                    return Err(ControllerError::InvalidRequest(format!(
                        "the filters match more than {MAX_ACLS_DELETED_AT_ONCE} ACLs, the most \
                         one DeleteAcls request deletes; delete them with narrower filters, in \
                         several requests"
                    )));
                }
            }
            mine.push(acl.clone());
        }
        matched.push(mine);
    }
    let records = (state.acls().iter().zip(&deleted))
        .filter(|(_, gone)| **gone)
        .map(|(acl, _)| {
            MetadataRecord::new(Record::DeleteAcl(DeleteAcl {
                acl: Some(acl_record(acl)),
            }))
        })
        .collect();
    Ok(AclDeletion { matched, records })
}

#[cfg(test)]
mod tests {
    use chronik_auth::acl::{PatternFilter, ResourceType};

    use super::*;
    use crate::ErrorKind;
    use crate::testing::{apply_all, create_acl as create_record, topic_acl};

    fn filter(name: Option<&str>, principal: Option<&str>) -> AclFilter {
        AclFilter {
            resource_type: Some(ResourceType::Topic),
            resource_name: name.map(Into::into),
            pattern: PatternFilter::Any,
            principal: principal.map(Into::into),
            host: None,
            operation: None,
            permission: None,
        }
    }

    #[test]
    fn creating_validates_and_repeats_nothing() {
        let mut state = MetadataState::new();
        let acl = topic_acl("orders", "User:alice");
        let records = create_acl(&state, &acl).expect("valid");
        apply_all(&mut state, &records);
        assert_eq!(create_acl(&state, &acl), Ok(Vec::new()));
        let err = create_acl(&state, &topic_acl("orders", "alice")).expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("User:<name>"), "{err}");
    }

    #[test]
    fn deleting_reports_each_filters_matches_and_deletes_each_once() {
        let mut state = MetadataState::new();
        let acls = [
            topic_acl("orders", "User:alice"),
            topic_acl("orders", "User:bob"),
            topic_acl("payments", "User:alice"),
        ];
        apply_all(
            &mut state,
            &acls.iter().map(create_record).collect::<Vec<_>>(),
        );
        let filters = [
            filter(Some("orders"), None),
            filter(None, Some("User:alice")),
            filter(Some("nothing"), None),
        ];
        let deletion = delete_acls(&state, &filters).expect("decided");
        let names = |acls: &[AclBinding]| -> Vec<(String, String)> {
            (acls.iter())
                .map(|a| (a.resource_name.clone(), a.principal.clone()))
                .collect()
        };
        assert_eq!(
            names(&deletion.matched[0]),
            [
                ("orders".into(), "User:alice".into()),
                ("orders".into(), "User:bob".into())
            ]
        );
        assert_eq!(
            names(&deletion.matched[1]),
            [
                ("orders".into(), "User:alice".into()),
                ("payments".into(), "User:alice".into())
            ]
        );
        assert!(deletion.matched[2].is_empty());
        assert_eq!(deletion.records.len(), 3, "each ACL deleted once");
        apply_all(&mut state, &deletion.records);
        assert!(state.acls().is_empty());
    }

    #[test]
    fn deleting_too_many_at_once_is_refused() {
        let mut state = MetadataState::new();
        let records: Vec<_> = (0..=MAX_ACLS_DELETED_AT_ONCE)
            .map(|i| create_record(&topic_acl(&format!("t{i}"), "User:a")))
            .collect();
        apply_all(&mut state, &records);
        let err = delete_acls(&state, &[filter(None, None)]).expect_err("too many");
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("narrower"), "{err}");
        let one = delete_acls(&state, &[filter(Some("t7"), None)]).expect("one");
        assert_eq!(one.records.len(), 1);
    }
}
