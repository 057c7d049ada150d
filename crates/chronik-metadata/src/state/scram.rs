//! SCRAM credentials in the state: applying upserts and deletions, and restoring credentials
//! from a snapshot with the same checks.

use crate::Result;
use crate::error::StateError;
use crate::proto::{ScramCredentialDeletion, ScramCredentialUpsert};
use crate::scram::{ScramCredentials, credential_from_upsert, mechanism_of, upsert_of};
use crate::state::MetadataState;

impl MetadataState {
    pub(crate) fn upsert_scram_credential(&mut self, r: &ScramCredentialUpsert) -> Result<()> {
        let (user, credential) = credential_from_upsert(r)?;
        self.scram_credentials.insert(user, credential);
        Ok(())
    }

    pub(crate) fn delete_scram_credential(&mut self, r: &ScramCredentialDeletion) -> Result<()> {
        let mechanism = mechanism_of(r.mechanism)?;
        match self.scram_credentials.remove(&r.user, mechanism) {
            true => Ok(()),
            false => Err(StateError::UnknownScramCredential {
                user: r.user.escape_debug().to_string(),
                mechanism: mechanism.name(),
            }),
        }
    }
}

/// The credentials of a snapshot, by user then mechanism.
pub(crate) fn scram_snapshots(credentials: &ScramCredentials) -> Vec<ScramCredentialUpsert> {
    (credentials.iter())
        .map(|(user, c)| upsert_of(user, c))
        .collect()
}

/// Restores credentials from a snapshot, with the checks a record gets.
pub(crate) fn restore_scram_credentials(
    snapshots: &[ScramCredentialUpsert],
) -> Result<ScramCredentials> {
    let mut credentials = ScramCredentials::default();
    for s in snapshots {
        let (user, credential) = credential_from_upsert(s)?;
        let mechanism = credential.mechanism;
        if credentials.insert(user, credential) {
            return Err(StateError::InvalidSnapshot(format!(
                "the {} credential of user '{}' appears twice",
                mechanism.name(),
                s.user.escape_debug()
            )));
        }
    }
    Ok(credentials)
}
