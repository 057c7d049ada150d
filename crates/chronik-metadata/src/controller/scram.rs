//! SCRAM credential changes (Kafka's AlterUserScramCredentials, and the operator's
//! `users add` / `users delete`).

use crate::MetadataRecord;
use crate::controller::Decision;
use crate::error::ControllerError;
use crate::proto::ScramCredentialDeletion;
use crate::proto::metadata_record::Record;
use crate::scram::{ScramAlteration, check_credential, upsert_of};
use crate::state::MetadataState;

/// The record of `alteration`, checked as the state machine checks it so a refusal comes
/// back here rather than from the log. An upsert of the credential the user already has
/// proposes nothing; a deletion of a credential that does not exist is refused
/// ([`ControllerError::CredentialNotFound`]).
pub fn alter_scram_credential(state: &MetadataState, alteration: &ScramAlteration) -> Decision {
    let record = match alteration {
        ScramAlteration::Upsert { user, credential } => {
            check_credential(user, credential).map_err(ControllerError::from_scram)?;
            if state.scram_credential(user, credential.mechanism) == Some(credential) {
                return Ok(Vec::new());
            }
            Record::ScramCredentialUpsert(upsert_of(user, credential))
        }
        ScramAlteration::Delete { user, mechanism } => {
            if state.scram_credential(user, *mechanism).is_none() {
                return Err(ControllerError::CredentialNotFound {
                    user: user.escape_debug().to_string(),
                    mechanism: mechanism.name(),
                });
            }
            Record::ScramCredentialDeletion(ScramCredentialDeletion {
                user: user.clone(),
                mechanism: i32::from(mechanism.kafka_id()),
            })
        }
    };
    Ok(vec![MetadataRecord::new(record)])
}

#[cfg(test)]
mod tests {
    use chronik_auth::{ScramCredential, ScramMechanism};

    use super::*;
    use crate::ErrorKind;

    fn credential(iterations: u32) -> ScramCredential {
        ScramCredential::from_password(ScramMechanism::Sha256, b"secret", b"salt", iterations)
            .expect("valid")
    }

    fn upsert(user: &str, c: ScramCredential) -> ScramAlteration {
        ScramAlteration::Upsert {
            user: user.into(),
            credential: c,
        }
    }

    fn delete(user: &str) -> ScramAlteration {
        ScramAlteration::Delete {
            user: user.into(),
            mechanism: ScramMechanism::Sha256,
        }
    }

    fn decide(state: &mut MetadataState, a: &ScramAlteration) -> Result<usize, ControllerError> {
        let records = alter_scram_credential(state, a)?;
        for r in &records {
            state.apply(r).expect("the decided record applies");
        }
        Ok(records.len())
    }

    #[test]
    fn upserts_replace_and_repeat_nothing() {
        let mut state = MetadataState::new();
        assert_eq!(
            decide(&mut state, &upsert("alice", credential(4096))),
            Ok(1)
        );
        assert_eq!(
            decide(&mut state, &upsert("alice", credential(4096))),
            Ok(0)
        );
        assert_eq!(
            decide(&mut state, &upsert("alice", credential(8192))),
            Ok(1)
        );
        let held = state.scram_credential("alice", ScramMechanism::Sha256);
        assert_eq!(held.map(|c| c.iterations), Some(8192));
        assert_eq!(decide(&mut state, &delete("alice")), Ok(1));
        assert!(state.scram_credentials().is_empty());
    }

    #[test]
    fn deleting_what_is_absent_is_not_found_and_changes_nothing() {
        let mut state = MetadataState::new();
        decide(&mut state, &upsert("bob", credential(4096))).expect("set");
        let before = state.clone();
        let err = decide(&mut state, &delete("alice")).expect_err("absent");
        assert_eq!(err.kind(), ErrorKind::ResourceNotFound, "{err}");
        assert!(err.to_string().contains("alice"), "{err}");
        let sha512 = ScramAlteration::Delete {
            user: "bob".into(),
            mechanism: ScramMechanism::Sha512,
        };
        let err = decide(&mut state, &sha512).expect_err("absent mechanism");
        assert_eq!(err.kind(), ErrorKind::ResourceNotFound, "{err}");
        assert_eq!(state, before);
    }

    #[test]
    fn unacceptable_credentials_are_refused_as_such() {
        let state = MetadataState::new();
        let mut few = credential(4096);
        few.iterations = 100;
        let mut short_key = credential(4096);
        short_key.stored_key.pop();
        let mut no_salt = credential(4096);
        no_salt.salt.clear();
        for (user, c) in [
            ("alice", few),
            ("alice", short_key),
            ("alice", no_salt),
            ("", credential(4096)),
            (&"x".repeat(257), credential(4096)),
        ] {
            let err = alter_scram_credential(&state, &upsert(user, c)).expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::UnacceptableCredential, "{err}");
        }
    }
}
