use super::*;
use crate::error::StateError;
use crate::proto::RemoteSegmentState as Wire;
use crate::proto::metadata_record::Record;
use crate::state::remote_segments::RemoteCopyState;
use crate::testing::*;

/// Brokers 1-3 and topic 1 ("orders": partition 0 on [1, 2], led by 1 at epoch 0).
fn state() -> MetadataState {
    let mut state = cluster(3);
    apply_all(&mut state, &[create_topic("orders", 1, &[&[1, 2]])]);
    state
}

fn states(state: &MetadataState) -> Vec<(i64, u64, RemoteCopyState)> {
    state
        .remote_segments(tid(1), 0)
        .map(|s| (s.key.base_offset, s.key.upload_id, s.state))
        .collect()
}

#[test]
fn a_copy_goes_from_started_to_copied_to_deleted_and_leaves() {
    let mut state = state();
    apply_all(
        &mut state,
        &[
            remote_change(1, 0, (100, 2), Wire::RemoteSegmentCopyStarted, 0),
            remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopyStarted, 0),
            remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopied, 0),
        ],
    );
    use RemoteCopyState::*;
    assert_eq!(states(&state), [(0, 1, Copied), (100, 2, CopyStarted)]);
    let copy = state.remote_segments(tid(1), 0).next().unwrap();
    assert_eq!((copy.next_offset, copy.size_bytes), (100, 4096));
    assert_eq!(state.remote_segments(tid(1), 1).count(), 0);

    // An abandoned upload goes straight to deletion; a copied one too.
    apply_all(
        &mut state,
        &[
            remote_change(1, 0, (100, 2), Wire::RemoteSegmentDeleteStarted, 0),
            remote_change(1, 0, (0, 1), Wire::RemoteSegmentDeleteStarted, 0),
            remote_change(1, 0, (100, 2), Wire::RemoteSegmentDeleted, 0),
        ],
    );
    assert_eq!(states(&state), [(0, 1, DeleteStarted)]);
    apply_all(
        &mut state,
        &[remote_change(1, 0, (0, 1), Wire::RemoteSegmentDeleted, 0)],
    );
    assert!(states(&state).is_empty());
}

#[test]
fn steps_out_of_order_are_refused_and_change_nothing() {
    let mut state = state();
    apply_all(
        &mut state,
        &[remote_change(
            1,
            0,
            (0, 1),
            Wire::RemoteSegmentCopyStarted,
            0,
        )],
    );
    for (copy, to) in [
        ((0, 1), Wire::RemoteSegmentCopyStarted),
        ((0, 1), Wire::RemoteSegmentDeleted),
        ((0, 2), Wire::RemoteSegmentCopied),
        ((0, 2), Wire::RemoteSegmentDeleteStarted),
        ((0, 1), Wire::Unspecified),
    ] {
        let err = reject(&mut state, remote_change(1, 0, copy, to, 0));
        assert!(
            matches!(err, StateError::InvalidRemoteSegment { .. }),
            "{err}"
        );
    }
    apply_all(
        &mut state,
        &[remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopied, 0)],
    );
    let err = reject(
        &mut state,
        remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopied, 0),
    );
    assert!(
        err.to_string()
            .contains("cannot go from REMOTE_SEGMENT_COPIED"),
        "{err}"
    );
}

#[test]
fn only_the_current_leader_changes_copies() {
    let mut state = state();
    apply_all(&mut state, &[change(1, 0, 2, &[1, 2], 0)]);
    let err = reject(
        &mut state,
        remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopyStarted, 0),
    );
    assert!(err.to_string().contains("leader epoch is 1"), "{err}");
    apply_all(
        &mut state,
        &[remote_change(
            1,
            0,
            (0, 1),
            Wire::RemoteSegmentCopyStarted,
            1,
        )],
    );
    apply_all(&mut state, &[change(1, 0, 1, &[1, 2], 1)]);
    reject(
        &mut state,
        remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopied, 1),
    );
    apply_all(
        &mut state,
        &[remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopied, 2)],
    );
    let copy = state.remote_segments(tid(1), 0).next().unwrap();
    assert_eq!(copy.leader_epoch, 2);
}

#[test]
fn bad_copies_are_refused() {
    let mut state = state();
    let err = reject(
        &mut state,
        remote_change(9, 0, (0, 1), Wire::RemoteSegmentCopyStarted, 0),
    );
    assert!(matches!(err, StateError::UnknownTopicId(_)), "{err}");
    let err = reject(
        &mut state,
        remote_change(1, 5, (0, 1), Wire::RemoteSegmentCopyStarted, 0),
    );
    assert!(matches!(err, StateError::UnknownPartition { .. }), "{err}");
    reject(
        &mut state,
        remote_change(1, 0, (-1, 1), Wire::RemoteSegmentCopyStarted, 0),
    );
    for (next_offset, size_bytes) in [(0, 10), (-5, 10), (10, 0)] {
        let mut record = remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopyStarted, 0);
        let Some(Record::RemoteSegmentChange(r)) = record.record.as_mut() else {
            unreachable!("remote_change builds a RemoteSegmentChange")
        };
        (r.next_offset, r.size_bytes) = (next_offset, size_bytes);
        let err = reject(&mut state, record);
        assert!(err.to_string().contains("at least one offset"), "{err}");
    }
    let mut record = remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopyStarted, 0);
    if let Some(Record::RemoteSegmentChange(r)) = record.record.as_mut() {
        r.topic = "bad/name".into();
    }
    reject(&mut state, record);
    let mut record = remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopyStarted, 0);
    if let Some(Record::RemoteSegmentChange(r)) = record.record.as_mut() {
        r.state = 99;
    }
    assert!(
        reject(&mut state, record)
            .to_string()
            .contains("unknown state 99")
    );
}

#[test]
fn a_deleted_topics_copies_stay_until_deleted() {
    let mut state = state();
    apply_all(
        &mut state,
        &[
            remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopyStarted, 0),
            remote_change(1, 0, (0, 1), Wire::RemoteSegmentCopied, 0),
            delete_topic(1),
        ],
    );
    assert_eq!(state.orphaned_remote_segments().count(), 1);
    reject(
        &mut state,
        remote_change(1, 0, (100, 2), Wire::RemoteSegmentCopyStarted, 0),
    );
    apply_all(
        &mut state,
        &[
            remote_change(1, 0, (0, 1), Wire::RemoteSegmentDeleteStarted, 7),
            remote_change(1, 0, (0, 1), Wire::RemoteSegmentDeleted, 7),
        ],
    );
    assert_eq!(state.orphaned_remote_segments().count(), 0);
}

#[test]
fn copies_survive_a_snapshot_and_bad_snapshot_entries_are_refused() {
    let state = populated_state();
    assert_eq!(state.orphaned_remote_segments().count(), 1, "doomed's copy");
    let restored = MetadataState::from_snapshot(&state.to_snapshot()).unwrap();
    assert_eq!(restored, state);

    let good = state.to_snapshot();
    assert_eq!(good.remote_segments.len(), 2);
    let mut twice = good.clone();
    twice.remote_segments.push(twice.remote_segments[1].clone());
    let mut unsorted = good.clone();
    unsorted.remote_segments.swap(0, 1);
    let mut deleted = good.clone();
    deleted.remote_segments[0].state = Wire::RemoteSegmentDeleted as i32;
    let mut empty = good.clone();
    empty.remote_segments[0].size_bytes = 0;
    for bad in [twice, unsorted, deleted, empty] {
        assert!(MetadataState::from_snapshot(&bad).is_err());
    }
}
