//! DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554): the SCRAM
//! credentials kept in the metadata, described without salts or keys and changed through
//! the controller. A client sends a salted password; the broker derives the stored and server
//! keys from it (chronik-auth) and only those reach the metadata. Errors are Kafka's, per user.

use std::collections::{BTreeMap, HashMap, HashSet};

use chronik_auth::scram::{MAX_ITERATIONS, MIN_ITERATIONS};
use chronik_auth::{ScramCredential, ScramMechanism};
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use chronik_kafka::kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use chronik_kafka::kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use chronik_metadata::ScramAlteration;
use chronik_metadata::scram::MAX_SCRAM_USER_LEN;

use super::{NONE, str_bytes};
use crate::kafka_errors::{Refusal, node_refusal};
use crate::services::Services;

pub(crate) fn describe(
    services: &Services,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let named: Option<Vec<String>> = (req.users)
        .filter(|users| !users.is_empty())
        .map(|users| users.iter().map(|u| u.name.as_str().to_owned()).collect());
    let results = services.cluster.metadata(|s| {
        let all = s.scram_credentials();
        let found = |user: &str| {
            let infos: Vec<CredentialInfo> = (all.of_user(user))
                .map(|c| {
                    CredentialInfo::default()
                        .with_mechanism(c.mechanism.kafka_id())
                        .with_iterations(i32::try_from(c.iterations).unwrap_or(i32::MAX))
                })
                .collect();
            DescribeUserScramCredentialsResult::default()
                .with_user(str_bytes(user))
                .with_error_code(NONE)
                .with_credential_infos(infos)
        };
        let Some(named) = named else {
            // Null or empty: every user that has a credential.
            return all.users().map(found).collect::<Vec<_>>();
        };
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for user in &named {
            *counts.entry(user.as_str()).or_default() += 1;
        }
        let mut answered = HashSet::new();
        let mut results = Vec::new();
        for user in &named {
            if !answered.insert(user.as_str()) {
                continue;
            }
            let refused = |error: ResponseError, message: String| {
                DescribeUserScramCredentialsResult::default()
                    .with_user(str_bytes(user))
                    .with_error_code(error.code())
                    .with_error_message(Some(str_bytes(&message)))
            };
            results.push(if counts[user.as_str()] > 1 {
                refused(
                    ResponseError::DuplicateResource,
                    format!("user '{user}' is named more than once; name each user once"),
                )
            } else if all.of_user(user).next().is_none() {
                refused(
                    ResponseError::ResourceNotFound,
                    format!("user '{user}' has no SCRAM credential"),
                )
            } else {
                found(user)
            });
        }
        results
    });
    DescribeUserScramCredentialsResponse::default()
        .with_error_code(NONE)
        .with_results(results)
}

/// One deletion or upsertion as the request carries it, before any check.
struct Requested<'a> {
    user: &'a str,
    mechanism: i8,
    /// `None` for a deletion; (salt, salted password, iterations) for an upsertion.
    upsert: Option<(&'a [u8], &'a [u8], i32)>,
}

pub(crate) async fn alter(
    services: &Services,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    // Deletions before upsertions, as Kafka applies them; users in order of first mention.
    let requested = (req.deletions.iter())
        .map(|d| Requested {
            user: d.name.as_str(),
            mechanism: d.mechanism,
            upsert: None,
        })
        .chain(req.upsertions.iter().map(|u| Requested {
            user: u.name.as_str(),
            mechanism: u.mechanism,
            upsert: Some((&u.salt[..], &u.salted_password[..], u.iterations)),
        }));
    let mut users: Vec<&str> = Vec::new();
    let mut by_user: BTreeMap<&str, Vec<Requested>> = BTreeMap::new();
    for r in requested {
        if !by_user.contains_key(r.user) {
            users.push(r.user);
        }
        by_user.entry(r.user).or_default().push(r);
    }

    // Each user's alterations, or why the user's request is refused as a whole.
    let mut outcome: BTreeMap<&str, Result<(), Refusal>> = BTreeMap::new();
    let mut alterations = Vec::new();
    let mut owners = Vec::new();
    for (user, asked) in &by_user {
        match check_user(user, asked) {
            Ok(checked) => {
                owners.extend(checked.iter().map(|_| *user));
                alterations.extend(checked);
                outcome.insert(user, Ok(()));
            }
            Err(refusal) => {
                outcome.insert(user, Err(refusal));
            }
        }
    }
    if !alterations.is_empty() {
        match services.cluster.alter_scram_credentials(&alterations).await {
            Ok(results) => {
                for (user, result) in owners.iter().zip(results) {
                    let slot = outcome.entry(user).or_insert(Ok(()));
                    if let (Ok(()), Err(e)) = (&slot, result) {
                        *slot = Err(node_refusal(&e));
                    }
                }
            }
            Err(e) => {
                for user in &owners {
                    outcome.insert(user, Err(node_refusal(&e)));
                }
            }
        }
    }
    let results = (users.iter())
        .map(|user| {
            let result = AlterUserScramCredentialsResult::default().with_user(str_bytes(user));
            match outcome.remove(user).unwrap_or(Ok(())) {
                Ok(()) => result.with_error_code(NONE),
                Err((error, message)) => result
                    .with_error_code(error.code())
                    .with_error_message(Some(str_bytes(&message))),
            }
        })
        .collect();
    AlterUserScramCredentialsResponse::default().with_results(results)
}

/// Checks one user's alterations as Kafka does and derives the upserted credentials; the
/// first refusal refuses them all.
fn check_user(user: &str, asked: &[Requested]) -> Result<Vec<ScramAlteration>, Refusal> {
    let unacceptable = |m: String| (ResponseError::UnacceptableCredential, m);
    let mut seen = HashSet::new();
    if let Some(twice) = asked.iter().find(|r| !seen.insert(r.mechanism)) {
        return Err((
            ResponseError::DuplicateResource,
            format!(
                "the credential of user '{user}' for mechanism {} is altered twice in one \
                 request; alter each user and mechanism once",
                twice.mechanism
            ),
        ));
    }
    if user.is_empty() {
        return Err(unacceptable("the user name is empty".into()));
    }
    if user.len() > MAX_SCRAM_USER_LEN {
        return Err(unacceptable(format!(
            "the user name is {} bytes, more than the limit of {MAX_SCRAM_USER_LEN}",
            user.len()
        )));
    }
    let mut checked = Vec::with_capacity(asked.len());
    for r in asked {
        let Some(mechanism) = ScramMechanism::from_kafka_id(r.mechanism) else {
            return Err((
                ResponseError::UnsupportedSaslMechanism,
                format!(
                    "unknown SCRAM mechanism {} for user '{user}': use 1 (SCRAM-SHA-256) or 2 \
                     (SCRAM-SHA-512)",
                    r.mechanism
                ),
            ));
        };
        let Some((salt, salted_password, iterations)) = r.upsert else {
            checked.push(ScramAlteration::Delete {
                user: user.to_owned(),
                mechanism,
            });
            continue;
        };
        let iterations = u32::try_from(iterations)
            .ok()
            .filter(|i| (MIN_ITERATIONS..=MAX_ITERATIONS).contains(i))
            .ok_or_else(|| {
                unacceptable(format!(
                    "{iterations} iterations for user '{user}' is outside \
                     {MIN_ITERATIONS}..={MAX_ITERATIONS}"
                ))
            })?;
        if salt.is_empty() || salted_password.is_empty() {
            let what = if salt.is_empty() {
                "salt"
            } else {
                "salted password"
            };
            return Err(unacceptable(format!(
                "the {what} for user '{user}' is empty"
            )));
        }
        // The message says what was wrong with the request, never its secret.
        let credential =
            ScramCredential::from_salted_password(mechanism, salted_password, salt, iterations)
                .map_err(|e| unacceptable(format!("user '{user}': {e}")))?;
        checked.push(ScramAlteration::Upsert {
            user: user.to_owned(),
            credential,
        });
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsertion(mechanism: i8, iterations: i32, salt: &'static [u8]) -> Requested<'static> {
        Requested {
            user: "alice",
            mechanism,
            upsert: Some((salt, b"salted", iterations)),
        }
    }

    fn deletion(mechanism: i8) -> Requested<'static> {
        Requested {
            user: "alice",
            mechanism,
            upsert: None,
        }
    }

    fn refusal(user: &str, asked: &[Requested]) -> ResponseError {
        check_user(user, asked).expect_err("refused").0
    }

    #[test]
    fn a_user_alterations_are_checked_as_kafka_does() {
        let checked = check_user("alice", &[deletion(1), upsertion(2, 4096, b"salt")]);
        let checked = checked.expect("valid");
        assert_eq!(checked.len(), 2);
        let ScramAlteration::Upsert { credential, .. } = &checked[1] else {
            panic!("an upsert second");
        };
        let expected =
            ScramCredential::from_salted_password(ScramMechanism::Sha512, b"salted", b"salt", 4096);
        assert_eq!(Some(credential), expected.ok().as_ref());

        use ResponseError::*;
        let twice = [deletion(1), upsertion(1, 4096, b"salt")];
        assert_eq!(refusal("alice", &twice), DuplicateResource);
        assert_eq!(refusal("alice", &[deletion(3)]), UnsupportedSaslMechanism);
        assert_eq!(
            refusal("alice", &[upsertion(0, 4096, b"s")]),
            UnsupportedSaslMechanism
        );
        assert_eq!(
            refusal("alice", &[upsertion(1, 100, b"s")]),
            UnacceptableCredential
        );
        assert_eq!(
            refusal("alice", &[upsertion(1, 16385, b"s")]),
            UnacceptableCredential
        );
        assert_eq!(
            refusal("alice", &[upsertion(1, -1, b"s")]),
            UnacceptableCredential
        );
        assert_eq!(
            refusal("alice", &[upsertion(1, 4096, b"")]),
            UnacceptableCredential
        );
        assert_eq!(refusal("", &[deletion(1)]), UnacceptableCredential);
        let long = "u".repeat(MAX_SCRAM_USER_LEN + 1);
        assert_eq!(refusal(&long, &[deletion(1)]), UnacceptableCredential);
    }

    #[test]
    fn no_message_shows_the_salted_password() {
        let secret: &'static [u8] = b"very-secret-salted-password";
        let r = Requested {
            user: "alice",
            mechanism: 1,
            upsert: Some((b"", secret, 4096)),
        };
        let (_, message) = check_user("alice", &[r]).expect_err("empty salt");
        assert!(!message.contains("very-secret"), "{message}");
    }
}
