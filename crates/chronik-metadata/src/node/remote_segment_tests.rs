//! Remote segment steps (tiered storage) through a real meta node's ChangeRemoteSegment call.

use super::tests::{WAIT, leader_of, register, topic};
use super::{MetaNode, NodeConfig};
use crate::grpc::pb::HeartbeatRequest;
use crate::grpc::{ClientError, change_remote_segment_request, connect};
use crate::proto::{RemoteSegmentChange, RemoteSegmentState};
use crate::{ErrorKind, RemoteCopyState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_moves_a_copy_through_its_states_and_others_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listen = "127.0.0.1:0".parse().expect("addr");
    let node = MetaNode::start(NodeConfig::new(1, listen, dir.path().to_path_buf()))
        .await
        .expect("start");
    leader_of(std::slice::from_ref(&node)).await;
    let mut client = connect(&node.local_addr().to_string(), None, WAIT)
        .await
        .expect("connect");
    let incarnation = [3; 16];
    (client.register_broker(register(1, incarnation)).await).expect("register");
    let beat = HeartbeatRequest {
        broker_id: 1,
        incarnation_id: incarnation.to_vec(),
    };
    (client.heartbeat(beat).await).expect("heartbeat");
    (client.create_topics(topic("tiered")).await).expect("create");
    let (topic_id, leader_epoch) = node
        .state()
        .metadata(|s| {
            let t = s.topic_by_name("tiered")?;
            Some((t.id, t.partition(0)?.leader_epoch))
        })
        .expect("topic created");
    let step = |state: RemoteSegmentState| RemoteSegmentChange {
        topic_id: topic_id.to_vec(),
        partition: 0,
        base_offset: 1_000,
        upload_id: 42,
        state: state as i32,
        leader_epoch,
        next_offset: 2_000,
        max_timestamp: 1_700_000_000_000,
        size_bytes: 1 << 20,
        topic: "tiered".into(),
    };
    let copies = || {
        node.state().metadata(|s| {
            s.remote_segments(topic_id, 0)
                .map(|c| c.state)
                .collect::<Vec<_>>()
        })
    };

    let start = step(RemoteSegmentState::RemoteSegmentCopyStarted);
    let refused = client
        .change_remote_segment(change_remote_segment_request(2, &start))
        .await
        .expect_err("broker 2 is not registered");
    let kind = ClientError::Status(refused).into_node_error().kind();
    assert_eq!(kind, ErrorKind::BrokerNotLive);
    assert!(copies().is_empty());

    for (to, then) in [
        (
            RemoteSegmentState::RemoteSegmentCopyStarted,
            Some(RemoteCopyState::CopyStarted),
        ),
        (
            RemoteSegmentState::RemoteSegmentCopied,
            Some(RemoteCopyState::Copied),
        ),
        (
            RemoteSegmentState::RemoteSegmentDeleteStarted,
            Some(RemoteCopyState::DeleteStarted),
        ),
        (RemoteSegmentState::RemoteSegmentDeleted, None),
    ] {
        let request = change_remote_segment_request(1, &step(to));
        (client.change_remote_segment(request).await).expect("the leader's step");
        assert_eq!(copies(), then.into_iter().collect::<Vec<_>>());
        assert!(
            node.state()
                .metadata(|s| s.shows_remote_segment_change(&step(to)))
        );
    }
    node.shutdown().await;
}
