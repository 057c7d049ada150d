//! SCRAM credentials through both quorums: upserted, read back at once, refused when out of
//! bounds or deleted while absent, and deleted.

use chronik_auth::ScramMechanism::{Sha256, Sha512};
use chronik_auth::{ScramCredential, ScramMechanism};
use chronik_metadata::{ErrorKind, ScramAlteration};

use super::Fixture;

fn upsert(user: &str, mechanism: ScramMechanism, iterations: u32) -> ScramAlteration {
    let credential = ScramCredential::from_password(mechanism, b"pw", b"salt", iterations)
        .expect("a valid credential");
    ScramAlteration::Upsert {
        user: user.into(),
        credential,
    }
}

fn delete(user: &str, mechanism: ScramMechanism) -> ScramAlteration {
    ScramAlteration::Delete {
        user: user.into(),
        mechanism,
    }
}

pub(super) async fn scram_credentials_are_set_and_deleted(f: Fixture) -> Fixture {
    let q = f.quorum();
    let alice = upsert("alice", Sha512, 4096);
    let mut few = upsert("bob", Sha256, 4096);
    if let ScramAlteration::Upsert { credential, .. } = &mut few {
        credential.iterations = 100;
    }
    let outcomes = (q.alter_scram_credentials(&[
        alice.clone(),
        upsert("alice", Sha256, 8192),
        delete("carol", Sha256),
        few,
    ]))
    .await
    .expect("answered");
    let kinds: Vec<ErrorKind> = (outcomes.into_iter())
        .map(|o| o.err().map_or(ErrorKind::None, |e| e.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::None,
            ErrorKind::None,
            ErrorKind::ResourceNotFound,
            ErrorKind::UnacceptableCredential
        ]
    );
    let ScramAlteration::Upsert { credential, .. } = &alice else {
        unreachable!("an upsert");
    };
    let shown = f
        .cluster
        .metadata(|s| s.scram_credential("alice", Sha512).cloned());
    assert_eq!(shown.as_ref(), Some(credential), "read back at once");
    assert!(
        f.cluster
            .metadata(|s| s.scram_credential("bob", Sha256).is_none())
    );

    let outcomes = (q.alter_scram_credentials(&[delete("alice", Sha512), delete("alice", Sha256)]))
        .await
        .expect("answered");
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert!(f.cluster.metadata(|s| s.scram_credentials().is_empty()));
    f
}
