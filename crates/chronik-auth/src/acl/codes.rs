//! Kafka's numeric codes of the ACL enums, as DescribeAcls, CreateAcls and DeleteAcls carry
//! them (and as the metadata records keep them): the only place they are spelled out, so the
//! protocol handlers and the metadata agree. Bindings take concrete values; filters also take
//! ANY (1) and, for the pattern, MATCH (2).

use super::{AclFilter, Operation, PatternFilter, PatternType, Permission, ResourceType};
use crate::{AuthError, Result};

const ANY: i8 = 1;
const MATCH: i8 = 2;

/// Kafka's resource types Chronik keeps no ACLs for: a filter of them matches nothing, a
/// binding of them is refused with this reason.
fn unsupported_resource(code: i8) -> Option<&'static str> {
    match code {
        6 => Some("DELEGATION_TOKEN ACLs are not supported: Chronik has no delegation tokens"),
        7 => Some(
            "USER ACLs (creating delegation tokens for others) are not supported: Chronik has no \
             delegation tokens",
        ),
        _ => None,
    }
}

fn bad(what: &str, code: i8, expected: &str) -> AuthError {
    AuthError::InvalidAcl(format!("unknown {what} {code}: use {expected}"))
}

const RESOURCE_TYPES: &str = "2 (TOPIC), 3 (GROUP), 4 (CLUSTER) or 5 (TRANSACTIONAL_ID)";
const PATTERN_TYPES: &str = "3 (LITERAL) or 4 (PREFIXED)";
const OPERATIONS: &str = "2 (ALL) to 12 (IDEMPOTENT_WRITE)";
const PERMISSIONS: &str = "2 (DENY) or 3 (ALLOW)";

impl ResourceType {
    pub fn kafka_code(self) -> i8 {
        match self {
            ResourceType::Topic => 2,
            ResourceType::Group => 3,
            ResourceType::Cluster => 4,
            ResourceType::TransactionalId => 5,
        }
    }

    /// The resource type of a binding; ANY, unknown and unsupported types are refused.
    pub fn from_kafka_code(code: i8) -> Result<Self> {
        match code {
            2 => Ok(ResourceType::Topic),
            3 => Ok(ResourceType::Group),
            4 => Ok(ResourceType::Cluster),
            5 => Ok(ResourceType::TransactionalId),
            _ => Err(match unsupported_resource(code) {
                Some(why) => AuthError::InvalidAcl(why.into()),
                None => bad("resource type", code, RESOURCE_TYPES),
            }),
        }
    }
}

impl PatternType {
    pub fn kafka_code(self) -> i8 {
        match self {
            PatternType::Literal => 3,
            PatternType::Prefixed => 4,
        }
    }

    pub fn from_kafka_code(code: i8) -> Result<Self> {
        match code {
            3 => Ok(PatternType::Literal),
            4 => Ok(PatternType::Prefixed),
            _ => Err(bad("pattern type", code, PATTERN_TYPES)),
        }
    }
}

impl Operation {
    pub fn kafka_code(self) -> i8 {
        use Operation::*;
        match self {
            All => 2,
            Read => 3,
            Write => 4,
            Create => 5,
            Delete => 6,
            Alter => 7,
            Describe => 8,
            ClusterAction => 9,
            DescribeConfigs => 10,
            AlterConfigs => 11,
            IdempotentWrite => 12,
        }
    }

    pub fn from_kafka_code(code: i8) -> Result<Self> {
        use Operation::*;
        Ok(match code {
            2 => All,
            3 => Read,
            4 => Write,
            5 => Create,
            6 => Delete,
            7 => Alter,
            8 => Describe,
            9 => ClusterAction,
            10 => DescribeConfigs,
            11 => AlterConfigs,
            12 => IdempotentWrite,
            _ => return Err(bad("operation", code, OPERATIONS)),
        })
    }
}

impl Permission {
    pub fn kafka_code(self) -> i8 {
        match self {
            Permission::Deny => 2,
            Permission::Allow => 3,
        }
    }

    pub fn from_kafka_code(code: i8) -> Result<Self> {
        match code {
            2 => Ok(Permission::Deny),
            3 => Ok(Permission::Allow),
            _ => Err(bad("permission type", code, PERMISSIONS)),
        }
    }
}

/// A filter's fields as Kafka's DescribeAcls and DeleteAcls carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaFilter<'a> {
    pub resource_type: i8,
    pub resource_name: Option<&'a str>,
    pub pattern_type: i8,
    pub principal: Option<&'a str>,
    pub host: Option<&'a str>,
    pub operation: i8,
    pub permission: i8,
}

impl KafkaFilter<'_> {
    /// The filter these codes make; `Ok(None)` for a resource type Chronik keeps no ACLs of
    /// (it matches nothing), an error naming the code for an unknown one.
    pub fn to_filter(&self) -> Result<Option<AclFilter>> {
        let resource_type = match self.resource_type {
            ANY => None,
            code if unsupported_resource(code).is_some() => return Ok(None),
            code => Some(ResourceType::from_kafka_code(code).map_err(|_| {
                bad(
                    "resource type filter",
                    code,
                    "1 (ANY), 2 (TOPIC), 3 (GROUP), 4 (CLUSTER) or 5 (TRANSACTIONAL_ID)",
                )
            })?),
        };
        let pattern = match self.pattern_type {
            ANY => PatternFilter::Any,
            MATCH => PatternFilter::Match,
            code => PatternFilter::Exactly(PatternType::from_kafka_code(code).map_err(|_| {
                bad(
                    "pattern type filter",
                    code,
                    "1 (ANY), 2 (MATCH), 3 (LITERAL) or 4 (PREFIXED)",
                )
            })?),
        };
        let operation = any_or(self.operation, Operation::from_kafka_code)
            .map_err(|_| bad("operation filter", self.operation, "1 (ANY) to 12"))?;
        let permission = any_or(self.permission, Permission::from_kafka_code).map_err(|_| {
            bad(
                "permission type filter",
                self.permission,
                "1 (ANY), 2 (DENY) or 3 (ALLOW)",
            )
        })?;
        Ok(Some(AclFilter {
            resource_type,
            resource_name: self.resource_name.map(str::to_owned),
            pattern,
            principal: self.principal.map(str::to_owned),
            host: self.host.map(str::to_owned),
            operation,
            permission,
        }))
    }
}

impl PatternFilter {
    pub fn kafka_code(self) -> i8 {
        match self {
            PatternFilter::Any => ANY,
            PatternFilter::Match => MATCH,
            PatternFilter::Exactly(p) => p.kafka_code(),
        }
    }
}

/// A filter field's value: `None` for ANY.
fn any_or<T>(code: i8, convert: fn(i8) -> Result<T>) -> Result<Option<T>> {
    match code {
        ANY => Ok(None),
        _ => convert(code).map(Some),
    }
}

/// The code of an optional filter field: ANY when absent.
pub fn any_or_code<T>(value: Option<T>, code: impl FnOnce(T) -> i8) -> i8 {
    value.map_or(ANY, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_and_codes_are_kafkas() {
        use Operation::*;
        let resources = [
            (ResourceType::Topic, 2),
            (ResourceType::Group, 3),
            (ResourceType::Cluster, 4),
            (ResourceType::TransactionalId, 5),
        ];
        for (r, code) in resources {
            assert_eq!(r.kafka_code(), code);
            assert_eq!(ResourceType::from_kafka_code(code).ok(), Some(r));
        }
        for (p, code) in [(PatternType::Literal, 3), (PatternType::Prefixed, 4)] {
            assert_eq!(p.kafka_code(), code);
            assert_eq!(PatternType::from_kafka_code(code).ok(), Some(p));
        }
        let operations = [
            All,
            Read,
            Write,
            Create,
            Delete,
            Alter,
            Describe,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
        ];
        for (o, code) in operations.into_iter().zip(2..) {
            assert_eq!(o.kafka_code(), code);
            assert_eq!(Operation::from_kafka_code(code).ok(), Some(o));
        }
        for (p, code) in [(Permission::Deny, 2), (Permission::Allow, 3)] {
            assert_eq!(p.kafka_code(), code);
            assert_eq!(Permission::from_kafka_code(code).ok(), Some(p));
        }
    }

    #[test]
    fn any_unknown_and_unsupported_are_refused_in_bindings_with_the_reason() {
        for code in [-1, 0, 1, 8, i8::MAX, i8::MIN] {
            let err = ResourceType::from_kafka_code(code).expect_err("refused");
            assert!(err.to_string().contains("TOPIC"), "{err}");
            assert!(PatternType::from_kafka_code(code).is_err());
            assert!(Permission::from_kafka_code(code).is_err());
        }
        for code in [0, 1, 13, -5] {
            assert!(Operation::from_kafka_code(code).is_err(), "{code}");
        }
        for (code, name) in [(6, "DELEGATION_TOKEN"), (7, "USER")] {
            let err = ResourceType::from_kafka_code(code).expect_err("unsupported");
            assert!(err.to_string().contains(name), "{err}");
        }
        // MATCH and ANY are filter values only.
        assert!(PatternType::from_kafka_code(2).is_err());
    }

    fn filter(
        resource_type: i8,
        pattern_type: i8,
        operation: i8,
        permission: i8,
    ) -> KafkaFilter<'static> {
        KafkaFilter {
            resource_type,
            resource_name: Some("orders"),
            pattern_type,
            principal: None,
            host: Some("*"),
            operation,
            permission,
        }
    }

    #[test]
    fn filters_take_any_and_match() {
        let f = filter(1, 1, 1, 1)
            .to_filter()
            .expect("valid")
            .expect("some");
        assert_eq!(
            f,
            AclFilter {
                resource_type: None,
                resource_name: Some("orders".into()),
                pattern: PatternFilter::Any,
                principal: None,
                host: Some("*".into()),
                operation: None,
                permission: None,
            }
        );
        let f = filter(2, 2, 3, 3)
            .to_filter()
            .expect("valid")
            .expect("some");
        assert_eq!(f.resource_type, Some(ResourceType::Topic));
        assert_eq!(f.pattern, PatternFilter::Match);
        assert_eq!(f.operation, Some(Operation::Read));
        assert_eq!(f.permission, Some(Permission::Allow));
        let f = filter(4, 4, 2, 2)
            .to_filter()
            .expect("valid")
            .expect("some");
        assert_eq!(f.pattern, PatternFilter::Exactly(PatternType::Prefixed));
        assert_eq!(f.pattern.kafka_code(), 4);
        assert_eq!(PatternFilter::Match.kafka_code(), 2);
        assert_eq!(any_or_code(None::<Operation>, Operation::kafka_code), 1);
    }

    #[test]
    fn unsupported_resource_filters_match_nothing_and_unknown_codes_are_refused() {
        assert_eq!(filter(6, 1, 1, 1).to_filter().expect("valid"), None);
        assert_eq!(filter(7, 1, 1, 1).to_filter().expect("valid"), None);
        for bad in [
            filter(0, 1, 1, 1),
            filter(9, 1, 1, 1),
            filter(1, 0, 1, 1),
            filter(1, 5, 1, 1),
            filter(1, 1, 0, 1),
            filter(1, 1, 13, 1),
            filter(1, 1, 1, 0),
            filter(1, 1, 1, 4),
        ] {
            let err = bad.to_filter().expect_err("refused");
            assert!(err.to_string().contains("ANY"), "{err}");
        }
    }
}
