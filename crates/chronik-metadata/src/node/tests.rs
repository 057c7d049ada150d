//! In-process meta nodes over real loopback gRPC: watch streams, sessions, leader following,
//! peer authentication and membership changes.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chronik_raft::Role;

use super::{MetaNode, NodeConfig};
use crate::grpc::pb::raft_peer_client::RaftPeerClient;
use crate::grpc::pb::{
    CreateTopicsRequest, HeartbeatRequest, RaftEnvelope, RegisterBrokerRequest, StatusRequest,
    TopicSpec, WatchRequest,
};
use crate::grpc::{LEADER_ADDRESS_HEADER, MetaClient, apply_watch_event, connect, is_not_leader};
use crate::{MetadataRecord, MetadataState};

pub(super) const WAIT: Duration = Duration::from_secs(10);

pub(super) async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    chronik_test_support::eventually_async(what, WAIT, check).await
}

pub(super) async fn leader_of(nodes: &[MetaNode]) -> MetaNode {
    eventually("a leader", || async {
        for node in nodes {
            if node.raft().status().await.ok()?.role == Role::Leader {
                return Some(node.clone());
            }
        }
        None
    })
    .await
}

pub(super) fn register(id: i32, incarnation: [u8; 16]) -> RegisterBrokerRequest {
    RegisterBrokerRequest {
        broker_id: id,
        incarnation_id: incarnation.to_vec(),
        host: "127.0.0.1".into(),
        port: 9092,
        rack: None,
        endpoints: Vec::new(),
    }
}

pub(super) fn topic(name: &str) -> CreateTopicsRequest {
    CreateTopicsRequest {
        topics: vec![TopicSpec {
            name: name.into(),
            partitions: 2,
            replication_factor: 1,
            configs: BTreeMap::new(),
            assignment: Vec::new(),
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_voter_streams_records_and_fences_silent_brokers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listen = "127.0.0.1:0".parse().expect("addr");
    let mut cfg = NodeConfig::new(1, listen, dir.path().join("n1"));
    cfg.session_timeout = Duration::from_millis(500);
    let node = MetaNode::start(cfg).await.expect("start");
    leader_of(std::slice::from_ref(&node)).await;
    let mut client = connect(&node.local_addr().to_string(), None, WAIT)
        .await
        .expect("connect");

    // A watcher from the beginning gets the snapshot first (it holds the cluster id).
    let mut watch = client
        .watch(WatchRequest { from_index: 0 })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("event").expect("an event");
    let snapshot = first.snapshot.expect("a snapshot first");
    let state = MetadataState::from_snapshot_bytes(&snapshot).expect("snapshot decodes");
    assert_eq!(state.cluster_id(), Some(node.cluster_id()));

    let incarnation = rand::random::<[u8; 16]>();
    client
        .register_broker(register(1, incarnation))
        .await
        .expect("register");
    let beat = HeartbeatRequest {
        broker_id: 1,
        incarnation_id: incarnation.to_vec(),
    };
    let answer = client
        .heartbeat(beat.clone())
        .await
        .expect("heartbeat")
        .into_inner();
    assert!(!answer.fenced);
    let created = client
        .create_topics(topic("events"))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.results[0].error, 0, "{:?}", created.results);

    // The committed records follow, in order, live.
    let mut kinds = Vec::new();
    while !kinds.contains(&"CreateTopic") {
        let event = tokio::time::timeout(WAIT, watch.message())
            .await
            .expect("in time")
            .expect("stream")
            .expect("an event");
        assert!(event.index > first.index);
        for bytes in &event.records {
            let record = MetadataRecord::from_bytes(bytes).expect("record");
            kinds.push(record.payload().expect("payload").kind());
        }
    }
    assert_eq!(kinds, ["RegisterBroker", "UnfenceBroker", "CreateTopic"]);

    // Silence: the broker is fenced and its partitions go offline.
    eventually("the silent broker to be fenced", || async {
        node.state()
            .metadata(|s| s.broker(1).is_some_and(|b| b.fenced))
            .then_some(())
    })
    .await;
    let status = client
        .status(StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.offline.len(), 2);
    // A heartbeat brings it back, with its partitions.
    client.heartbeat(beat).await.expect("heartbeat");
    assert!(
        node.state()
            .metadata(|s| s.offline_partitions().count() == 0)
    );

    // A watcher's image, built from the stream alone, equals the node's state.
    let mut watcher = MetaClient::new([node.address().to_owned()]);
    let (_, mut stream) = watcher.watch(0).await.expect("watch");
    let mut image = MetadataState::new();
    let want = node.state().metadata(MetadataState::to_snapshot_bytes);
    while image.to_snapshot_bytes() != want {
        let event = tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("in time")
            .expect("stream")
            .expect("an event");
        apply_watch_event(&mut image, &event).expect("event applies");
    }
    node.shutdown().await;
}

pub(super) async fn start_cluster(
    root: &std::path::Path,
    ids: &[u64],
    cluster: &str,
) -> Vec<MetaNode> {
    let peers: BTreeMap<u64, String> = (ids.iter())
        .map(|id| {
            (
                *id,
                format!("127.0.0.1:{}", chronik_test_support::free_port()),
            )
        })
        .collect();
    let mut nodes = Vec::new();
    for (id, address) in &peers {
        let mut cfg = NodeConfig::new(
            *id,
            address.parse().expect("addr"),
            root.join(format!("n{id}")),
        );
        cfg.peers = peers.clone();
        cfg.cluster_id = Some(cluster.into());
        nodes.push(MetaNode::start(cfg).await.expect("start"));
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_whose_session_stream_closes_is_fenced_long_before_its_session_runs_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listen = "127.0.0.1:0".parse().expect("addr");
    let mut cfg = NodeConfig::new(1, listen, dir.path().join("n1"));
    cfg.session_timeout = Duration::from_secs(600);
    let node = MetaNode::start(cfg).await.expect("start");
    leader_of(std::slice::from_ref(&node)).await;
    let address = node.local_addr().to_string();
    let mut client = connect(&address, None, WAIT).await.expect("connect");
    let beat = |id: i32, incarnation: [u8; 16]| HeartbeatRequest {
        broker_id: id,
        incarnation_id: incarnation.to_vec(),
    };
    let mut streams = Vec::new();
    for id in [1, 2] {
        let incarnation = rand::random::<[u8; 16]>();
        (client.register_broker(register(id, incarnation)).await).expect("register");
        (client.heartbeat(beat(id, incarnation)).await).expect("heartbeat");
        // Each stream on a connection of its own, as each broker process has.
        let mut own = connect(&address, None, WAIT).await.expect("connect");
        let stream = own.hold_session(beat(id, incarnation)).await;
        streams.push((own, stream.expect("hold session").into_inner()));
        if id == 2 {
            // Broker 2 opens a newer stream: closing the older one must not cost it anything.
            let mut newer = connect(&address, None, WAIT).await.expect("connect");
            let stream = newer.hold_session(beat(id, incarnation)).await;
            streams.push((newer, stream.expect("hold session").into_inner()));
        }
    }
    let unknown = client.hold_session(beat(3, [7; 16])).await;
    assert_eq!(
        unknown.expect_err("unknown broker").code(),
        tonic::Code::NotFound
    );

    // Broker 2's older stream goes first, then broker 1's only one: as if its process died.
    let newer_of_2 = streams.pop().expect("three streams");
    drop(streams.pop());
    drop(streams.pop());
    let fenced = |id| {
        node.state()
            .metadata(|s| s.broker(id).is_some_and(|b| b.fenced))
    };
    eventually("broker 1 fenced", || async { fenced(1).then_some(()) }).await;
    assert!(
        !fenced(2),
        "a broker whose newest stream is open was fenced"
    );
    drop(newer_of_2);
    eventually("broker 2 fenced", || async { fenced(2).then_some(()) }).await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_name_the_leader_and_strangers_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nodes = start_cluster(dir.path(), &[1, 2, 3], "blue").await;
    // A follower refuses writes and names the leader. An election under load can move the
    // leadership between finding the leader and asking a follower: then ask again.
    let (leader, follower) = eventually("a follower naming the leader", || async {
        let leader = leader_of(&nodes).await;
        let follower = nodes.iter().find(|n| n.id() != leader.id())?.clone();
        let mut direct = connect(follower.address(), None, WAIT).await.ok()?;
        let refused = direct.create_topics(topic("x")).await.err()?;
        let hint = (refused.metadata().get(LEADER_ADDRESS_HEADER)).and_then(|v| v.to_str().ok());
        (is_not_leader(&refused) && hint == Some(leader.address())).then_some((leader, follower))
    })
    .await;

    // The client follows the hint.
    let mut client = MetaClient::new([follower.address().to_owned()]);
    let incarnation = rand::random::<[u8; 16]>().to_vec();
    let reg = RegisterBrokerRequest {
        incarnation_id: incarnation,
        ..register(7, [0; 16])
    };
    client
        .call(|mut c| {
            let reg = reg.clone();
            async move { c.register_broker(reg).await }
        })
        .await
        .expect("register through a follower");
    assert_eq!(client.leader(), Some(leader.address()));

    // Raft traffic from another cluster, or garbage, is refused.
    let mut peer = RaftPeerClient::connect(format!("http://{}", follower.address()))
        .await
        .expect("connect");
    let envelope = |cluster: &str, message: Vec<u8>| RaftEnvelope {
        cluster_id: cluster.into(),
        from: leader.id(),
        to: follower.id(),
        message,
    };
    let stranger = tokio_stream::iter(vec![envelope("red", Vec::new())]);
    let err = peer.stream(stranger).await.expect_err("refused");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let garbage = tokio_stream::iter(vec![envelope("blue", vec![0xff; 8])]);
    let err = peer.stream(garbage).await.expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    for node in &nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voter_joins_and_leaves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut nodes = start_cluster(dir.path(), &[1, 2], "green").await;
    let leader = leader_of(&nodes).await;
    let mut cfg = NodeConfig::new(
        3,
        format!("127.0.0.1:{}", chronik_test_support::free_port())
            .parse()
            .expect("addr"),
        dir.path().join("n3"),
    );
    cfg.peers = nodes
        .iter()
        .map(|n| (n.id(), n.address().to_owned()))
        .collect();
    cfg.cluster_id = Some("green".into());
    let joiner = MetaNode::start(cfg).await.expect("start joiner");
    nodes.push(joiner.clone());

    let voters = leader
        .add_voter(3, joiner.address())
        .await
        .expect("add voter");
    assert_eq!(voters.len(), 3);
    eventually("the joiner to receive the state", || async {
        let status = joiner.raft().status().await.ok()?;
        let known = joiner.state().metadata(|s| s.cluster_id() == Some("green"));
        (known && status.voters == [1, 2, 3]).then_some(())
    })
    .await;
    assert_eq!(joiner.state().voter_addresses().len(), 3);

    let leader = leader_of(&nodes).await;
    let remove = if leader.id() == 3 { 1 } else { 3 };
    let voters = leader.remove_voter(remove).await.expect("remove voter");
    assert_eq!(voters.len(), 2);
    for node in &nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_share_raft_entries_and_stay_consistent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nodes = start_cluster(dir.path(), &[1, 2, 3], "batching").await;
    let leader = leader_of(&nodes).await;
    let mut client = connect(&leader.local_addr().to_string(), None, WAIT)
        .await
        .expect("connect");
    let incarnation = rand::random::<[u8; 16]>();
    client
        .register_broker(register(7, incarnation))
        .await
        .expect("register");
    let beat = HeartbeatRequest {
        broker_id: 7,
        incarnation_id: incarnation.to_vec(),
    };
    client.heartbeat(beat).await.expect("heartbeat unfences");
    let before = leader.raft().status().await.expect("status").commit_index;
    let writers: Vec<_> = (0..64)
        .map(|_| {
            let node = leader.clone();
            tokio::spawn(async move { node.allocate_producer_ids(7).await })
        })
        .collect();
    let mut firsts = Vec::new();
    for w in writers {
        firsts.push(w.await.expect("task").expect("allocate").0);
    }
    let after = leader.raft().status().await.expect("status").commit_index;
    firsts.sort_unstable();
    firsts.dedup();
    assert_eq!(firsts.len(), 64, "every writer got its own block");
    assert!(
        after - before < 64,
        "64 decisions took {} Raft entries: they were not batched",
        after - before
    );
    // Every voter applies the same state.
    let snapshot = leader.state().metadata(|s| s.to_snapshot_bytes());
    for node in &nodes {
        eventually("voters to converge", || async {
            (node.state().metadata(|s| s.to_snapshot_bytes()) == snapshot).then_some(())
        })
        .await;
    }
    for node in nodes {
        node.shutdown().await;
    }
}

/// A meta node that accepts connections and never answers (cut off by a one-way partition)
/// costs a heartbeat one bounded attempt, not its whole session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_passes_over_a_node_that_never_answers_within_its_budget() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let silent_addr = silent.local_addr().expect("addr").to_string();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let listen = "127.0.0.1:0".parse().expect("addr");
    let node = MetaNode::start(NodeConfig::new(1, listen, dir.path().join("n1")))
        .await
        .expect("start");
    leader_of(std::slice::from_ref(&node)).await;
    let mut client = MetaClient::new([silent_addr, node.address().to_owned()])
        .with_timeouts(Duration::from_millis(500), Duration::from_secs(1));
    for _ in 0..3 {
        let status = client
            .call(|mut c| async move { c.status(StatusRequest {}).await })
            .await
            .expect("the answering node is reached within the budget");
        assert_eq!(status.node_id, 1);
        assert_eq!(status.session_timeout_ms, 2_000);
    }
    held.abort();
}
