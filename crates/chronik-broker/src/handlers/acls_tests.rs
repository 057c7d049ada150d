use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_metadata::ErrorKind;

use super::*;

const SECURITY_DISABLED: i16 = 54;
const INVALID_REQUEST: i16 = 42;

fn creation(resource_type: i8, name: &str, pattern: i8, principal: &str) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(StrBytes::from_string(name.into()))
        .with_resource_pattern_type(pattern)
        .with_principal(StrBytes::from_string(principal.into()))
        .with_host(StrBytes::from_static_str("*"))
        .with_operation(3)
        .with_permission_type(3)
}

fn acl(name: &str, pattern: PatternType, principal: &str, operation: Operation) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name.into(),
        pattern,
        principal: principal.into(),
        host: "*".into(),
        operation,
        permission: Permission::Allow,
    }
}

fn describe_request(resource_type: i8, name: Option<&str>, pattern: i8) -> DescribeAclsRequest {
    DescribeAclsRequest::default()
        .with_resource_type_filter(resource_type)
        .with_resource_name_filter(name.map(|n| StrBytes::from_string(n.into())))
        .with_pattern_type_filter(pattern)
        // The defaults are empty strings, which match only an empty principal or host.
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(1)
        .with_permission_type(1)
}

fn delete_filter_of(resource_type: i8, name: Option<&str>, pattern: i8) -> DeleteAclsFilter {
    DeleteAclsFilter::default()
        .with_resource_type_filter(resource_type)
        .with_resource_name_filter(name.map(|n| StrBytes::from_string(n.into())))
        .with_pattern_type_filter(pattern)
        // The defaults are empty strings, which match only an empty principal or host.
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(1)
        .with_permission_type(1)
}

#[tokio::test]
async fn without_an_authorizer_all_three_answer_security_disabled() {
    let req =
        CreateAclsRequest::default()
            .with_creations(vec![creation(2, "orders", 3, "User:alice"); 2]);
    let r = create_with(false, req, |_| async { panic!("the quorum is not asked") }).await;
    assert_eq!(r.results.len(), 2);
    for result in &r.results {
        assert_eq!(result.error_code, SECURITY_DISABLED);
        let message = result.error_message.as_deref().unwrap_or_default();
        assert!(message.contains("--authorizer acl"), "{message}");
    }
    let req = DeleteAclsRequest::default().with_filters(vec![delete_filter_of(1, None, 1)]);
    let r = delete_with(false, req, |_| async { panic!("the quorum is not asked") }).await;
    assert_eq!(r.filter_results[0].error_code, SECURITY_DISABLED);
    let r = describe_in(false, &[], &describe_request(1, None, 1));
    assert_eq!(r.error_code, SECURITY_DISABLED);
    assert!(
        r.error_message
            .as_deref()
            .unwrap_or_default()
            .contains("--authorizer acl")
    );
}

#[tokio::test]
async fn creations_are_checked_each_on_its_own() {
    let req = CreateAclsRequest::default().with_creations(vec![
        creation(2, "orders", 3, "User:alice"),
        creation(1, "orders", 3, "User:alice"),
        creation(7, "alice", 3, "User:alice"),
        creation(2, "*", 4, "User:alice"),
        creation(2, "orders", 2, "User:alice"),
        creation(4, "kafka-cluster", 3, "User:bob"),
        creation(2, "orders", 3, "Group:x"),
    ]);
    let r = create_with(true, req, |acls| async move {
        assert_eq!(acls.len(), 2, "only the valid ones reach the quorum");
        assert_eq!(acls[1].resource_type, ResourceType::Cluster);
        Ok(vec![
            Ok(()),
            Err(NodeError::Remote {
                kind: ErrorKind::InvalidRequest,
                message: "the cluster already holds 100000 ACLs".into(),
            }),
        ])
    })
    .await;
    let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
    let refused = INVALID_REQUEST;
    assert_eq!(
        codes,
        [NONE, refused, refused, refused, refused, refused, refused]
    );
    let message = |i: usize| {
        r.results[i]
            .error_message
            .as_deref()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(message(2).contains("USER"), "{}", message(2));
    assert!(message(3).contains("PREFIXED"), "{}", message(3));
    assert!(message(5).contains("100000"), "{}", message(5));
    assert!(message(6).contains("User:<name>"), "{}", message(6));
}

#[test]
fn describe_groups_matches_by_resource_in_kafkas_shape() {
    let mut acls = vec![
        acl(
            "orders",
            PatternType::Literal,
            "User:alice",
            Operation::Read,
        ),
        acl("orders", PatternType::Literal, "User:bob", Operation::Write),
        acl("ord", PatternType::Prefixed, "User:carol", Operation::Read),
        acl("*", PatternType::Literal, "User:dave", Operation::Describe),
        acl(
            "payments",
            PatternType::Literal,
            "User:alice",
            Operation::Read,
        ),
    ];
    acls.sort();
    // MATCH: every pattern that applies to the topic "orders".
    let r = describe_in(true, &acls, &describe_request(2, Some("orders"), 2));
    assert_eq!(r.error_code, NONE);
    let shown: Vec<(String, i8, usize)> = (r.resources.iter())
        .map(|res| {
            (
                res.resource_name.to_string(),
                res.pattern_type,
                res.acls.len(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("*".into(), 3, 1),
            ("ord".into(), 4, 1),
            ("orders".into(), 3, 2)
        ]
    );
    // LITERAL "orders" only; PREFIXED "ord" only; ANY with no name: everything.
    let r = describe_in(true, &acls, &describe_request(2, Some("orders"), 3));
    assert_eq!(r.resources.len(), 1);
    assert_eq!(r.resources[0].acls[1].principal.as_str(), "User:bob");
    assert_eq!(r.resources[0].acls[1].operation, 4);
    let r = describe_in(true, &acls, &describe_request(2, Some("ord"), 4));
    assert_eq!(r.resources.len(), 1);
    let r = describe_in(true, &acls, &describe_request(1, None, 1));
    assert_eq!(r.resources.len(), 4);
    // A type Chronik keeps no ACLs of matches nothing; an unknown code is refused.
    let r = describe_in(true, &acls, &describe_request(6, None, 1));
    assert_eq!((r.error_code, r.resources.len()), (NONE, 0));
    let r = describe_in(true, &acls, &describe_request(0, None, 1));
    assert_eq!(r.error_code, INVALID_REQUEST);
}

#[tokio::test]
async fn delete_answers_each_filter_with_what_it_removed() {
    let removed = acl(
        "orders",
        PatternType::Literal,
        "User:alice",
        Operation::Read,
    );
    let req = DeleteAclsRequest::default().with_filters(vec![
        delete_filter_of(2, Some("orders"), 3),
        delete_filter_of(2, None, 9),
        delete_filter_of(7, None, 1),
        delete_filter_of(1, Some("nothing"), 1),
    ]);
    let answer = removed.clone();
    let r = delete_with(true, req, |filters| async move {
        assert_eq!(filters.len(), 2, "refused and empty filters stay here");
        Ok(vec![Ok(vec![answer]), Ok(Vec::new())])
    })
    .await;
    let results = &r.filter_results;
    let codes: Vec<(i16, usize)> = (results.iter())
        .map(|f| (f.error_code, f.matching_acls.len()))
        .collect();
    assert_eq!(
        codes,
        [(NONE, 1), (INVALID_REQUEST, 0), (NONE, 0), (NONE, 0)]
    );
    let m = &results[0].matching_acls[0];
    assert_eq!(
        (m.resource_type, m.resource_name.as_str(), m.pattern_type),
        (2, "orders", 3)
    );
    assert_eq!(
        (m.principal.as_str(), m.operation, m.permission_type),
        ("User:alice", 3, 3)
    );

    // The quorum failing as a whole fails every filter it was asked.
    let req = DeleteAclsRequest::default().with_filters(vec![delete_filter_of(1, None, 1)]);
    let r = delete_with(true, req, |_| async {
        Err(NodeError::Remote {
            kind: ErrorKind::Unavailable,
            message: "no leader".into(),
        })
    })
    .await;
    assert_ne!(r.filter_results[0].error_code, NONE);
}
