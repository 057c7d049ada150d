//! ACLs through both quorums: created once, refused when invalid, read back at once, and
//! deleted by filters with each filter answered with what it removed.

use chronik_auth::acl::{
    AclBinding, AclFilter, Operation, PatternFilter, PatternType, Permission, ResourceType,
};
use chronik_metadata::ErrorKind;

use super::Fixture;

fn acl(name: &str, pattern: PatternType, principal: &str) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name.into(),
        pattern,
        principal: principal.into(),
        host: "*".into(),
        operation: Operation::Read,
        permission: Permission::Allow,
    }
}

fn matching(name: &str) -> AclFilter {
    AclFilter {
        resource_type: Some(ResourceType::Topic),
        resource_name: Some(name.into()),
        pattern: PatternFilter::Match,
        principal: None,
        host: None,
        operation: None,
        permission: None,
    }
}

pub(super) async fn acls_are_created_and_deleted(f: Fixture) -> Fixture {
    let q = f.quorum();
    let literal = acl("orders", PatternType::Literal, "User:alice");
    let prefixed = acl("ord", PatternType::Prefixed, "User:bob");
    let other = acl("payments", PatternType::Literal, "User:alice");
    let invalid = acl("*", PatternType::Prefixed, "User:bob");
    let outcomes = (q.create_acls(&[
        literal.clone(),
        prefixed.clone(),
        literal.clone(),
        other.clone(),
        invalid,
    ]))
    .await
    .expect("answered");
    let kinds: Vec<ErrorKind> = (outcomes.iter())
        .map(|o| o.as_ref().err().map_or(ErrorKind::None, |e| e.kind()))
        .collect();
    use ErrorKind::{InvalidRequest, None};
    assert_eq!(kinds, [None, None, None, None, InvalidRequest]);
    let held = f.cluster.metadata(|s| s.acls().to_vec());
    assert_eq!(held.len(), 3, "read back at once, once each: {held:?}");

    // MATCH on "orders" covers the literal and the prefix; the second filter matches the
    // literal again, and both list it.
    let by_alice = AclFilter {
        principal: Some("User:alice".into()),
        ..matching("orders")
    };
    let outcomes = (q.delete_acls(&[matching("orders"), by_alice, matching("nothing")]))
        .await
        .expect("answered");
    let deleted: Vec<Vec<AclBinding>> = (outcomes.into_iter())
        .map(|o| o.expect("deleted"))
        .collect();
    assert_eq!(
        deleted,
        // In the state's order: "ord" sorts before "orders".
        [vec![prefixed, literal.clone()], vec![literal], vec![]]
    );
    assert_eq!(f.cluster.metadata(|s| s.acls().to_vec()), [other]);
    f
}
