use super::*;
use crate::error::StateError;
use crate::quotas::{
    CLIENT_ID, CONSUMER_BYTE_RATE, MAX_QUOTA_ENTITIES, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, USER,
};
use crate::testing::*;

fn entity(parts: &[(&str, Option<&str>)]) -> QuotaEntity {
    let parts = parts
        .iter()
        .map(|(t, n)| (t.to_string(), n.map(str::to_string)));
    QuotaEntity::new(parts).expect("a valid entity")
}

fn values(state: &MetadataState, e: &QuotaEntity) -> Vec<(String, f64)> {
    let quotas = state.client_quota(e).into_iter().flatten();
    quotas.map(|(k, v)| (k.clone(), v.0)).collect()
}

const ALICE: &[(&str, Option<&str>)] = &[(USER, Some("alice"))];

#[test]
fn quotas_are_set_replaced_and_removed() {
    let mut state = MetadataState::new();
    let set = quota_change(
        ALICE,
        &[(PRODUCER_BYTE_RATE, 1000.0), (REQUEST_PERCENTAGE, 12.5)],
        &[],
    );
    apply_all(&mut state, &[set]);
    let alice = entity(ALICE);
    let expected = [
        (PRODUCER_BYTE_RATE.into(), 1000.0),
        (REQUEST_PERCENTAGE.into(), 12.5),
    ];
    assert_eq!(values(&state, &alice), expected);

    // The key order of the parts does not matter; the entity is the same.
    let both = [(CLIENT_ID, None), (USER, Some("alice"))];
    let reversed = [(USER, Some("alice")), (CLIENT_ID, None)];
    apply_all(
        &mut state,
        &[quota_change(&reversed, &[(CONSUMER_BYTE_RATE, 5.0)], &[])],
    );
    assert_eq!(
        values(&state, &entity(&both)),
        [(CONSUMER_BYTE_RATE.into(), 5.0)]
    );

    let replace = quota_change(
        ALICE,
        &[(PRODUCER_BYTE_RATE, 2000.0)],
        &[REQUEST_PERCENTAGE, CONSUMER_BYTE_RATE],
    );
    apply_all(&mut state, &[replace]);
    assert_eq!(
        values(&state, &alice),
        [(PRODUCER_BYTE_RATE.into(), 2000.0)]
    );
    assert_eq!(state.client_quotas().len(), 2);

    // An entity left without quotas is gone.
    apply_all(
        &mut state,
        &[quota_change(ALICE, &[], &[PRODUCER_BYTE_RATE])],
    );
    assert_eq!(state.client_quota(&alice), None);
    assert_eq!(state.client_quotas().len(), 1);
    // Removing from an entity without quotas is valid and changes nothing.
    let before = state.clone();
    apply_all(
        &mut state,
        &[quota_change(ALICE, &[], &[CONSUMER_BYTE_RATE])],
    );
    assert_eq!(state, before);
}

#[test]
fn invalid_quota_changes_leave_the_state_unchanged() {
    let mut state = populated_state();
    let rate = [(PRODUCER_BYTE_RATE, 100.0)];
    let cases = [
        quota_change(&[], &rate, &[]),
        quota_change(&[("ip", None)], &rate, &[]),
        quota_change(&[(USER, Some("a")), (USER, None)], &rate, &[]),
        quota_change(&[(CLIENT_ID, Some(""))], &rate, &[]),
        quota_change(ALICE, &[], &[]),
        quota_change(ALICE, &rate, &[PRODUCER_BYTE_RATE]),
        quota_change(ALICE, &[("connection_creation_rate", 10.0)], &[]),
        quota_change(ALICE, &[], &["controller_mutation_rate"]),
        quota_change(ALICE, &[("bogus", 1.0)], &[]),
        quota_change(ALICE, &[(PRODUCER_BYTE_RATE, 0.0)], &[]),
        quota_change(ALICE, &[(CONSUMER_BYTE_RATE, 10.5)], &[]),
        quota_change(ALICE, &[(CONSUMER_BYTE_RATE, f64::INFINITY)], &[]),
        quota_change(ALICE, &[(REQUEST_PERCENTAGE, f64::NAN)], &[]),
        quota_change(ALICE, &[(REQUEST_PERCENTAGE, -1.0)], &[]),
        // Valid keys with one invalid value: none of them is written.
        quota_change(
            ALICE,
            &[(PRODUCER_BYTE_RATE, 100.0), (REQUEST_PERCENTAGE, 0.0)],
            &[],
        ),
    ];
    for case in cases {
        let err = reject(&mut state, case);
        assert!(
            matches!(
                err,
                StateError::InvalidQuotaEntity(_) | StateError::InvalidClientQuota(_)
            ),
            "{err}"
        );
    }
}

#[test]
fn unsupported_quotas_say_chronik_does_not_enforce_them() {
    let mut state = MetadataState::new();
    let ip = reject(
        &mut state,
        quota_change(&[("ip", None)], &[(PRODUCER_BYTE_RATE, 1.0)], &[]),
    );
    let rate = [("controller_mutation_rate", 1.0)];
    let key = reject(&mut state, quota_change(ALICE, &rate, &[]));
    for err in [ip, key] {
        assert!(err.to_string().contains("does not enforce"), "{err}");
    }
}

#[test]
fn the_number_of_quota_entities_is_bounded() {
    let mut state = MetadataState::new();
    let name = |i: usize| format!("client-{i}");
    for i in 0..MAX_QUOTA_ENTITIES {
        let n = name(i);
        let record = quota_change(
            &[(CLIENT_ID, Some(n.as_str()))],
            &[(PRODUCER_BYTE_RATE, 1.0)],
            &[],
        );
        apply_all(&mut state, &[record]);
    }
    let one_more = name(MAX_QUOTA_ENTITIES);
    let parts = [(CLIENT_ID, Some(one_more.as_str()))];
    let err = reject(
        &mut state,
        quota_change(&parts, &[(PRODUCER_BYTE_RATE, 1.0)], &[]),
    );
    assert!(matches!(err, StateError::TooMany { .. }), "{err}");
    // At the limit, entities with quotas may still change, a removal from one without is
    // accepted, and removing an entity's last quota makes room for another.
    let first = name(0);
    let first = [(CLIENT_ID, Some(first.as_str()))];
    apply_all(
        &mut state,
        &[quota_change(&first, &[(PRODUCER_BYTE_RATE, 2.0)], &[])],
    );
    apply_all(
        &mut state,
        &[quota_change(&parts, &[], &[PRODUCER_BYTE_RATE])],
    );
    apply_all(
        &mut state,
        &[quota_change(&first, &[], &[PRODUCER_BYTE_RATE])],
    );
    apply_all(
        &mut state,
        &[quota_change(&parts, &[(PRODUCER_BYTE_RATE, 1.0)], &[])],
    );
    assert_eq!(state.client_quotas().len(), MAX_QUOTA_ENTITIES);

    let snapshot = state.to_snapshot_bytes();
    let restored = MetadataState::from_snapshot_bytes(&snapshot).expect("restores");
    assert_eq!(restored, state);
    let mut too_many = state.to_snapshot();
    let mut extra = too_many.client_quotas[0].clone();
    extra.entity[0].name = Some(name(0));
    too_many.client_quotas.push(extra);
    let err = MetadataState::from_snapshot(&too_many).expect_err("over the limit");
    assert!(matches!(err, StateError::TooMany { .. }), "{err}");
}

#[test]
fn quotas_survive_a_snapshot_round_trip() {
    let mut state = populated_state();
    let records = [
        quota_change(&[(USER, None)], &[(CONSUMER_BYTE_RATE, 1e9)], &[]),
        quota_change(
            &[(CLIENT_ID, Some("app"))],
            &[(REQUEST_PERCENTAGE, 0.25)],
            &[],
        ),
    ];
    apply_all(&mut state, &records);
    let bytes = state.to_snapshot_bytes();
    let restored = MetadataState::from_snapshot_bytes(&bytes).expect("restores");
    assert_eq!(restored, state);
    assert_eq!(restored.to_snapshot_bytes(), bytes);
    assert_eq!(restored.client_quotas().len(), 3);
    let default_user = entity(&[(USER, None)]);
    assert_eq!(
        values(&restored, &default_user),
        [(CONSUMER_BYTE_RATE.into(), 1e9)]
    );
}
