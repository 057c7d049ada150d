use chronik_auth::ScramMechanism::{Sha256, Sha512};

use super::*;
use crate::error::StateError;
use crate::proto::metadata_record::Record;
use crate::proto::{MetadataRecord, ScramCredentialUpsert};
use crate::testing::*;

fn upsert(r: ScramCredentialUpsert) -> MetadataRecord {
    MetadataRecord::new(Record::ScramCredentialUpsert(r))
}

#[test]
fn credentials_are_set_replaced_and_deleted() {
    let mut state = MetadataState::new();
    apply_all(
        &mut state,
        &[
            scram_upsert_record("alice", Sha256, 4096),
            scram_upsert_record("alice", Sha512, 8192),
            scram_upsert_record("bob", Sha256, 16384),
        ],
    );
    let alice = state
        .scram_credential("alice", Sha512)
        .expect("alice's SHA-512");
    assert_eq!((alice.mechanism, alice.iterations), (Sha512, 8192));
    assert_eq!(alice.stored_key.len(), 64);
    let users: Vec<&str> = state.scram_credentials().users().collect();
    assert_eq!(users, ["alice", "bob"]);

    // An upsert replaces the credential of its mechanism only.
    apply_all(&mut state, &[scram_upsert_record("alice", Sha256, 5000)]);
    let iterations: Vec<u32> = (state.scram_credentials().of_user("alice"))
        .map(|c| c.iterations)
        .collect();
    assert_eq!(iterations, [5000, 8192]);

    apply_all(
        &mut state,
        &[scram_delete("alice", 1), scram_delete("alice", 2)],
    );
    assert_eq!(state.scram_credential("alice", Sha256), None);
    let users: Vec<&str> = state.scram_credentials().users().collect();
    assert_eq!(users, ["bob"], "a user without credentials is gone");
}

#[test]
fn invalid_records_change_nothing() {
    let mut state = MetadataState::new();
    apply_all(&mut state, &[scram_upsert_record("bob", Sha256, 4096)]);
    let before = state.clone();
    let good = || scram_upsert("alice", Sha256, 4096);
    let mut cases = Vec::new();
    let mut r = good();
    r.user.clear();
    cases.push(("an empty user name", upsert(r)));
    let mut r = good();
    r.user = "u".repeat(257);
    cases.push(("a 257-byte user name", upsert(r)));
    let mut r = good();
    r.mechanism = 0;
    cases.push(("mechanism 0", upsert(r)));
    let mut r = good();
    r.mechanism = 256 + 1;
    cases.push(("mechanism 257 (1 as an i8)", upsert(r)));
    let mut r = good();
    r.iterations = 4095;
    cases.push(("4095 iterations", upsert(r)));
    let mut r = good();
    r.iterations = 16385;
    cases.push(("16385 iterations", upsert(r)));
    let mut r = good();
    r.salt.clear();
    cases.push(("an empty salt", upsert(r)));
    let mut r = good();
    r.salt = vec![1; 1025];
    cases.push(("a 1025-byte salt", upsert(r)));
    let mut r = good();
    r.stored_key.push(0);
    cases.push(("a 33-byte stored key", upsert(r)));
    let mut r = good();
    r.server_key.truncate(16);
    cases.push(("a 16-byte server key", upsert(r)));
    // SHA-256-sized keys under SHA-512.
    let mut r = good();
    r.mechanism = 2;
    cases.push(("SHA-256 keys for SCRAM-SHA-512", upsert(r)));
    cases.push(("deleting an absent credential", scram_delete("alice", 1)));
    cases.push(("deleting an absent mechanism", scram_delete("bob", 2)));
    cases.push(("deleting under mechanism 9", scram_delete("bob", 9)));
    for (what, record) in cases {
        let err = state.apply(&record).expect_err(what);
        assert!(
            matches!(
                err,
                StateError::InvalidScramCredential { .. }
                    | StateError::UnsupportedScramMechanism(_)
                    | StateError::UnknownScramCredential { .. }
            ),
            "{what}: {err}"
        );
        assert_eq!(state, before, "{what} changed the state");
    }
}

#[test]
fn the_debug_form_shows_no_key() {
    let mut state = MetadataState::new();
    apply_all(&mut state, &[scram_upsert_record("alice", Sha256, 4096)]);
    let key = &state
        .scram_credential("alice", Sha256)
        .expect("set")
        .stored_key;
    let shown = format!("{state:?}");
    assert!(shown.contains("alice (SCRAM-SHA-256)"), "{shown}");
    assert!(!shown.contains(&format!("{key:?}")), "{shown}");
    assert!(!shown.contains(&format!("{:?}", &key[..4])), "{shown}");
}

#[test]
fn credentials_survive_a_snapshot() {
    let mut state = MetadataState::new();
    apply_all(
        &mut state,
        &[
            scram_upsert_record("zed", Sha512, 4096),
            scram_upsert_record("alice", Sha256, 8192),
            scram_upsert_record("alice", Sha512, 16384),
        ],
    );
    let restored =
        MetadataState::from_snapshot_bytes(&state.to_snapshot_bytes()).expect("restores");
    assert_eq!(restored, state);
    assert_eq!(
        restored.scram_credential("zed", Sha512),
        state.scram_credential("zed", Sha512)
    );
    // By user, then mechanism: equal states give equal bytes.
    let order: Vec<(String, i32)> = (state.to_snapshot().scram_credentials.iter())
        .map(|c| (c.user.clone(), c.mechanism))
        .collect();
    assert_eq!(
        order,
        [("alice".into(), 1), ("alice".into(), 2), ("zed".into(), 2)]
    );
}
