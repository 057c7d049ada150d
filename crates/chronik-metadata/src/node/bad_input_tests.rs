//! Input a meta node must refuse without changing anything: Raft peer streams of another
//! cluster, undecodable or oversized, and records of a format version this build does not read.

use std::time::Duration;

use super::tests::{WAIT, leader_of, start_cluster};
use super::{MetaNode, NodeConfig, NodeError};
use crate::grpc::MAX_RAFT_MESSAGE;
use crate::grpc::pb::RaftEnvelope;
use crate::grpc::pb::raft_peer_client::RaftPeerClient;
use crate::proto::metadata_record::Record;
use crate::{MetadataRecord, RECORD_VERSION};

/// (term, leader, commit index) of every node.
async fn views(nodes: &[MetaNode]) -> Vec<(u64, Option<u64>, u64)> {
    let mut out = Vec::new();
    for node in nodes {
        let s = node.raft().status().await.expect("status");
        out.push((s.term, s.leader_id, s.commit_index));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_peer_streams_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nodes = start_cluster(dir.path(), &[1, 2, 3], "blue").await;
    let leader = leader_of(&nodes).await;
    let follower = (nodes.iter())
        .find(|n| n.id() != leader.id())
        .expect("a follower");
    // Settled: every node knows the leader and has committed the same.
    let deadline = tokio::time::Instant::now() + WAIT;
    let before = loop {
        let v = views(&nodes).await;
        if v.iter().all(|x| x.1 == Some(leader.id()) && x.2 == v[0].2) {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "not settled: {v:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };

    let mut peer = RaftPeerClient::connect(format!("http://{}", follower.address()))
        .await
        .expect("connect")
        .max_encoding_message_size(usize::MAX);
    let envelope = |cluster: &str, to: u64, message: Vec<u8>| RaftEnvelope {
        cluster_id: cluster.into(),
        from: leader.id(),
        to,
        message,
    };
    // A well-formed heartbeat with a much higher term: accepted, it would depose the leader.
    let mut forged = raft::eraftpb::Message::default();
    forged.set_msg_type(raft::eraftpb::MessageType::MsgHeartbeat);
    forged.from = 99;
    forged.to = follower.id();
    forged.term = 1_000;
    let forged = protobuf::Message::write_to_bytes(&forged).expect("encode");
    let cases = [
        (
            "another cluster",
            envelope("red", follower.id(), forged.clone()),
            tonic::Code::PermissionDenied,
        ),
        (
            "garbage message bytes",
            envelope("blue", follower.id(), vec![0xff; 64]),
            tonic::Code::InvalidArgument,
        ),
        (
            "a message for another node",
            envelope("blue", 7, forged.clone()),
            tonic::Code::InvalidArgument,
        ),
        (
            "a route the message contradicts",
            envelope("blue", follower.id(), forged),
            tonic::Code::InvalidArgument,
        ),
        (
            "an oversized message",
            envelope("blue", follower.id(), vec![0; MAX_RAFT_MESSAGE + 1]),
            tonic::Code::OutOfRange,
        ),
    ];
    for (what, bad, code) in cases {
        let err = (peer.stream(tokio_stream::iter(vec![bad])).await)
            .expect_err(&format!("{what} was accepted"));
        assert_eq!(err.code(), code, "{what}: {err:?}");
    }
    // The leader may commit its own entries meanwhile; what refused input must not change is
    // the term (a forged higher term would depose the leader) and who leads.
    let after = views(&nodes).await;
    let terms_and_leaders = |v: &[(u64, Option<u64>, u64)]| -> Vec<(u64, Option<u64>)> {
        v.iter().map(|(term, leader, _)| (*term, *leader)).collect()
    };
    assert_eq!(
        terms_and_leaders(&after),
        terms_and_leaders(&before),
        "refused input changed the quorum: {before:?} → {after:?}"
    );
    for node in &nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_an_unknown_version_is_rejected_without_a_state_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = NodeConfig::new(
        1,
        "127.0.0.1:0".parse().expect("addr"),
        dir.path().join("n"),
    );
    let node = MetaNode::start(cfg).await.expect("start");
    let _ = leader_of(std::slice::from_ref(&node)).await;
    let before = node.state().metadata(|s| s.to_snapshot_bytes());
    let applied = node.raft().status().await.expect("status").applied_index;

    let future = MetadataRecord {
        version: RECORD_VERSION + 1,
        record: Some(Record::SetClusterId(crate::proto::SetClusterId {
            cluster_id: "hijacked".into(),
        })),
    };
    let err = node
        .decide(|_| Ok(vec![future]))
        .await
        .expect_err("an unknown version applied");
    assert!(matches!(err, NodeError::Rejected(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("version {}", RECORD_VERSION + 1)),
        "unclear error: {text}"
    );
    // The entry was committed (every replica rejects it alike) but the state is unchanged.
    let status = node.raft().status().await.expect("status");
    assert!(status.applied_index > applied);
    assert_eq!(node.state().metadata(|s| s.to_snapshot_bytes()), before);
    node.shutdown().await;
}
