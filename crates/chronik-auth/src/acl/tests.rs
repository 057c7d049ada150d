use super::*;

fn acl(
    resource_type: ResourceType,
    name: &str,
    pattern: PatternType,
    principal: &str,
    operation: Operation,
    permission: Permission,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern,
        principal: principal.into(),
        host: WILDCARD.into(),
        operation,
        permission,
    }
}

fn topic(name: &str, principal: &str, operation: Operation, permission: Permission) -> AclBinding {
    acl(
        ResourceType::Topic,
        name,
        PatternType::Literal,
        principal,
        operation,
        permission,
    )
}

fn may(acls: &[AclBinding], principal: &str, operation: Operation, name: &str) -> bool {
    let config = AuthorizerConfig::default();
    authorize(
        &config,
        acls,
        principal,
        "10.0.0.1",
        operation,
        ResourceType::Topic,
        name,
    )
}

use Operation::*;
use Permission::*;

#[test]
fn an_allow_applies_to_its_principal_operation_and_resource_only() {
    let acls = [topic("orders", "User:alice", Write, Allow)];
    assert!(may(&acls, "User:alice", Write, "orders"));
    assert!(!may(&acls, "User:bob", Write, "orders"));
    assert!(!may(&acls, "User:alice", Read, "orders"));
    assert!(!may(&acls, "User:alice", Write, "payments"));
}

#[test]
fn deny_beats_allow_and_all_covers_every_operation() {
    let acls = [
        topic("orders", "User:*", All, Allow),
        topic("orders", "User:mallory", Write, Deny),
    ];
    assert!(may(&acls, "User:alice", Write, "orders"));
    assert!(may(&acls, "User:mallory", Read, "orders"));
    assert!(!may(&acls, "User:mallory", Write, "orders"));
    let denied_all = [
        topic("orders", "User:alice", Read, Allow),
        topic("*", "User:alice", All, Deny),
    ];
    assert!(!may(&denied_all, "User:alice", Read, "orders"));
}

#[test]
fn read_write_delete_and_alter_imply_describe_and_alter_configs_implies_describe_configs() {
    for op in [Read, Write, Delete, Alter] {
        assert!(
            may(&[topic("t", "User:a", op, Allow)], "User:a", Describe, "t"),
            "{op:?}"
        );
    }
    assert!(!may(
        &[topic("t", "User:a", Create, Allow)],
        "User:a",
        Describe,
        "t"
    ));
    assert!(may(
        &[topic("t", "User:a", AlterConfigs, Allow)],
        "User:a",
        DescribeConfigs,
        "t"
    ));
    assert!(!may(
        &[topic("t", "User:a", DescribeConfigs, Allow)],
        "User:a",
        AlterConfigs,
        "t"
    ));
    // A deny of READ does not deny DESCRIBE.
    let acls = [
        topic("t", "User:a", Describe, Allow),
        topic("t", "User:a", Read, Deny),
    ];
    assert!(may(&acls, "User:a", Describe, "t"));
}

#[test]
fn prefixed_and_wildcard_patterns_match_as_in_kafka() {
    let prefixed = acl(
        ResourceType::Topic,
        "logs-",
        PatternType::Prefixed,
        "User:a",
        Read,
        Allow,
    );
    assert!(may(
        std::slice::from_ref(&prefixed),
        "User:a",
        Read,
        "logs-app"
    ));
    assert!(may(
        std::slice::from_ref(&prefixed),
        "User:a",
        Read,
        "logs-"
    ));
    assert!(!may(std::slice::from_ref(&prefixed), "User:a", Read, "log"));
    let everything = topic("*", "User:a", Read, Allow);
    assert!(may(
        std::slice::from_ref(&everything),
        "User:a",
        Read,
        "anything"
    ));
    // A group ACL says nothing about topics.
    let group = acl(
        ResourceType::Group,
        "*",
        PatternType::Literal,
        "User:a",
        Read,
        Allow,
    );
    assert!(!may(&[group], "User:a", Read, "anything"));
}

#[test]
fn hosts_narrow_an_acl() {
    let mut from_one_host = topic("t", "User:a", Read, Allow);
    from_one_host.host = "10.0.0.9".into();
    assert!(!may(
        std::slice::from_ref(&from_one_host),
        "User:a",
        Read,
        "t"
    ));
    from_one_host.host = "10.0.0.1".into();
    assert!(may(&[from_one_host], "User:a", Read, "t"));
}

#[test]
fn super_users_and_resources_without_acls() {
    let config = AuthorizerConfig {
        super_users: vec!["User:admin".into()],
        allow_if_no_acl: false,
    };
    let acls = [topic("t", "User:a", Read, Deny)];
    let ask = |config: &AuthorizerConfig, principal, name| {
        authorize(
            config,
            &acls,
            principal,
            "h",
            Write,
            ResourceType::Topic,
            name,
        )
    };
    assert!(ask(&config, "User:admin", "t"));
    assert!(!ask(&config, "User:b", "uncovered"));
    let open = AuthorizerConfig {
        allow_if_no_acl: true,
        ..config
    };
    assert!(ask(&open, "User:b", "uncovered"));
    // A covered resource is decided by its ACLs alone, even when none applies to the principal.
    assert!(!ask(&open, "User:b", "t"));
}

#[test]
fn filters_match_as_describe_and_delete_acls_do() {
    let literal = topic("orders", "User:a", Read, Allow);
    let wildcard = topic("*", "User:b", Write, Deny);
    let prefixed = acl(
        ResourceType::Topic,
        "ord",
        PatternType::Prefixed,
        "User:a",
        Read,
        Allow,
    );
    let all = AclFilter {
        resource_type: None,
        resource_name: None,
        pattern: PatternFilter::Any,
        principal: None,
        host: None,
        operation: None,
        permission: None,
    };
    for acl in [&literal, &wildcard, &prefixed] {
        assert!(all.matches(acl));
    }
    let named = AclFilter {
        resource_name: Some("orders".into()),
        ..all.clone()
    };
    assert!(named.matches(&literal) && !named.matches(&wildcard) && !named.matches(&prefixed));
    let matching = AclFilter {
        pattern: PatternFilter::Match,
        ..named.clone()
    };
    assert!(
        matching.matches(&literal) && matching.matches(&wildcard) && matching.matches(&prefixed)
    );
    let only_prefixed = AclFilter {
        pattern: PatternFilter::Exactly(PatternType::Prefixed),
        resource_name: None,
        ..all.clone()
    };
    assert!(only_prefixed.matches(&prefixed) && !only_prefixed.matches(&literal));
    let by_principal = AclFilter {
        principal: Some("User:b".into()),
        permission: Some(Deny),
        ..all
    };
    assert!(by_principal.matches(&wildcard) && !by_principal.matches(&literal));
}

#[test]
fn invalid_acls_are_refused() {
    let good = topic("t", "User:a", Read, Allow);
    assert!(good.validate().is_ok());
    let cluster = acl(
        ResourceType::Cluster,
        CLUSTER_NAME,
        PatternType::Literal,
        "User:a",
        Alter,
        Allow,
    );
    assert!(cluster.validate().is_ok());
    for bad in [
        AclBinding {
            resource_name: String::new(),
            ..good.clone()
        },
        AclBinding {
            principal: "alice".into(),
            ..good.clone()
        },
        AclBinding {
            principal: "Group:x".into(),
            ..good.clone()
        },
        AclBinding {
            principal: "User:".into(),
            ..good.clone()
        },
        AclBinding {
            host: String::new(),
            ..good.clone()
        },
        AclBinding {
            resource_name: "*".into(),
            pattern: PatternType::Prefixed,
            ..good.clone()
        },
        AclBinding {
            resource_name: "other".into(),
            ..cluster.clone()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn some_resource_of_a_type_allows_unless_a_deny_covers_it() {
    let config = AuthorizerConfig::default();
    let any = |acls: &[AclBinding]| {
        authorize_any(&config, acls, "User:a", "h", Write, ResourceType::Topic)
    };
    let prefixed = acl(
        ResourceType::Topic,
        "app-",
        PatternType::Prefixed,
        "User:a",
        Write,
        Allow,
    );
    assert!(any(std::slice::from_ref(&prefixed)));
    assert!(!any(&[]));
    assert!(!any(&[topic("t", "User:b", Write, Allow)]));
    assert!(!any(&[topic("t", "User:a", Read, Allow)]));
    // A deny of every topic, or of a shorter prefix, covers the allow.
    assert!(!any(&[prefixed.clone(), topic("*", "User:a", Write, Deny)]));
    let shorter = acl(
        ResourceType::Topic,
        "app",
        PatternType::Prefixed,
        "User:a",
        All,
        Deny,
    );
    assert!(!any(&[prefixed.clone(), shorter]));
    // A deny of one topic does not.
    assert!(any(&[prefixed, topic("app-x", "User:a", Write, Deny)]));
    let literal = topic("orders", "User:a", Write, Allow);
    assert!(!any(&[
        literal.clone(),
        topic("orders", "User:a", Write, Deny)
    ]));
    let super_user = AuthorizerConfig {
        super_users: vec!["User:a".into()],
        allow_if_no_acl: false,
    };
    assert!(authorize_any(
        &super_user,
        &[],
        "User:a",
        "h",
        Write,
        ResourceType::Topic
    ));
}
