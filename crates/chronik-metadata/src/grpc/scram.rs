//! SCRAM credential alterations as the controller service carries them
//! (AlterScramCredentials, DescribeScramCredentials).

use chronik_auth::ScramCredential;

use super::pb::scram_credential_alteration::Alteration;
use super::pb::{
    ScramCredentialAlteration, ScramCredentialDeletion, ScramCredentialInfo,
    ScramCredentialUpsertion, ScramUserCredentials,
};
use crate::node::{MetaNode, NodeError};
use crate::scram::mechanism_of;
use crate::{ControllerError, MetadataState, ScramAlteration};

/// `alteration` as a request carries it.
pub fn scram_alteration_request(alteration: &ScramAlteration) -> ScramCredentialAlteration {
    let alteration = match alteration {
        ScramAlteration::Upsert { user, credential } => {
            Alteration::Upsertion(ScramCredentialUpsertion {
                user: user.clone(),
                mechanism: i32::from(credential.mechanism.kafka_id()),
                salt: credential.salt.clone(),
                iterations: credential.iterations,
                stored_key: credential.stored_key.clone(),
                server_key: credential.server_key.clone(),
            })
        }
        ScramAlteration::Delete { user, mechanism } => {
            Alteration::Deletion(ScramCredentialDeletion {
                user: user.clone(),
                mechanism: i32::from(mechanism.kafka_id()),
            })
        }
    };
    ScramCredentialAlteration {
        alteration: Some(alteration),
    }
}

/// The alteration a request carries, or why it cannot be one. The credential itself is
/// checked by the controller's decision.
pub fn scram_alteration(a: &ScramCredentialAlteration) -> Result<ScramAlteration, ControllerError> {
    let mechanism =
        |id| mechanism_of(id).map_err(|_| ControllerError::UnsupportedSaslMechanism(id));
    match &a.alteration {
        Some(Alteration::Upsertion(u)) => Ok(ScramAlteration::Upsert {
            user: u.user.clone(),
            credential: ScramCredential {
                mechanism: mechanism(u.mechanism)?,
                salt: u.salt.clone(),
                iterations: u.iterations,
                stored_key: u.stored_key.clone(),
                server_key: u.server_key.clone(),
            },
        }),
        Some(Alteration::Deletion(d)) => Ok(ScramAlteration::Delete {
            user: d.user.clone(),
            mechanism: mechanism(d.mechanism)?,
        }),
        None => Err(ControllerError::InvalidRequest(
            "a SCRAM alteration carries neither an upsertion nor a deletion".into(),
        )),
    }
}

/// Applies one alteration of a request; returns how its result names it, and the outcome.
pub(super) async fn alter(
    node: &MetaNode,
    a: &ScramCredentialAlteration,
) -> (String, Result<(), NodeError>) {
    match scram_alteration(a) {
        Ok(alteration) => {
            let outcome = node.alter_scram_credential(&alteration).await;
            if outcome.is_ok() {
                // Who and which mechanism only: never the salt or keys.
                tracing::info!(credential = %alteration.label(), kind = ?alteration, "SCRAM credential changed");
            }
            (alteration.label(), outcome)
        }
        Err(e) => {
            let (user, id) = match &a.alteration {
                Some(Alteration::Upsertion(u)) => (u.user.as_str(), u.mechanism),
                Some(Alteration::Deletion(d)) => (d.user.as_str(), d.mechanism),
                None => ("", 0),
            };
            let name = format!("{} (mechanism {id})", user.escape_debug());
            (name, Err(e.into()))
        }
    }
}

/// The credentials of `users` (every user when empty) without salts or keys; a user with
/// none is left out.
pub fn describe_scram_credentials(
    state: &MetadataState,
    users: &[String],
) -> Vec<ScramUserCredentials> {
    let all = state.scram_credentials();
    let describe = |user: &str| ScramUserCredentials {
        user: user.to_owned(),
        credentials: (all.of_user(user))
            .map(|c| ScramCredentialInfo {
                mechanism: i32::from(c.mechanism.kafka_id()),
                iterations: c.iterations,
            })
            .collect(),
    };
    match users.is_empty() {
        true => all.users().map(describe).collect(),
        false => (users.iter())
            .map(|u| describe(u))
            .filter(|u| !u.credentials.is_empty())
            .collect(),
    }
}
