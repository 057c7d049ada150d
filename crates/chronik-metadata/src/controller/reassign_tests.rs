//! Reassignments kept in the metadata: started, replaced, cancelled and finished by the
//! controller loop, surviving a snapshot.

use super::*;
use crate::MetadataState;
use crate::error::ErrorKind;
use crate::ids::TopicId;
use crate::state::PartitionState;
use crate::testing::{apply_all, change, cluster, create_topic as topic_record, fence, topic_id};

fn partition(state: &MetadataState, id: TopicId) -> PartitionState {
    (state.topic(&id).and_then(|t| t.partition(0)).cloned()).expect("partition exists")
}

/// Topic "moving" (id 7) with one partition on brokers 1, 2, 3 of a 4-broker cluster.
fn moving() -> MetadataState {
    let mut state = cluster(4);
    apply_all(&mut state, &[topic_record("moving", 7, &[&[1, 2, 3]])]);
    state
}

/// The leader takes every replica into the ISR, as it does once they caught up.
fn catch_up(state: &mut MetadataState) {
    let p = partition(state, topic_id(7));
    apply_all(
        state,
        &[change(7, 0, p.leader, &p.replicas, p.partition_epoch)],
    );
}

#[test]
fn a_started_reassignment_is_kept_in_the_metadata_until_its_target_is_in_sync() {
    let mut state = moving();
    let records = start_reassignment(&state, "moving", 0, &[4, 2, 3]).expect("valid target");
    apply_all(&mut state, &records);
    let p = partition(&state, topic_id(7));
    assert_eq!(p.replicas, vec![4, 2, 3, 1]);
    assert_eq!(
        (p.adding_replicas(), p.removing_replicas()),
        (vec![4], vec![1])
    );
    assert!(
        reassignment_steps(&state).is_empty(),
        "4 is not in sync yet"
    );

    // A snapshot keeps it, so a new controller carries on.
    let restored =
        MetadataState::from_snapshot_bytes(&state.to_snapshot_bytes()).expect("restores");
    assert_eq!(partition(&restored, topic_id(7)), p);

    catch_up(&mut state);
    let finishing = reassignment_steps(&state);
    assert_eq!(finishing.len(), 1);
    apply_all(&mut state, &finishing);
    let done = partition(&state, topic_id(7));
    assert_eq!(done.replicas, vec![4, 2, 3]);
    assert_eq!(
        done.isr,
        vec![4, 2, 3],
        "the ISR as the leader last set it, less the dropped"
    );
    assert_eq!(
        done.leader, 4,
        "the dropped leader hands over to the first target replica"
    );
    assert!(!done.is_reassigning());
    assert!(reassignment_steps(&state).is_empty());
}

#[test]
fn a_new_target_replaces_the_running_reassignment_from_the_same_original_replicas() {
    let mut state = moving();
    let records = start_reassignment(&state, "moving", 0, &[4, 2, 3]).expect("first");
    apply_all(&mut state, &records);
    let records = start_reassignment(&state, "moving", 0, &[1, 4]).expect("second");
    apply_all(&mut state, &records);
    let p = partition(&state, topic_id(7));
    assert_eq!(p.replicas, vec![1, 4, 2, 3]);
    assert_eq!(
        (p.adding_replicas(), p.removing_replicas()),
        (vec![4], vec![2, 3])
    );
    assert_eq!(p.original_replicas(), [1, 2, 3]);
    assert!(
        start_reassignment(&state, "moving", 0, &[1, 4])
            .expect("same")
            .is_empty(),
        "asking again changes nothing"
    );
}

#[test]
fn cancelling_goes_back_to_the_original_replicas() {
    let mut state = moving();
    let records = start_reassignment(&state, "moving", 0, &[4, 2, 3]).expect("start");
    apply_all(&mut state, &records);
    catch_up(&mut state);
    let records = cancel_reassignment(&state, "moving", 0).expect("cancel");
    apply_all(&mut state, &records);
    let p = partition(&state, topic_id(7));
    let mut isr = p.isr.clone();
    isr.sort_unstable();
    assert_eq!(
        p.replicas,
        vec![1, 2, 3],
        "the original order, preferred leader first"
    );
    assert_eq!(isr, vec![1, 2, 3]);
    assert_eq!(p.leader, 1, "the leader was an original replica and stays");
    assert!(!p.is_reassigning());
    let again = cancel_reassignment(&state, "moving", 0).expect_err("nothing runs");
    assert_eq!(again.kind(), ErrorKind::NoReassignment);
}

#[test]
fn reassignment_requests_with_bad_targets_change_nothing() {
    let mut state = moving();
    apply_all(&mut state, &[fence(4)]);
    for target in [&[][..], &[1, 1], &[1, 9]] {
        let err = start_reassignment(&state, "moving", 0, target).expect_err("refused");
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidReplicaAssignment,
            "{target:?}"
        );
    }
    let unknown = start_reassignment(&state, "nope", 0, &[1]).expect_err("unknown topic");
    assert_eq!(unknown.kind(), ErrorKind::UnknownTopic);
    let unknown = cancel_reassignment(&state, "moving", 5).expect_err("unknown partition");
    assert_eq!(unknown.kind(), ErrorKind::UnknownTopic);
    // A fenced broker is waited for: the reassignment starts and finishes once it caught up.
    let records = start_reassignment(&state, "moving", 0, &[4, 2]).expect("fenced target");
    apply_all(&mut state, &records);
    assert!(reassignment_steps(&state).is_empty());
}

#[test]
fn the_state_refuses_inconsistent_reassignments() {
    use crate::proto::metadata_record::Record;
    use crate::proto::{PartitionChange, Reassignment, ReplicaList};
    let mut state = moving();
    let bad = |replicas: &[i32], original: &[i32], target: &[i32]| {
        crate::MetadataRecord::new(Record::PartitionChange(PartitionChange {
            topic_id: topic_id(7).to_vec(),
            partition_index: 0,
            leader: 1,
            isr: vec![1, 2, 3],
            replicas: Some(ReplicaList {
                replicas: replicas.to_vec(),
            }),
            expected_partition_epoch: 0,
            reassignment: Some(Reassignment {
                original: original.to_vec(),
                target: target.to_vec(),
            }),
        }))
    };
    let before = state.to_snapshot_bytes();
    let cases: [(&[i32], &[i32], &[i32]); 5] = [
        (&[4, 1, 2, 3], &[1, 2, 3], &[]),
        (&[1, 2, 3, 4], &[1, 2, 3], &[4, 1]),
        (&[4, 4, 1, 2, 3], &[1, 2, 3], &[4, 4]),
        (&[4, 1, 2, 3], &[], &[4]),
        (&[1, 2, 3], &[1, 2, 3], &[1, 2, 3, 4]),
    ];
    for (replicas, original, target) in cases {
        let refused = state.apply(&bad(replicas, original, target));
        assert!(refused.is_err(), "{replicas:?} {original:?} {target:?}");
    }
    assert_eq!(state.to_snapshot_bytes(), before);
    // The consistent one applies.
    apply_all(&mut state, &[bad(&[4, 1, 2, 3], &[1, 2, 3], &[4, 1])]);
}
