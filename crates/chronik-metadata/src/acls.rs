//! ACLs in the metadata: the record form of chronik-auth's `AclBinding` (Kafka's numeric
//! codes), the checks every ACL passes wherever it comes from (a record, a snapshot or a
//! request to the controller), and the bounds on how many the cluster keeps.

use chronik_auth::acl::{AclBinding, Operation, PatternType, Permission, ResourceType};

use crate::Result;
use crate::error::StateError;
use crate::proto::Acl;

/// Most ACLs the cluster keeps. Every broker holds them all in memory and authorizes each
/// request against them, and a snapshot carries them all.
pub const MAX_ACLS: usize = 100_000;

/// Most ACLs one DeleteAcls request removes. They go in one Raft entry (so the deletion is
/// atomic) and back in one answer; the bound keeps both well under the gRPC message limits.
pub const MAX_ACLS_DELETED_AT_ONCE: usize = 1_000;

/// `acl` as records, snapshots and the controller service carry it.
pub fn acl_record(acl: &AclBinding) -> Acl {
    Acl {
        resource_type: i32::from(acl.resource_type.kafka_code()),
        resource_name: acl.resource_name.clone(),
        pattern_type: i32::from(acl.pattern.kafka_code()),
        principal: acl.principal.clone(),
        host: acl.host.clone(),
        operation: i32::from(acl.operation.kafka_code()),
        permission: i32::from(acl.permission.kafka_code()),
    }
}

/// The ACL a record carries, refused (with the reason) unless every code is one of a binding
/// and the ACL passes `AclBinding::validate`.
pub fn acl_of(r: &Acl) -> Result<AclBinding> {
    let invalid = |e: chronik_auth::AuthError| StateError::InvalidAcl(e.to_string());
    // Codes arrive as i32; one outside i8 is as unknown as any other.
    let code = |c: i32| i8::try_from(c).unwrap_or(i8::MIN);
    let acl = AclBinding {
        resource_type: ResourceType::from_kafka_code(code(r.resource_type)).map_err(invalid)?,
        resource_name: r.resource_name.clone(),
        pattern: PatternType::from_kafka_code(code(r.pattern_type)).map_err(invalid)?,
        principal: r.principal.clone(),
        host: r.host.clone(),
        operation: Operation::from_kafka_code(code(r.operation)).map_err(invalid)?,
        permission: Permission::from_kafka_code(code(r.permission)).map_err(invalid)?,
    };
    acl.validate().map_err(invalid)?;
    Ok(acl)
}

/// How results and logs name an ACL: `ALLOW User:alice from * READ on TOPIC LITERAL 'orders'`.
pub fn acl_label(acl: &AclBinding) -> String {
    format!(
        "{:?} {} from {} {:?} on {:?} {:?} '{}'",
        acl.permission,
        acl.principal.escape_debug(),
        acl.host.escape_debug(),
        acl.operation,
        acl.resource_type,
        acl.pattern,
        acl.resource_name.escape_debug()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_orders() -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: "orders".into(),
            pattern: PatternType::Prefixed,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: Operation::Read,
            permission: Permission::Allow,
        }
    }

    #[test]
    fn records_round_trip() {
        let acl = read_orders();
        assert_eq!(acl_of(&acl_record(&acl)).expect("valid"), acl);
        assert_eq!(
            acl_label(&acl),
            "Allow User:alice from * Read on Topic Prefixed 'orders'"
        );
    }

    #[test]
    fn bad_codes_and_invalid_acls_are_refused_with_the_reason() {
        let good = acl_record(&read_orders());
        let mut cases = Vec::new();
        let mut r = good.clone();
        r.resource_type = 1;
        cases.push(("ANY resource type", r));
        let mut r = good.clone();
        r.resource_type = 2 + 256;
        cases.push(("resource type 258 (2 as an i8)", r));
        let mut r = good.clone();
        r.pattern_type = 2;
        cases.push(("MATCH pattern", r));
        let mut r = good.clone();
        r.operation = 0;
        cases.push(("operation 0", r));
        let mut r = good.clone();
        r.permission = 1;
        cases.push(("ANY permission", r));
        let mut r = good.clone();
        r.principal = "alice".into();
        cases.push(("a principal without User:", r));
        let mut r = good;
        r.resource_name.clear();
        cases.push(("an empty name", r));
        for (what, r) in cases {
            let err = acl_of(&r).expect_err(what);
            assert!(matches!(err, StateError::InvalidAcl(_)), "{what}: {err}");
        }
    }
}
