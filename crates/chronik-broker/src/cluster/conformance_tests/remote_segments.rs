//! Remote segment copies (tiered storage) through both quorums: the leader records each step,
//! which its view shows at once; a follower, a stale epoch and a step out of order are refused.
//! The same for the log start over both tiers, which moves only forward.

use chronik_metadata::proto::{RemoteLogStartChange, RemoteSegmentChange, RemoteSegmentState};
use chronik_metadata::{ErrorKind, RemoteCopyState};

use super::{Fixture, kind};

pub(super) async fn remote_segment_steps_come_from_the_leader(mut f: Fixture) -> Fixture {
    f.live_brokers(&[1, 2]).await;
    f.create_topic("tiered", 1, 2).await;
    let (topic_id, p) = f.partition("tiered", 0);
    let follower = *p
        .replicas
        .iter()
        .find(|b| **b != p.leader)
        .expect("a follower");
    let step = |state: RemoteSegmentState, leader_epoch| RemoteSegmentChange {
        topic_id: topic_id.to_vec(),
        partition: 0,
        base_offset: 0,
        upload_id: 1,
        state: state as i32,
        leader_epoch,
        next_offset: 500,
        max_timestamp: 1_700_000_000_000,
        size_bytes: 65_536,
        topic: "tiered".into(),
    };
    let q = f.quorum();
    let start = step(RemoteSegmentState::RemoteSegmentCopyStarted, p.leader_epoch);
    let refused = q.change_remote_segment(follower, &start).await;
    assert_eq!(kind(refused), ErrorKind::NotPartitionLeader);
    let stale = step(
        RemoteSegmentState::RemoteSegmentCopyStarted,
        p.leader_epoch + 1,
    );
    let refused = q.change_remote_segment(p.leader, &stale).await;
    assert_eq!(kind(refused), ErrorKind::FencedLeaderEpoch);
    let early = step(RemoteSegmentState::RemoteSegmentCopied, p.leader_epoch);
    let refused = q.change_remote_segment(p.leader, &early).await;
    assert_eq!(kind(refused), ErrorKind::InvalidRequest);

    let shown = |f: &Fixture| {
        let mut copies = Vec::new();
        f.quorum().with_metadata(&mut |s| {
            copies = s.remote_segments(topic_id, 0).map(|c| c.state).collect();
        });
        copies
    };
    q.change_remote_segment(p.leader, &start)
        .await
        .expect("copy started");
    assert_eq!(shown(&f), [RemoteCopyState::CopyStarted]);
    q.change_remote_segment(p.leader, &early)
        .await
        .expect("copied");
    assert_eq!(shown(&f), [RemoteCopyState::Copied]);
    for state in [
        RemoteSegmentState::RemoteSegmentDeleteStarted,
        RemoteSegmentState::RemoteSegmentDeleted,
    ] {
        let q = f.quorum();
        q.change_remote_segment(p.leader, &step(state, p.leader_epoch))
            .await
            .expect("deletion step");
    }
    assert!(shown(&f).is_empty());
    f
}

pub(super) async fn the_log_start_over_both_tiers_moves_forward_by_the_leader(
    mut f: Fixture,
) -> Fixture {
    f.live_brokers(&[1, 2]).await;
    f.create_topic("trimmed", 1, 2).await;
    let (topic_id, p) = f.partition("trimmed", 0);
    let follower = *p
        .replicas
        .iter()
        .find(|b| **b != p.leader)
        .expect("a follower");
    let change = |log_start_offset, leader_epoch| RemoteLogStartChange {
        topic_id: topic_id.to_vec(),
        partition: 0,
        leader_epoch,
        log_start_offset,
    };
    let q = f.quorum();
    let refused = q
        .move_remote_log_start(follower, &change(150, p.leader_epoch))
        .await;
    assert_eq!(kind(refused), ErrorKind::NotPartitionLeader);
    let refused = (q.move_remote_log_start(p.leader, &change(150, p.leader_epoch + 1))).await;
    assert_eq!(kind(refused), ErrorKind::FencedLeaderEpoch);
    q.move_remote_log_start(p.leader, &change(150, p.leader_epoch))
        .await
        .expect("moved");
    assert_eq!(
        f.partition("trimmed", 0).1.remote_log_start,
        150,
        "shown at once"
    );
    let q = f.quorum();
    let refused = q
        .move_remote_log_start(p.leader, &change(100, p.leader_epoch))
        .await;
    assert_eq!(kind(refused), ErrorKind::InvalidRequest);
    f
}
