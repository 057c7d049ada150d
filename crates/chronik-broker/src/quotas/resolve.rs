//! Which quota applies to a client, in Kafka's order of precedence, and which clients share
//! it. A quota set for a user and client id applies to that pair alone; one set for a default
//! applies to each user (or client id) separately, not to all of them together.

use std::collections::HashMap;

/// One part of a quota entity: absent, the type's default, or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    Absent,
    Default,
    Named(String),
}

/// The quotas as configured: (user part, client-id part) → key → value.
pub(crate) type Limits = HashMap<(Part, Part), HashMap<String, f64>>;

/// Whom a quota's usage is counted for: clients that resolve to the same sensor share its
/// limit. Empty strings stand for "not part of it", as in Kafka's metric tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SensorKey {
    pub user: String,
    pub client_id: String,
}

/// The quota `key` a client (`user`, `client_id`) is held to, and the sensor that counts it;
/// `None` when no quota applies.
pub(crate) fn resolve(
    limits: &Limits,
    user: &str,
    client_id: &str,
    key: &str,
) -> Option<(SensorKey, f64)> {
    use Counted::{Both, Client, User};
    use Part::{Absent, Default, Named};
    let (u, c) = (Named(user.to_owned()), Named(client_id.to_owned()));
    let levels = [
        ((u.clone(), c.clone()), Both),
        ((u.clone(), Default), Both),
        ((u, Absent), User),
        ((Default, c.clone()), Both),
        ((Default, Default), Both),
        ((Default, Absent), User),
        ((Absent, c), Client),
        ((Absent, Default), Client),
    ];
    levels.into_iter().find_map(|(entity, counted)| {
        let value = limits.get(&entity)?.get(key)?;
        let name = |counts: bool, name: &str| {
            if counts {
                name.to_owned()
            } else {
                String::new()
            }
        };
        let sensor = SensorKey {
            user: name(counted != Client, user),
            client_id: name(counted != User, client_id),
        };
        Some((sensor, *value))
    })
}

/// Which names a matched quota is counted by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counted {
    Both,
    User,
    Client,
}

#[cfg(test)]
mod tests {
    use super::{Limits, Part, SensorKey, resolve};

    fn limits(entries: &[(Part, Part, f64)]) -> Limits {
        (entries.iter())
            .map(|(u, c, v)| {
                (
                    (u.clone(), c.clone()),
                    [("producer_byte_rate".to_owned(), *v)].into(),
                )
            })
            .collect()
    }

    fn named(s: &str) -> Part {
        Part::Named(s.to_owned())
    }

    fn quota(limits: &Limits, user: &str, client: &str) -> Option<(String, String, f64)> {
        let (k, v) = resolve(limits, user, client, "producer_byte_rate")?;
        Some((k.user, k.client_id, v))
    }

    #[test]
    fn the_most_specific_entity_wins_in_kafkas_order() {
        use Part::{Absent, Default};
        let mut all = vec![
            (Absent, Default, 8.0),
            (Absent, named("c"), 7.0),
            (Default, Absent, 6.0),
            (Default, Default, 5.0),
            (Default, named("c"), 4.0),
            (named("u"), Absent, 3.0),
            (named("u"), Default, 2.0),
            (named("u"), named("c"), 1.0),
        ];
        let expected = [
            ("u", "c", 1.0),
            ("u", "c", 2.0),
            ("u", "", 3.0),
            ("u", "c", 4.0),
            ("u", "c", 5.0),
            ("u", "", 6.0),
            ("", "c", 7.0),
            ("", "c", 8.0),
        ];
        for (user, client, value) in expected {
            let got = quota(&limits(&all), "u", "c");
            assert_eq!(got, Some((user.to_owned(), client.to_owned(), value)));
            all.pop();
        }
        assert_eq!(quota(&limits(&all), "u", "c"), None);
    }

    #[test]
    fn a_default_is_counted_per_client_and_names_do_not_leak() {
        use Part::{Absent, Default};
        let l = limits(&[(Absent, Default, 10.0), (Absent, named("slow"), 1.0)]);
        assert_eq!(
            quota(&l, "ANONYMOUS", "slow"),
            Some((String::new(), "slow".into(), 1.0))
        );
        assert_eq!(
            quota(&l, "ANONYMOUS", "fast"),
            Some((String::new(), "fast".into(), 10.0))
        );
        let l = limits(&[(named("alice"), Absent, 3.0)]);
        assert_eq!(quota(&l, "bob", "x"), None);
        let (sensor, _) = resolve(&l, "alice", "x", "producer_byte_rate").unwrap();
        assert_eq!(
            sensor,
            SensorKey {
                user: "alice".into(),
                client_id: String::new()
            }
        );
        assert_eq!(
            resolve(&l, "alice", "x", "consumer_byte_rate"),
            None,
            "another key"
        );
    }
}
