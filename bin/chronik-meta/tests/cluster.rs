//! A three-voter quorum as real processes: elections, replication, failover, restarts, status.

mod support;

use std::time::{Duration, Instant};

use support::{Cluster, create_topic, eventually, register_brokers, run_cli, topics_on};

const LEADER_DEADLINE: Duration = Duration::from_secs(3);
const CATCH_UP: Duration = Duration::from_secs(10);

fn others(cluster: &Cluster, except: u64) -> String {
    (cluster.nodes.iter())
        .filter(|n| n.id != except)
        .map(|n| n.address.clone())
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn three_voters_elect_replicate_fail_over_and_restart() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(3);
    let all = cluster.addresses();
    let started = Instant::now();
    cluster.start_all();
    let leader = cluster.wait_leader(&all, LEADER_DEADLINE + Duration::from_secs(2));
    assert!(started.elapsed() < LEADER_DEADLINE + Duration::from_secs(2));
    let doc = cluster.wait_status_code(&all, 0, CATCH_UP);
    assert_eq!(doc["cluster_id"], cluster.cluster_id.as_str());
    assert_eq!(doc["voters"].as_array().map(Vec::len), Some(3));

    // A write sent to a follower reaches the leader; every node applies it.
    register_brokers(&all, 3);
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    create_topic(&cluster.address(follower), "orders");
    for id in 1..=3 {
        let address = cluster.address(id);
        eventually("the topic on every node", CATCH_UP, || {
            (topics_on(&address) == ["orders"]).then_some(())
        });
    }
    let doc = cluster.wait_status_code(&all, 0, CATCH_UP);
    assert_eq!(doc["partitions"], 3);

    // SIGKILL the leader: a new one within the deadline, nothing committed lost.
    cluster.kill(leader);
    let killed_at = Instant::now();
    let survivors = others(&cluster, leader);
    let new_leader = cluster.wait_leader(&survivors, LEADER_DEADLINE);
    assert_ne!(new_leader, leader);
    eprintln!(
        "new leader {new_leader} {:?} after the kill",
        killed_at.elapsed()
    );
    assert!(
        killed_at.elapsed() <= LEADER_DEADLINE,
        "failover took {:?}",
        killed_at.elapsed()
    );
    assert_eq!(topics_on(&cluster.address(new_leader)), ["orders"]);
    create_topic(&survivors, "payments");
    let doc = cluster.wait_status_code(&all, 1, CATCH_UP);
    let down: Vec<u64> = (doc["voters"].as_array().into_iter().flatten())
        .filter(|v| v["reachable"] == false)
        .filter_map(|v| v["id"].as_u64())
        .collect();
    assert_eq!(down, [leader]);
    // The dead address in the list is reported, not fatal.
    assert_eq!(
        doc["unreachable"],
        serde_json::json!([cluster.address(leader)])
    );

    // The killed node restarts and catches up.
    cluster.start(leader);
    let restarted = cluster.address(leader);
    eventually("the restarted node to catch up", CATCH_UP, || {
        (topics_on(&restarted) == ["orders", "payments"]).then_some(())
    });
    cluster.wait_status_code(&all, 0, CATCH_UP);

    // Full-cluster restart keeps the state.
    for id in 1..=3 {
        cluster.kill(id);
    }
    cluster.start_all();
    cluster.wait_leader(&all, CATCH_UP);
    for id in 1..=3 {
        let address = cluster.address(id);
        eventually("state after a full restart", CATCH_UP, || {
            (topics_on(&address) == ["orders", "payments"]).then_some(())
        });
    }
    let doc = cluster.wait_status_code(&all, 0, CATCH_UP);
    assert_eq!(doc["topics"], 2);

    // Describe shows the placement; delete removes the topic everywhere.
    let out = run_cli(&[
        "topics", "describe", "orders", "--meta", &all, "--output", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let partitions = doc[0]["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 3);
    assert!(
        partitions
            .iter()
            .all(|p| p["isr"].as_array().map(Vec::len) == Some(3))
    );
    let out = run_cli(&["topics", "delete", "payments", "--meta", &all]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in 1..=3 {
        let address = cluster.address(id);
        eventually("the deletion on every node", CATCH_UP, || {
            (topics_on(&address) == ["orders"]).then_some(())
        });
    }

    // Two voters down: no quorum.
    let leader = cluster.wait_leader(&all, CATCH_UP);
    let keep = (1..=3).find(|id| *id != leader).expect("a follower");
    for id in (1..=3).filter(|id| *id != keep) {
        cluster.kill(id);
    }
    let doc = cluster.wait_status_code(&all, 2, CATCH_UP);
    assert!(doc["leader_id"].is_null());
}

#[test]
fn sigterm_hands_over_leadership_and_exits_cleanly() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(3);
    let all = cluster.addresses();
    cluster.start_all();
    let leader = cluster.wait_leader(&all, CATCH_UP);
    let metrics = eventually("metrics", CATCH_UP, || {
        support::http_get(&cluster.metrics_address(leader), "/metrics")
            .filter(|body| body.contains("chronik_meta_raft_is_leader 1"))
    });
    assert!(metrics.contains("chronik_meta_raft_term"), "{metrics}");
    let status = cluster.terminate(leader, Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}");
    let survivors = others(&cluster, leader);
    // Leadership was handed over, so no election timeout is needed.
    let new_leader = cluster.wait_leader(&survivors, Duration::from_secs(2));
    assert_ne!(new_leader, leader);
}

#[test]
fn wrong_cluster_id_is_refused() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(3);
    let all = cluster.addresses();
    cluster.start_all();
    cluster.wait_leader(&all, CATCH_UP);
    cluster.kill(3);

    // A data dir remembers its cluster: another id is an error at start.
    let out = cluster
        .command(3, "someone-else")
        .output()
        .expect("run node 3");
    assert_eq!(out.status.code(), Some(2));
    let log = std::fs::read_to_string(cluster.root.path().join("node3.log")).unwrap_or_default();
    assert!(log.contains("belongs to cluster"), "log: {log}");

    // A fresh node with another cluster id is refused by the peers and never joins.
    std::fs::remove_dir_all(&cluster.node(3).dir).expect("wipe node 3");
    let stranger = cluster
        .command(3, "someone-else")
        .spawn()
        .expect("spawn stranger");
    cluster.node(3).child = Some(stranger);
    eventually("the stranger to be refused", CATCH_UP, || {
        let text = std::fs::read_to_string(cluster.root.path().join("node1.log"))
            .unwrap_or_default()
            + &std::fs::read_to_string(cluster.root.path().join("node2.log")).unwrap_or_default();
        text.contains("another cluster refused").then_some(())
    });
    // Voter 3 is not part of the cluster any more: degraded, and its address is reported.
    let doc = cluster.wait_status_code(&all, 1, CATCH_UP);
    assert_eq!(doc["foreign"].as_array().map(Vec::len), Some(1), "{doc}");
    let (_, stranger) = cluster.status(&cluster.address(3));
    assert!(
        stranger["leader_id"].is_null(),
        "the stranger found a leader: {stranger}"
    );
}

#[test]
fn single_voter_without_peers_keeps_its_cluster_id() {
    let _serial = support::serial();
    let root = tempfile::tempdir().expect("temp dir");
    let address = format!("127.0.0.1:{}", support::free_port());
    let spawn = || {
        std::process::Command::new(support::BIN)
            .args(["run", "--id", "1", "--listen", &address])
            .arg("--data-dir")
            .arg(root.path().join("data"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let status = |address: &str| {
        let out = support::run_cli(&["status", "--meta", address, "--output", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out.status.code(), doc)
    };
    let mut child = KillOnDrop(spawn());
    let (_, doc) = eventually("a single-voter leader", LEADER_DEADLINE, || {
        let (code, doc) = status(&address);
        (code == Some(0)).then_some((code, doc))
    });
    let cluster_id = doc["cluster_id"].as_str().expect("a cluster id").to_owned();
    assert_eq!(doc["leader_id"], 1);
    let _ = child.0.kill();
    let _ = child.0.wait();
    child = KillOnDrop(spawn());
    let doc = eventually("the restarted voter", LEADER_DEADLINE, || {
        let (code, doc) = status(&address);
        (code == Some(0)).then_some(doc)
    });
    assert_eq!(doc["cluster_id"], cluster_id.as_str());
    drop(child);
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn members_add_and_remove_a_voter() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(3);
    let initial = cluster.addresses();
    cluster.start_all();
    cluster.wait_leader(&initial, CATCH_UP);
    let joiner = cluster.add_node();
    cluster.start(joiner);
    let address = cluster.address(joiner);
    let id = joiner.to_string();
    let out = run_cli(&[
        "members",
        "add",
        "--meta",
        &initial,
        "--id",
        &id,
        "--address",
        &address,
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["voters"].as_array().map(Vec::len), Some(4));
    let doc = eventually("four healthy voters", CATCH_UP, || {
        let (code, doc) = cluster.status(&initial);
        let caught_up = (doc["voters"].as_array().into_iter().flatten())
            .any(|v| v["id"] == joiner && v["applied_index"].as_u64() > Some(1));
        (code == 0 && caught_up).then_some(doc)
    });
    assert_eq!(doc["voters"].as_array().map(Vec::len), Some(4));

    let out = run_cli(&["members", "remove", "--meta", &initial, "--id", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = cluster.wait_status_code(&initial, 0, CATCH_UP);
    assert_eq!(doc["voters"].as_array().map(Vec::len), Some(3));
}
