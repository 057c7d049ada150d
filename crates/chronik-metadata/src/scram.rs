//! SCRAM credentials in the metadata: the checks every credential passes (in a record, a
//! snapshot or a request to the controller), the credentials the state holds, and the
//! alterations the controller decides (Kafka's AlterUserScramCredentials). The SCRAM math is
//! chronik-auth's; this crate only stores what it derived.

use std::collections::BTreeMap;
use std::fmt;

use chronik_auth::scram::{MAX_ITERATIONS, MIN_ITERATIONS};
use chronik_auth::{ScramCredential, ScramMechanism};

use crate::Result;
use crate::error::StateError;
use crate::proto::ScramCredentialUpsert;

/// Longest user name, in bytes.
pub const MAX_SCRAM_USER_LEN: usize = 256;
/// Longest salt, in bytes. Salts made here are as long as the digest; the bound only keeps a
/// client's AlterUserScramCredentials from storing an arbitrarily large one.
pub const MAX_SCRAM_SALT_LEN: usize = 1024;

/// One change of a user's SCRAM credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum ScramAlteration {
    /// Sets `credential` (for its mechanism), replacing any the user had for it.
    Upsert {
        user: String,
        credential: ScramCredential,
    },
    /// Removes the user's credential for `mechanism`, which must exist.
    Delete {
        user: String,
        mechanism: ScramMechanism,
    },
}

impl ScramAlteration {
    pub fn user(&self) -> &str {
        match self {
            ScramAlteration::Upsert { user, .. } | ScramAlteration::Delete { user, .. } => user,
        }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        match self {
            ScramAlteration::Upsert { credential, .. } => credential.mechanism,
            ScramAlteration::Delete { mechanism, .. } => *mechanism,
        }
    }

    /// "USER (MECHANISM)", how results and logs name the alteration.
    pub fn label(&self) -> String {
        label(self.user(), self.mechanism())
    }
}

/// Shows which user and mechanism, never the salt or keys.
impl fmt::Debug for ScramAlteration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self {
            ScramAlteration::Upsert { .. } => "Upsert",
            ScramAlteration::Delete { .. } => "Delete",
        };
        write!(f, "{verb}({})", self.label())
    }
}

/// "USER (MECHANISM)".
pub fn label(user: &str, mechanism: ScramMechanism) -> String {
    format!("{} ({})", user.escape_debug(), mechanism.name())
}

/// The mechanism Kafka numbers `id`.
pub fn mechanism_of(id: i32) -> Result<ScramMechanism> {
    (i8::try_from(id).ok())
        .and_then(ScramMechanism::from_kafka_id)
        .ok_or(StateError::UnsupportedScramMechanism(id))
}

/// Checks a user name: non-empty and at most [`MAX_SCRAM_USER_LEN`] bytes.
pub fn check_user(user: &str) -> Result<()> {
    let reason = if user.is_empty() {
        "the user name is empty".to_owned()
    } else if user.len() > MAX_SCRAM_USER_LEN {
        format!(
            "the user name is {} bytes, more than the limit of {MAX_SCRAM_USER_LEN}",
            user.len()
        )
    } else {
        return Ok(());
    };
    Err(StateError::InvalidScramCredential {
        user: user.escape_debug().to_string(),
        reason,
    })
}

/// Checks a credential as every record and snapshot entry is checked: the user name, the
/// iteration count within chronik-auth's bounds, a salt, and keys of the digest's length.
pub fn check_credential(user: &str, c: &ScramCredential) -> Result<()> {
    check_user(user)?;
    let key_len = c.mechanism.key_len();
    let reason = if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&c.iterations) {
        format!(
            "{} iterations is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}",
            c.iterations
        )
    } else if c.salt.is_empty() {
        "the salt is empty".to_owned()
    } else if c.salt.len() > MAX_SCRAM_SALT_LEN {
        format!(
            "the salt is {} bytes, more than the limit of {MAX_SCRAM_SALT_LEN}",
            c.salt.len()
        )
    } else if c.stored_key.len() != key_len || c.server_key.len() != key_len {
        format!(
            "{} keys must be {key_len} bytes, got a stored key of {} and a server key of {}",
            c.mechanism.name(),
            c.stored_key.len(),
            c.server_key.len()
        )
    } else {
        return Ok(());
    };
    Err(StateError::InvalidScramCredential {
        user: user.escape_debug().to_string(),
        reason,
    })
}

/// The user and credential a record or snapshot entry carries, checked.
pub fn credential_from_upsert(r: &ScramCredentialUpsert) -> Result<(String, ScramCredential)> {
    let credential = ScramCredential {
        mechanism: mechanism_of(r.mechanism)?,
        salt: r.salt.clone(),
        iterations: r.iterations,
        stored_key: r.stored_key.clone(),
        server_key: r.server_key.clone(),
    };
    check_credential(&r.user, &credential)?;
    Ok((r.user.clone(), credential))
}

/// `credential` of `user` as records and snapshots carry it.
pub fn upsert_of(user: &str, credential: &ScramCredential) -> ScramCredentialUpsert {
    ScramCredentialUpsert {
        user: user.to_owned(),
        mechanism: i32::from(credential.mechanism.kafka_id()),
        salt: credential.salt.clone(),
        iterations: credential.iterations,
        stored_key: credential.stored_key.clone(),
        server_key: credential.server_key.clone(),
    }
}

/// The SCRAM credentials of every user that has any: user → mechanism → credential. A user
/// is never held without a credential.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ScramCredentials {
    by_user: BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>,
}

impl ScramCredentials {
    pub fn get(&self, user: &str, mechanism: ScramMechanism) -> Option<&ScramCredential> {
        self.by_user.get(user).and_then(|m| m.get(&mechanism))
    }

    /// The credentials of `user`, by mechanism (none when the user has none).
    pub fn of_user(&self, user: &str) -> impl Iterator<Item = &ScramCredential> {
        self.by_user.get(user).into_iter().flat_map(|m| m.values())
    }

    /// Every user with their credentials, by user name then mechanism.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ScramCredential)> {
        (self.by_user.iter()).flat_map(|(u, m)| m.values().map(move |c| (u.as_str(), c)))
    }

    /// The users that have a credential, in name order.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.by_user.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_user.is_empty()
    }

    /// Sets `credential`; true when it replaced one of the same mechanism.
    pub(crate) fn insert(&mut self, user: String, credential: ScramCredential) -> bool {
        let of_user = self.by_user.entry(user).or_default();
        of_user.insert(credential.mechanism, credential).is_some()
    }

    /// Removes the credential; false when there was none.
    pub(crate) fn remove(&mut self, user: &str, mechanism: ScramMechanism) -> bool {
        let Some(of_user) = self.by_user.get_mut(user) else {
            return false;
        };
        let removed = of_user.remove(&mechanism).is_some();
        if of_user.is_empty() {
            self.by_user.remove(user);
        }
        removed
    }
}

/// Users, mechanisms and iteration counts only: states are debug-printed by tests and logs,
/// and a key must never show up there.
impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(user, c)| {
                (
                    label(user, c.mechanism),
                    format!("{} iterations", c.iterations),
                )
            }))
            .finish()
    }
}
