//! Client quotas (Kafka's KIP-546): limits keyed by an entity, a user and/or a client id, each
//! named or the default of its type. Only what Chronik enforces is accepted, so nothing is
//! stored that would have no effect.

use std::fmt;

/// Entity type of a quota set for a user (a principal name).
pub const USER: &str = "user";
/// Entity type of a quota set for a client id.
pub const CLIENT_ID: &str = "client-id";
/// Bytes per second a client may produce.
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
/// Bytes per second a client may fetch.
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
/// Percent of one request handler thread a client may use.
pub const REQUEST_PERCENTAGE: &str = "request_percentage";

/// Most entities with quotas the metadata holds: bounds the state a record can make it keep.
pub const MAX_QUOTA_ENTITIES: usize = 10_000;
/// Longest user or client-id name of an entity.
pub const MAX_QUOTA_NAME_LEN: usize = 255;

const SUPPORTED_TYPES: [&str; 2] = [USER, CLIENT_ID];
const SUPPORTED_KEYS: [&str; 3] = [PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE];

/// Whom a quota applies to: one part per entity type, sorted by type. A part's name is `None`
/// for the default of its type (every user, or client id, without a quota of its own).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaEntity {
    parts: Vec<(String, Option<String>)>,
}

impl QuotaEntity {
    /// An entity of `user` and/or `client-id` parts, each type at most once; a name, when
    /// given, is 1 to 255 bytes.
    pub fn new(parts: impl IntoIterator<Item = (String, Option<String>)>) -> Result<Self, String> {
        let mut checked: Vec<(String, Option<String>)> = Vec::new();
        // One part more than there are types is enough to refuse a huge input (as a repeated
        // type) without reading it to the end.
        for (entity_type, name) in parts.into_iter().take(SUPPORTED_TYPES.len() + 1) {
            check_entity_type(&entity_type)?;
            if checked.iter().any(|(t, _)| *t == entity_type) {
                return Err(format!(
                    "entity type '{entity_type}' appears twice; give each type at most once"
                ));
            }
            if let Some(name) = &name {
                check_entity_name(&entity_type, name)?;
            }
            checked.push((entity_type, name));
        }
        if checked.is_empty() {
            return Err(
                "a quota entity needs at least one part: a user and/or a client-id".to_owned(),
            );
        }
        checked.sort();
        Ok(QuotaEntity { parts: checked })
    }

    /// The parts, sorted by entity type.
    pub fn parts(&self) -> &[(String, Option<String>)] {
        &self.parts
    }

    /// The name of the entity's part of type `entity_type`: `None` when it has no such part,
    /// `Some(None)` when the part is the type's default.
    pub fn name_of(&self, entity_type: &str) -> Option<Option<&str>> {
        (self.parts.iter())
            .find(|(t, _)| t == entity_type)
            .map(|(_, name)| name.as_deref())
    }
}

fn check_entity_type(entity_type: &str) -> Result<(), String> {
    match entity_type {
        USER | CLIENT_ID => Ok(()),
        "ip" => Err(
            "entity type 'ip' is not supported: Chronik does not enforce IP quotas \
                     (connection rates); use user and/or client-id"
                .to_owned(),
        ),
        other => Err(format!(
            "unknown entity type '{}'; use {USER} and/or {CLIENT_ID}",
            other.escape_debug()
        )),
    }
}

fn check_entity_name(entity_type: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "the {entity_type} name is empty; give a name, or none for the default {entity_type}"
        ));
    }
    if name.len() > MAX_QUOTA_NAME_LEN {
        return Err(format!(
            "the {entity_type} name is {} bytes, more than the limit of {MAX_QUOTA_NAME_LEN}",
            name.len()
        ));
    }
    Ok(())
}

/// Shown as Kafka's tools show entities: `user=alice, client-id=<default>`.
impl fmt::Display for QuotaEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (entity_type, name)) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match name {
                Some(name) => write!(f, "{entity_type}={}", name.escape_debug())?,
                None => write!(f, "{entity_type}=<default>")?,
            }
        }
        Ok(())
    }
}

/// A quota value. Equal when bit-identical, so the state (which compares states, e.g. after a
/// snapshot restore) can be `Eq`; values are always finite and positive.
#[derive(Clone, Copy, Debug)]
pub struct QuotaValue(pub f64);

impl PartialEq for QuotaValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for QuotaValue {}

/// A quota key Chronik enforces.
pub fn check_quota_key(key: &str) -> Result<(), String> {
    match key {
        PRODUCER_BYTE_RATE | CONSUMER_BYTE_RATE | REQUEST_PERCENTAGE => Ok(()),
        "connection_creation_rate" | "controller_mutation_rate" => Err(format!(
            "quota '{key}' is not supported: Chronik does not enforce it; use {}",
            SUPPORTED_KEYS.join(", ")
        )),
        other => Err(format!(
            "unknown quota '{}'; use {}",
            other.escape_debug(),
            SUPPORTED_KEYS.join(", ")
        )),
    }
}

/// A quota `key` of `value` for `entity`: byte rates are whole numbers of at least 1 (Kafka's
/// LONG configs), the request percentage is positive.
pub fn check_quota(entity: &QuotaEntity, key: &str, value: f64) -> Result<(), String> {
    check_quota_key(key).map_err(|e| format!("{entity}: {e}"))?;
    let valid = match key {
        REQUEST_PERCENTAGE => value.is_finite() && value > 0.0,
        _ => value.is_finite() && value.fract() == 0.0 && value >= 1.0 && value <= i64::MAX as f64,
    };
    if valid {
        return Ok(());
    }
    let allowed = match key {
        REQUEST_PERCENTAGE => "a finite number above 0",
        _ => "a whole number of bytes per second, at least 1",
    };
    Err(format!(
        "{entity}: {key} = {value} is invalid; use {allowed}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(t: &str, name: Option<&str>) -> (String, Option<String>) {
        (t.to_owned(), name.map(str::to_owned))
    }

    type Parts<'a> = &'a [(&'a str, Option<&'a str>)];

    fn entity(parts: Parts<'_>) -> Result<QuotaEntity, String> {
        QuotaEntity::new(parts.iter().map(|(t, n)| part(t, *n)))
    }

    #[test]
    fn entities_are_sorted_by_type_and_named_or_default() {
        let e = entity(&[(USER, Some("alice")), (CLIENT_ID, None)]).expect("valid");
        assert_eq!(
            e.parts(),
            [part(CLIENT_ID, None), part(USER, Some("alice"))]
        );
        assert_eq!(e.name_of(USER), Some(Some("alice")));
        assert_eq!(e.name_of(CLIENT_ID), Some(None));
        assert_eq!(e.to_string(), "client-id=<default>, user=alice");
        let same = entity(&[(CLIENT_ID, None), (USER, Some("alice"))]).expect("valid");
        assert_eq!(e, same);
        let user_only = entity(&[(USER, None)]).expect("valid");
        assert_eq!(user_only.name_of(CLIENT_ID), None);
    }

    #[test]
    fn invalid_entities_say_what_is_wrong() {
        let long = "x".repeat(MAX_QUOTA_NAME_LEN + 1);
        let cases: [(Parts<'_>, &str); 6] = [
            (&[], "at least one part"),
            (&[("ip", None)], "does not enforce IP quotas"),
            (&[("group", Some("g"))], "unknown entity type"),
            (&[(USER, Some("a")), (USER, Some("b"))], "appears twice"),
            (&[(CLIENT_ID, Some(""))], "name is empty"),
            (&[(USER, Some(long.as_str()))], "more than the limit"),
        ];
        for (parts, expected) in cases {
            let err = entity(parts).expect_err("invalid");
            assert!(err.contains(expected), "{parts:?}: {err}");
        }
        let max = "x".repeat(MAX_QUOTA_NAME_LEN);
        assert!(entity(&[(USER, Some(max.as_str()))]).is_ok());
        let many = std::iter::repeat_with(|| part(USER, None));
        assert!(
            QuotaEntity::new(many).is_err(),
            "an endless input is refused"
        );
    }

    #[test]
    fn byte_rates_are_whole_numbers_of_at_least_one() {
        let e = entity(&[(USER, None)]).expect("valid");
        for key in [PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE] {
            assert!(check_quota(&e, key, 1.0).is_ok());
            assert!(check_quota(&e, key, 1048576.0).is_ok());
            for bad in [0.0, -5.0, 1.5, f64::NAN, f64::INFINITY, 1e19] {
                let err = check_quota(&e, key, bad).expect_err("invalid");
                assert!(err.contains("whole number"), "{bad}: {err}");
            }
        }
    }

    #[test]
    fn request_percentage_is_positive_and_finite() {
        let e = entity(&[(CLIENT_ID, Some("app"))]).expect("valid");
        assert!(check_quota(&e, REQUEST_PERCENTAGE, 0.5).is_ok());
        assert!(check_quota(&e, REQUEST_PERCENTAGE, 250.0).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
            assert!(check_quota(&e, REQUEST_PERCENTAGE, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unsupported_keys_are_refused() {
        for key in ["connection_creation_rate", "controller_mutation_rate"] {
            let err = check_quota_key(key).expect_err("unsupported");
            assert!(err.contains("does not enforce"), "{err}");
        }
        assert!(
            check_quota_key("bogus")
                .expect_err("unknown")
                .contains("unknown")
        );
        let e = entity(&[(USER, None)]).expect("valid");
        assert!(check_quota(&e, "controller_mutation_rate", 10.0).is_err());
    }

    #[test]
    fn values_compare_by_bits() {
        assert_eq!(QuotaValue(1.0), QuotaValue(1.0));
        assert_ne!(QuotaValue(0.0), QuotaValue(-0.0));
    }
}
