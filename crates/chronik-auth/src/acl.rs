//! ACLs as Kafka defines them, and the decision an authorizer makes from them: pure data and
//! functions, no I/O, so every rule is unit-tested.

use crate::{AuthError, Result};

pub mod codes;

/// What an ACL protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Topic,
    Group,
    Cluster,
    TransactionalId,
}

/// How an ACL's resource name matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatternType {
    /// The exact name, or every name when it is `*`.
    Literal,
    /// Every name starting with it.
    Prefixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    Allow,
    Deny,
}

/// The only name a CLUSTER resource has.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// A literal name, principal or host matching every one.
pub const WILDCARD: &str = "*";
/// The principal matching every user.
pub const ANY_USER: &str = "User:*";

/// One ACL: `principal` from `host` is allowed or denied `operation` on the resources the
/// pattern names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern: PatternType,
    /// `User:<name>`, or `User:*`.
    pub principal: String,
    /// An IP address, or `*`.
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

impl AclBinding {
    /// Refuses what Kafka refuses in CreateAcls, with the reason.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(AuthError::InvalidAcl(why));
        if self.resource_name.is_empty() || self.resource_name.len() > 1024 {
            return bad("the resource name must have 1 to 1024 bytes".into());
        }
        if self.resource_type == ResourceType::Cluster && self.resource_name != CLUSTER_NAME {
            return bad(format!("a CLUSTER resource is named {CLUSTER_NAME}"));
        }
        if self.pattern == PatternType::Prefixed && self.resource_name == WILDCARD {
            return bad("a PREFIXED pattern of '*' matches nothing; use LITERAL '*'".into());
        }
        match self.principal.split_once(':') {
            Some(("User", name)) if !name.is_empty() && name.len() <= 256 => {}
            _ => return bad(format!("principal '{}' is not User:<name>", self.principal)),
        }
        if self.host.is_empty() || self.host.len() > 256 {
            return bad("the host must be an address or '*'".into());
        }
        Ok(())
    }

    /// Whether this ACL's pattern covers the resource `name` of `resource_type`.
    fn covers(&self, resource_type: ResourceType, name: &str) -> bool {
        self.resource_type == resource_type
            && match self.pattern {
                PatternType::Literal => {
                    self.resource_name == name || self.resource_name == WILDCARD
                }
                PatternType::Prefixed => name.starts_with(&self.resource_name),
            }
    }

    /// Whether this ACL is about `principal` connecting from `host`.
    fn applies_to(&self, principal: &str, host: &str) -> bool {
        (self.principal == principal || self.principal == ANY_USER)
            && (self.host == host || self.host == WILDCARD)
    }
}

/// How a filter's name matches patterns (DescribeAcls and DeleteAcls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternFilter {
    /// Any pattern type; with a name, patterns with exactly that name.
    Any,
    /// The patterns that would apply to a resource of that name: the literal name, `*`, and
    /// every prefix of it.
    Match,
    Exactly(PatternType),
}

/// A filter over ACLs; `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: Option<ResourceType>,
    pub resource_name: Option<String>,
    pub pattern: PatternFilter,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<Operation>,
    pub permission: Option<Permission>,
}

impl AclFilter {
    pub fn matches(&self, acl: &AclBinding) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        self.resource_type.is_none_or(|t| t == acl.resource_type)
            && self.pattern_matches(acl)
            && same(&self.principal, &acl.principal)
            && same(&self.host, &acl.host)
            && self.operation.is_none_or(|o| o == acl.operation)
            && self.permission.is_none_or(|p| p == acl.permission)
    }

    fn pattern_matches(&self, acl: &AclBinding) -> bool {
        if let PatternFilter::Exactly(p) = self.pattern
            && p != acl.pattern
        {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        match self.pattern {
            PatternFilter::Any | PatternFilter::Exactly(_) => *name == acl.resource_name,
            PatternFilter::Match => match acl.pattern {
                PatternType::Literal => *name == acl.resource_name || acl.resource_name == WILDCARD,
                PatternType::Prefixed => name.starts_with(&acl.resource_name),
            },
        }
    }
}

/// The operations whose ACLs allow `operation`: Kafka lets READ, WRITE, DELETE and ALTER imply
/// DESCRIBE, and ALTER_CONFIGS imply DESCRIBE_CONFIGS.
fn allowed_by(acl_operation: Operation, operation: Operation) -> bool {
    use Operation::*;
    acl_operation == All
        || acl_operation == operation
        || (operation == Describe && matches!(acl_operation, Read | Write | Delete | Alter))
        || (operation == DescribeConfigs && acl_operation == AlterConfigs)
}

/// Who decides, beyond the ACLs themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// Principals allowed everything (`User:admin`).
    pub super_users: Vec<String>,
    /// Allow everyone on a resource no ACL covers (Kafka's
    /// `allow.everyone.if.no.acl.found`, false by default).
    pub allow_if_no_acl: bool,
}

/// Kafka's decision: super users may do anything; a DENY that applies wins; otherwise an
/// ALLOW that applies (or implies the operation) allows; a resource no ACL covers at all is
/// allowed only with `allow_if_no_acl`.
pub fn authorize<'a>(
    config: &AuthorizerConfig,
    acls: impl IntoIterator<Item = &'a AclBinding>,
    principal: &str,
    host: &str,
    operation: Operation,
    resource_type: ResourceType,
    resource_name: &str,
) -> bool {
    if config.super_users.iter().any(|s| s == principal) {
        return true;
    }
    let mut covered = false;
    let mut allowed = false;
    for acl in acls {
        if !acl.covers(resource_type, resource_name) {
            continue;
        }
        covered = true;
        if !acl.applies_to(principal, host) {
            continue;
        }
        match acl.permission {
            Permission::Deny
                if matches!(acl.operation, Operation::All) || acl.operation == operation =>
            {
                return false;
            }
            Permission::Deny => {}
            Permission::Allow => allowed |= allowed_by(acl.operation, operation),
        }
    }
    allowed || (!covered && config.allow_if_no_acl)
}

/// Whether some resource of `resource_type` allows `operation` to the principal, whether or
/// not it exists yet (Kafka's authorizeByResourceType, which decides whether an idempotent
/// producer may write somewhere): an ALLOW counts unless a DENY covers everything it names.
pub fn authorize_any(
    config: &AuthorizerConfig,
    acls: &[AclBinding],
    principal: &str,
    host: &str,
    operation: Operation,
    resource_type: ResourceType,
) -> bool {
    if config.super_users.iter().any(|s| s == principal) {
        return true;
    }
    let relevant = |acl: &&AclBinding, permission: Permission| {
        acl.resource_type == resource_type
            && acl.permission == permission
            && acl.applies_to(principal, host)
            && (acl.operation == Operation::All || acl.operation == operation)
    };
    let denies: Vec<&AclBinding> = acls
        .iter()
        .filter(|a| relevant(a, Permission::Deny))
        .collect();
    if (denies.iter()).any(|d| d.pattern == PatternType::Literal && d.resource_name == WILDCARD) {
        return false;
    }
    let denied_by_prefix = |name: &str| {
        (denies.iter())
            .any(|d| d.pattern == PatternType::Prefixed && name.starts_with(&d.resource_name))
    };
    let allowed = acls
        .iter()
        .filter(|a| relevant(a, Permission::Allow))
        .any(|a| match a.pattern {
            PatternType::Literal => {
                let literal_deny = |d: &&&AclBinding| {
                    d.pattern == PatternType::Literal && d.resource_name == a.resource_name
                };
                !denies.iter().any(|d| literal_deny(&d)) && !denied_by_prefix(&a.resource_name)
            }
            PatternType::Prefixed => !denied_by_prefix(&a.resource_name),
        });
    allowed || (config.allow_if_no_acl && !acls.iter().any(|a| a.resource_type == resource_type))
}

#[cfg(test)]
mod tests;
