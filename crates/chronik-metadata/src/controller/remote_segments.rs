//! Partition leaders recording where the remote copies of their segments stand (tiered
//! storage): each step is checked here, then proposed as one RemoteSegmentChange record.

use crate::controller::Decision;
use crate::controller::alter::{require_leader, require_live};
use crate::error::ControllerError;
use crate::ids::{BrokerId, Uuid};
use crate::proto::metadata_record::Record;
use crate::proto::{RemoteLogStartChange, RemoteSegmentChange, RemoteSegmentState};
use crate::{MetadataRecord, MetadataState};

/// A step of one remote copy, asked for by `broker`: a live broker that leads the partition at
/// the change's leader epoch. A deleted topic's copies may be deleted by any live broker.
pub fn change_remote_segment(
    state: &MetadataState,
    broker: BrokerId,
    change: &RemoteSegmentChange,
) -> Decision {
    require_live(state, broker)?;
    let topic_id = topic_id_of(&change.topic_id)?;
    if let Some(topic) = state.topic(&topic_id) {
        require_leader(state, topic, change.partition, broker, change.leader_epoch)?;
    } else if !matches!(
        RemoteSegmentState::try_from(change.state),
        Ok(RemoteSegmentState::RemoteSegmentDeleteStarted
            | RemoteSegmentState::RemoteSegmentDeleted)
    ) {
        return Err(ControllerError::UnknownTopicId(topic_id));
    }
    state
        .check_remote_segment_change(change)
        .map_err(|e| ControllerError::InvalidRequest(e.to_string()))?;
    Ok(vec![MetadataRecord::new(Record::RemoteSegmentChange(
        change.clone(),
    ))])
}

/// Moves a partition's log start over both tiers forward for `broker`, a live broker that
/// leads it at the change's leader epoch.
pub fn move_remote_log_start(
    state: &MetadataState,
    broker: BrokerId,
    change: &RemoteLogStartChange,
) -> Decision {
    require_live(state, broker)?;
    let topic_id = topic_id_of(&change.topic_id)?;
    let topic = state
        .topic(&topic_id)
        .ok_or(ControllerError::UnknownTopicId(topic_id))?;
    require_leader(state, topic, change.partition, broker, change.leader_epoch)?;
    state
        .check_remote_log_start(change)
        .map_err(|e| ControllerError::InvalidRequest(e.to_string()))?;
    Ok(vec![MetadataRecord::new(Record::RemoteLogStartChange(
        change.clone(),
    ))])
}

fn topic_id_of(field: &[u8]) -> Result<Uuid, ControllerError> {
    Uuid::from_field("topic_id", field).map_err(|e| ControllerError::InvalidRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::proto::RemoteSegmentState as Wire;
    use crate::testing::*;

    fn step(copy: (i64, u64), to: Wire, epoch: i32) -> RemoteSegmentChange {
        match remote_change(1, 0, copy, to, epoch).record {
            Some(Record::RemoteSegmentChange(r)) => r,
            other => unreachable!("remote_change built {other:?}"),
        }
    }

    /// Brokers 1-3; topic 1 partition 0 on [1, 2] led by 1 at epoch 0; broker 3 fenced.
    fn state() -> MetadataState {
        let mut state = cluster(3);
        apply_all(
            &mut state,
            &[create_topic("orders", 1, &[&[1, 2]]), fence(3)],
        );
        state
    }

    #[test]
    fn the_leader_records_each_step_of_a_copy() {
        let mut state = state();
        for to in [Wire::RemoteSegmentCopyStarted, Wire::RemoteSegmentCopied] {
            let records = change_remote_segment(&state, 1, &step((0, 1), to, 0)).unwrap();
            apply_all(&mut state, &records);
        }
        let copy = state.remote_segments(tid(1), 0).next().unwrap();
        assert_eq!(copy.state, crate::RemoteCopyState::Copied);
    }

    #[test]
    fn others_and_bad_steps_are_refused_with_the_right_kind() {
        let state = state();
        let start = step((0, 1), Wire::RemoteSegmentCopyStarted, 0);
        let kind = |broker, change: &RemoteSegmentChange| {
            change_remote_segment(&state, broker, change)
                .unwrap_err()
                .kind()
        };
        assert_eq!(kind(2, &start), ErrorKind::NotPartitionLeader);
        assert_eq!(kind(3, &start), ErrorKind::BrokerNotLive);
        assert_eq!(kind(9, &start), ErrorKind::BrokerNotLive);
        let stale = step((0, 1), Wire::RemoteSegmentCopyStarted, 1);
        assert_eq!(kind(1, &stale), ErrorKind::FencedLeaderEpoch);
        let unstarted = step((0, 1), Wire::RemoteSegmentCopied, 0);
        assert_eq!(kind(1, &unstarted), ErrorKind::InvalidRequest);
        let mut other_partition = start.clone();
        other_partition.partition = 4;
        assert_eq!(kind(1, &other_partition), ErrorKind::UnknownTopic);
        let mut bad_id = start.clone();
        bad_id.topic_id = vec![1, 2];
        assert_eq!(kind(1, &bad_id), ErrorKind::InvalidRequest);
    }

    fn log_start(offset: i64, epoch: i32) -> RemoteLogStartChange {
        RemoteLogStartChange {
            topic_id: tid(1).to_vec(),
            partition: 0,
            leader_epoch: epoch,
            log_start_offset: offset,
        }
    }

    #[test]
    fn the_leader_moves_the_log_start_over_both_tiers_forward_only() {
        let mut state = state();
        let kind = |state: &MetadataState, broker, change: &RemoteLogStartChange| {
            move_remote_log_start(state, broker, change)
                .unwrap_err()
                .kind()
        };
        assert_eq!(
            kind(&state, 2, &log_start(150, 0)),
            ErrorKind::NotPartitionLeader
        );
        assert_eq!(
            kind(&state, 3, &log_start(150, 0)),
            ErrorKind::BrokerNotLive
        );
        assert_eq!(
            kind(&state, 1, &log_start(150, 1)),
            ErrorKind::FencedLeaderEpoch
        );
        let records = move_remote_log_start(&state, 1, &log_start(150, 0)).unwrap();
        apply_all(&mut state, &records);
        let start = |state: &MetadataState| {
            state
                .topic(&tid(1))
                .unwrap()
                .partition(0)
                .unwrap()
                .remote_log_start
        };
        assert_eq!(start(&state), 150);
        assert!(state.shows_remote_log_start(&log_start(150, 0)));
        assert!(!state.shows_remote_log_start(&log_start(151, 0)));
        for back in [150, 20] {
            assert_eq!(
                kind(&state, 1, &log_start(back, 0)),
                ErrorKind::InvalidRequest
            );
            let mut applied = state.clone();
            let record = MetadataRecord::new(Record::RemoteLogStartChange(log_start(back, 0)));
            assert!(applied.apply(&record).is_err(), "never backward");
            assert_eq!(start(&applied), 150);
        }
        let restored = MetadataState::from_snapshot_bytes(&state.to_snapshot_bytes()).unwrap();
        assert_eq!(start(&restored), 150, "kept in snapshots");
        apply_all(&mut state, &[delete_topic(1)]);
        assert_eq!(
            kind(&state, 1, &log_start(300, 0)),
            ErrorKind::UnknownTopicId
        );
    }

    #[test]
    fn any_live_broker_deletes_a_deleted_topics_copies() {
        let mut state = state();
        for to in [Wire::RemoteSegmentCopyStarted, Wire::RemoteSegmentCopied] {
            apply_all(&mut state, &[remote_change(1, 0, (0, 1), to, 0)]);
        }
        apply_all(&mut state, &[delete_topic(1)]);
        let restart = step((5, 2), Wire::RemoteSegmentCopyStarted, 0);
        let err = change_remote_segment(&state, 1, &restart).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownTopicId);
        for to in [Wire::RemoteSegmentDeleteStarted, Wire::RemoteSegmentDeleted] {
            let records = change_remote_segment(&state, 2, &step((0, 1), to, 9)).unwrap();
            apply_all(&mut state, &records);
        }
        assert_eq!(state.orphaned_remote_segments().count(), 0);
    }
}
