//! Remote segment steps (tiered storage) between the controller service's request and the
//! metadata record.

use super::pb::{ChangeRemoteSegmentRequest, MoveRemoteLogStartRequest};
use crate::BrokerId;
use crate::proto::{RemoteLogStartChange, RemoteSegmentChange};

/// The requesting broker and the step it asks for.
pub fn remote_segment_change(req: ChangeRemoteSegmentRequest) -> (BrokerId, RemoteSegmentChange) {
    let change = RemoteSegmentChange {
        topic_id: req.topic_id,
        partition: req.partition,
        base_offset: req.base_offset,
        upload_id: req.upload_id,
        state: req.state,
        leader_epoch: req.leader_epoch,
        next_offset: req.next_offset,
        max_timestamp: req.max_timestamp,
        size_bytes: req.size_bytes,
        topic: req.topic,
    };
    (req.broker_id, change)
}

/// The request asking for `change` on behalf of `broker`.
pub fn change_remote_segment_request(
    broker: BrokerId,
    change: &RemoteSegmentChange,
) -> ChangeRemoteSegmentRequest {
    ChangeRemoteSegmentRequest {
        broker_id: broker,
        topic_id: change.topic_id.clone(),
        partition: change.partition,
        base_offset: change.base_offset,
        upload_id: change.upload_id,
        state: change.state,
        leader_epoch: change.leader_epoch,
        next_offset: change.next_offset,
        max_timestamp: change.max_timestamp,
        size_bytes: change.size_bytes,
        topic: change.topic.clone(),
    }
}

/// The requesting broker and the log start it moves.
pub fn remote_log_start_change(req: MoveRemoteLogStartRequest) -> (BrokerId, RemoteLogStartChange) {
    let change = RemoteLogStartChange {
        topic_id: req.topic_id,
        partition: req.partition,
        leader_epoch: req.leader_epoch,
        log_start_offset: req.log_start_offset,
    };
    (req.broker_id, change)
}

/// The request asking for `change` on behalf of `broker`.
pub fn move_remote_log_start_request(
    broker: BrokerId,
    change: &RemoteLogStartChange,
) -> MoveRemoteLogStartRequest {
    MoveRemoteLogStartRequest {
        broker_id: broker,
        topic_id: change.topic_id.clone(),
        partition: change.partition,
        leader_epoch: change.leader_epoch,
        log_start_offset: change.log_start_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::RemoteSegmentState;
    use crate::proto::metadata_record::Record;
    use crate::testing::remote_change;

    #[test]
    fn a_step_survives_the_trip_through_the_request() {
        let Some(Record::RemoteSegmentChange(change)) =
            remote_change(1, 2, (300, 9), RemoteSegmentState::RemoteSegmentCopied, 4).record
        else {
            unreachable!("remote_change builds a RemoteSegmentChange")
        };
        let request = change_remote_segment_request(7, &change);
        assert_eq!(remote_segment_change(request), (7, change));
    }

    #[test]
    fn a_log_start_move_survives_the_trip_through_the_request() {
        let change = RemoteLogStartChange {
            topic_id: vec![3; 16],
            partition: 2,
            leader_epoch: 5,
            log_start_offset: 1_234,
        };
        let request = move_remote_log_start_request(4, &change);
        assert_eq!(remote_log_start_change(request), (4, change));
    }
}
