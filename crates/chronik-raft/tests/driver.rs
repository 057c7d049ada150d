//! The async driver over an in-process channel transport, on tokio's paused clock: time only
//! moves when every task is idle, so elections and heartbeats behave the same on a busy machine.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chronik_raft::{
    DriverConfig, LogStore, MemLogStore, MembershipChange, NodeHandle, QueueTransport, RaftError,
    Replica, ReplicaConfig, Result, Role, StateMachine, TickSource, bootstrap_snapshot, spawn_node,
};

type Applied = Arc<Mutex<Vec<Vec<u8>>>>;

/// Records every applied command; the result is the number of commands applied so far.
struct Recorder {
    applied: Applied,
}

impl StateMachine for Recorder {
    fn apply(&mut self, _index: u64, command: &[u8]) -> Vec<u8> {
        let mut applied = self.applied.lock().unwrap();
        applied.push(command.to_vec());
        (applied.len() as u64).to_le_bytes().to_vec()
    }

    fn snapshot(&self) -> Vec<u8> {
        let applied = self.applied.lock().unwrap();
        let mut out = Vec::new();
        for cmd in applied.iter() {
            out.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
            out.extend_from_slice(cmd);
        }
        out
    }

    fn restore(&mut self, mut snapshot: &[u8]) -> Result<()> {
        let mut commands = Vec::new();
        while snapshot.len() >= 4 {
            let len = u32::from_le_bytes(snapshot[..4].try_into().unwrap()) as usize;
            let end = 4 + len;
            let body = snapshot
                .get(4..end)
                .ok_or_else(|| RaftError::InvalidSnapshot("command runs past the end".into()))?;
            commands.push(body.to_vec());
            snapshot = &snapshot[end..];
        }
        *self.applied.lock().unwrap() = commands;
        Ok(())
    }
}

struct TestCluster {
    handles: Vec<NodeHandle>,
    applied: Vec<Applied>,
}

/// Starts `ids` as one cluster whose transports forward into each other's handles.
fn start(ids: &[u64], tick: TickSource) -> TestCluster {
    let mut handles = Vec::new();
    let mut transports = Vec::new();
    let mut applied = Vec::new();
    for &id in ids {
        let log: Applied = Arc::default();
        let mut store = MemLogStore::new();
        store
            .apply_snapshot(bootstrap_snapshot(ids, Vec::new()))
            .unwrap();
        store.sync().unwrap();
        let machine = Recorder {
            applied: Arc::clone(&log),
        };
        let replica = Replica::new(ReplicaConfig::new(id), store, machine).unwrap();
        let transport = QueueTransport::new(1024);
        let cfg = DriverConfig {
            tick,
            ..DriverConfig::default()
        };
        handles.push(spawn_node(replica, transport.clone(), cfg).expect("driver started"));
        transports.push(transport);
        applied.push(log);
    }
    for (from, transport) in transports.iter().enumerate() {
        for (to, &peer) in ids.iter().enumerate() {
            if from == to {
                continue;
            }
            let mut queue = transport.add_peer(peer);
            let target = handles[to].clone();
            tokio::spawn(async move {
                while let Some(msg) = queue.recv().await {
                    if target.step(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
    TestCluster { handles, applied }
}

/// Polls `check` on the simulated clock until it holds; panics after 60 simulated seconds.
async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let timeout = Duration::from_secs(60);
    chronik_test_support::eventually_async(what, timeout, || {
        let ready = check();
        async move { ready.await.then_some(()) }
    })
    .await;
}

impl TestCluster {
    /// Index into `handles` of the current leader, once there is exactly one.
    async fn leader(&self) -> Option<usize> {
        let mut leaders = Vec::new();
        for (i, handle) in self.handles.iter().enumerate() {
            if let Ok(status) = handle.status().await
                && status.role == Role::Leader
            {
                leaders.push(i);
            }
        }
        (leaders.len() == 1).then(|| leaders[0])
    }

    async fn wait_leader(&self) -> usize {
        wait_for("a leader", || async { self.leader().await.is_some() }).await;
        self.leader().await.unwrap()
    }

    fn applied(&self, node: usize) -> Vec<Vec<u8>> {
        self.applied[node].lock().unwrap().clone()
    }
}

#[tokio::test(start_paused = true)]
async fn driver_three_nodes_elect_commit_and_apply_everywhere() {
    let cluster = start(&[1, 2, 3], TickSource::Interval(Duration::from_millis(100)));
    let leader = cluster.wait_leader().await;
    let mut expected = Vec::new();
    for i in 0..20u64 {
        let command = format!("cmd-{i}").into_bytes();
        let result = cluster.handles[leader]
            .propose(command.clone())
            .await
            .unwrap();
        expected.push(command);
        assert_eq!(result, (expected.len() as u64).to_le_bytes().to_vec());
    }
    wait_for("all nodes to apply every command", || async {
        (0..3).all(|n| cluster.applied(n) == expected)
    })
    .await;
    let status = cluster.handles[leader].status().await.unwrap();
    assert_eq!(status.voters, vec![1, 2, 3]);
    assert_eq!(status.commit_index, status.applied_index);
}

#[tokio::test(start_paused = true)]
async fn driver_follower_refuses_proposals_and_names_the_leader() {
    let cluster = start(&[1, 2, 3], TickSource::Interval(Duration::from_millis(100)));
    let leader = cluster.wait_leader().await;
    let leader_id = cluster.handles[leader].status().await.unwrap().id;
    let follower = (leader + 1) % 3;
    wait_for("the follower to learn the leader", || async {
        cluster.handles[follower].status().await.unwrap().leader_id == Some(leader_id)
    })
    .await;
    match cluster.handles[follower].propose(b"x".to_vec()).await {
        Err(RaftError::NotLeader { leader_id: hint }) => assert_eq!(hint, Some(leader_id)),
        other => panic!("expected NotLeader, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn driver_removes_a_voter_then_shuts_down() {
    let cluster = start(&[1, 2, 3], TickSource::Interval(Duration::from_millis(100)));
    let leader = cluster.wait_leader().await;
    let leader_id = cluster.handles[leader].status().await.unwrap().id;
    let gone = if leader_id == 3 { 2 } else { 3 };
    let conf = cluster.handles[leader]
        .change_membership(MembershipChange::RemoveVoter(gone))
        .await
        .unwrap();
    let mut voters = conf.voters.clone();
    voters.sort_unstable();
    assert!(
        !voters.contains(&gone) && voters.len() == 2,
        "voters {voters:?}"
    );
    cluster.handles[leader]
        .propose(b"after".to_vec())
        .await
        .unwrap();

    for handle in &cluster.handles {
        handle.shutdown();
        handle.stopped().await;
    }
    let late = cluster.handles[leader].propose(b"late".to_vec()).await;
    assert!(matches!(late, Err(RaftError::Shutdown)), "got {late:?}");
}

#[tokio::test(start_paused = true)]
async fn driver_single_node_with_manual_ticks() {
    let cluster = start(&[7], TickSource::Manual);
    let node = &cluster.handles[0];
    node.campaign().await.unwrap();
    wait_for("the single voter to lead", || async {
        node.status().await.unwrap().role == Role::Leader
    })
    .await;
    let result = node.propose(b"solo".to_vec()).await.unwrap();
    assert_eq!(result, 1u64.to_le_bytes().to_vec());
    assert!(matches!(
        node.propose(Vec::new()).await,
        Err(RaftError::EmptyProposal)
    ));
    for _ in 0..30 {
        node.tick().await.unwrap();
    }
    assert_eq!(node.status().await.unwrap().role, Role::Leader);
}
