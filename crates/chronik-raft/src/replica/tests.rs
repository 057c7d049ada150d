use raft::Storage;
use raft::eraftpb::{Message, MessageType};

use super::{MembershipChange, Replica, Role};
use crate::sim::{EventSink, SimMachine};
use crate::{ApplyOutcome, LogStore, MemLogStore, RaftError, ReplicaConfig, bootstrap_snapshot};

type TestReplica = Replica<MemLogStore, SimMachine>;

fn boot_store(voters: &[u64]) -> MemLogStore {
    let mut store = MemLogStore::new();
    let empty = [0u8; 24].to_vec();
    store
        .apply_snapshot(bootstrap_snapshot(voters, empty))
        .unwrap();
    store.sync().unwrap();
    store
}

fn replica(id: u64, store: MemLogStore) -> TestReplica {
    let mut cfg = ReplicaConfig::new(id);
    cfg.snapshot_interval = 50;
    cfg.retained_entries = 10;
    Replica::new(cfg, store, SimMachine::new(id, EventSink::default())).unwrap()
}

fn single_leader() -> TestReplica {
    let mut node = replica(1, boot_store(&[1]));
    node.campaign().unwrap();
    node.process_ready().unwrap();
    assert_eq!(node.status().role, Role::Leader);
    node
}

#[test]
fn restart_restores_snapshot_and_replays_the_log() {
    let mut node = single_leader();
    let mut results = Vec::new();
    for i in 0..120u64 {
        node.propose(format!("cmd-{i}").into_bytes(), i).unwrap();
        let out = node.process_ready().unwrap();
        assert!(out.messages.is_empty(), "a single voter sends nothing");
        results.extend(out.applied);
    }
    assert_eq!(results.len(), 120);
    assert!(
        results
            .iter()
            .enumerate()
            .all(|(i, a)| a.request_id == i as u64)
    );
    let store = node.store().clone();
    assert!(store.is_synced());
    assert!(
        store.first_index().unwrap() > 2,
        "the log was never compacted"
    );
    assert!(store.last_snapshot().unwrap().get_metadata().index > 1);

    let before = (node.machine().state(), node.status().applied_index);
    let mut reborn = replica(1, store);
    reborn.process_ready().unwrap();
    assert_eq!(
        (reborn.machine().state(), reborn.status().applied_index),
        before
    );
}

#[test]
fn follower_refuses_proposals_and_network_proposals() {
    let mut node = replica(2, boot_store(&[1, 2, 3]));
    let err = node.propose(b"x".to_vec(), 1).unwrap_err();
    assert!(
        matches!(err, RaftError::NotLeader { leader_id: None }),
        "{err}"
    );
    let mut msg = Message::default();
    msg.set_msg_type(MessageType::MsgPropose);
    msg.to = 2;
    assert!(matches!(
        node.step(msg.clone()),
        Err(RaftError::ForbiddenMessage(_))
    ));
    msg.to = 5;
    assert!(matches!(
        node.step(msg),
        Err(RaftError::Misrouted { to: 5, local: 2 })
    ));
}

#[test]
fn one_membership_change_at_a_time() {
    let mut node = single_leader();
    node.propose_conf_change(MembershipChange::AddVoter(2), 10)
        .unwrap();
    let second = node.propose_conf_change(MembershipChange::AddVoter(3), 11);
    assert!(matches!(second, Err(RaftError::ConfChangeRejected { .. })));
    let out = node.process_ready().unwrap();
    let applied = out.applied.iter().find(|a| a.request_id == 10).unwrap();
    match &applied.outcome {
        ApplyOutcome::Membership(conf) => assert_eq!(conf.voters.len(), 2),
        other => panic!("unexpected outcome {other:?}"),
    }
    assert_eq!(node.status().voters, vec![1, 2]);
    let again = node.propose_conf_change(MembershipChange::AddVoter(2), 12);
    assert!(matches!(again, Err(RaftError::ConfChangeRejected { .. })));
}

#[test]
fn empty_proposals_and_bad_configs_are_refused() {
    let mut node = single_leader();
    assert!(matches!(
        node.propose(Vec::new(), 1),
        Err(RaftError::EmptyProposal)
    ));
    let mut cfg = ReplicaConfig::new(1);
    cfg.election_tick = 1;
    let machine = SimMachine::new(1, EventSink::default());
    assert!(matches!(
        Replica::new(cfg, MemLogStore::new(), machine),
        Err(RaftError::Config(_))
    ));
}
