//! Remote segment copies (tiered storage) through both quorums: the leader records each step,
//! which its view shows at once; a follower, a stale epoch and a step out of order are refused.

use chronik_metadata::proto::{RemoteSegmentChange, RemoteSegmentState};
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
