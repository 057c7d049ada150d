use chronik_auth::acl::{Operation, PatternType};

use super::*;
use crate::acls::{MAX_ACLS, acl_record};
use crate::error::StateError;
use crate::proto::metadata_record::Record;
use crate::proto::{CreateAcl, MetadataRecord};
use crate::testing::*;

#[test]
fn acls_are_created_once_kept_sorted_and_deleted_exactly() {
    let mut state = MetadataState::new();
    let (zed, alice) = (topic_acl("zed", "User:a"), topic_acl("alpha", "User:b"));
    apply_all(
        &mut state,
        &[create_acl(&zed), create_acl(&alice), create_acl(&zed)],
    );
    assert_eq!(state.acls(), [alice.clone(), zed.clone()]);

    // Only the exact binding is deleted: another operation on the same topic is another ACL.
    let mut write_zed = zed.clone();
    write_zed.operation = Operation::Write;
    let before = state.clone();
    let err = state.apply(&delete_acl(&write_zed)).expect_err("absent");
    assert!(matches!(err, StateError::UnknownAcl(_)), "{err}");
    assert_eq!(state, before);
    apply_all(&mut state, &[delete_acl(&zed)]);
    assert_eq!(state.acls(), [alice]);
}

#[test]
fn invalid_records_change_nothing() {
    let mut state = MetadataState::new();
    apply_all(&mut state, &[create_acl(&topic_acl("orders", "User:a"))]);
    let before = state.clone();
    let mut prefixed_star = topic_acl("*", "User:a");
    prefixed_star.pattern = PatternType::Prefixed;
    let mut no_user = topic_acl("orders", "Group:a");
    no_user.host = "*".into();
    let mut bad_code = acl_record(&topic_acl("orders", "User:a"));
    bad_code.operation = 1;
    let records = [
        create_acl(&prefixed_star),
        create_acl(&no_user),
        MetadataRecord::new(Record::CreateAcl(CreateAcl {
            acl: Some(bad_code),
        })),
        MetadataRecord::new(Record::CreateAcl(CreateAcl { acl: None })),
        delete_acl(&no_user),
    ];
    for record in records {
        let err = state.apply(&record).expect_err("refused");
        assert!(matches!(err, StateError::InvalidAcl(_)), "{err}");
        assert_eq!(state, before);
    }
}

#[test]
fn the_number_of_acls_is_bounded() {
    let mut state = MetadataState::new();
    state.acls = (0..MAX_ACLS)
        .map(|i| topic_acl(&format!("t{i:06}"), "User:a"))
        .collect();
    state.acls.sort();
    // An existing ACL is still a no-op at the bound; a new one is refused.
    apply_all(&mut state, &[create_acl(&topic_acl("t000007", "User:a"))]);
    let err = state
        .apply(&create_acl(&topic_acl("new", "User:a")))
        .expect_err("bounded");
    assert!(err.to_string().contains("100000"), "{err}");
    assert_eq!(state.acls().len(), MAX_ACLS);
}

#[test]
fn acls_survive_a_snapshot() {
    let mut state = MetadataState::new();
    let mut deny = topic_acl("orders", "User:*");
    deny.permission = chronik_auth::acl::Permission::Deny;
    apply_all(
        &mut state,
        &[
            create_acl(&topic_acl("payments", "User:b")),
            create_acl(&deny),
            create_acl(&topic_acl("orders", "User:a")),
        ],
    );
    let restored =
        MetadataState::from_snapshot_bytes(&state.to_snapshot_bytes()).expect("restores");
    assert_eq!(restored, state);
    assert_eq!(restored.acls().len(), 3);
}
