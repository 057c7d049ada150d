//! A voter that was down while the log was compacted catches up through a snapshot, as a real
//! process, and ends with the same state as the leader.

mod support;

use std::time::Duration;

use chronik_metadata::ErrorKind;
use chronik_metadata::grpc::MetaClient;
use chronik_metadata::grpc::pb::{CreateTopicsRequest, TopicSpec};
use serde_json::Value;
use support::{Cluster, eventually, register_brokers, topics_on};

const DEADLINE: Duration = Duration::from_secs(20);
const SNAPSHOT_ENTRIES: u64 = 50;
const TOPICS: usize = 200;

/// The status entry of voter `id`, as field `key`.
fn voter_field(doc: &Value, id: u64, key: &str) -> Option<u64> {
    (doc["voters"].as_array().into_iter().flatten())
        .find(|v| v["id"] == id)
        .and_then(|v| v[key].as_u64())
}

/// Creates `names` one request each (one Raft entry each) through any of `addresses`.
fn create_topics(addresses: &str, names: &[String]) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut client = MetaClient::new(addresses.split(',').map(str::to_owned));
        for name in names {
            let request = CreateTopicsRequest {
                topics: vec![TopicSpec {
                    name: name.clone(),
                    partitions: 1,
                    replication_factor: 2,
                    configs: Default::default(),
                    assignment: Vec::new(),
                }],
            };
            let response = client
                .call(|mut c| {
                    let r = request.clone();
                    async move { c.create_topics(r).await }
                })
                .await
                .expect("create topic");
            // TopicExists: a retry after a timeout found our own earlier try.
            assert!(
                response
                    .results
                    .iter()
                    .all(|r| matches!(r.error(), ErrorKind::None | ErrorKind::TopicExists)),
                "{:?}",
                response.results
            );
        }
    });
}

#[test]
fn a_restarted_voter_catches_up_through_a_snapshot() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(3);
    (cluster.extra).extend(["--snapshot-entries".into(), SNAPSHOT_ENTRIES.to_string()]);
    let all = cluster.addresses();
    cluster.start_all();
    let leader = cluster.wait_leader(&all, DEADLINE);
    register_brokers(&all, 3);
    let lagger = (1..=3).find(|id| *id != leader).expect("a follower");

    // Where the lagging voter stops: caught up with the leader at the moment of the kill.
    let stopped_at = eventually("the follower to catch up before the kill", DEADLINE, || {
        let (_, doc) = cluster.status(&all);
        let own = voter_field(&doc, lagger, "applied_index")?;
        (Some(own) == voter_field(&doc, leader, "applied_index")).then_some(own)
    });
    cluster.kill(lagger);
    let survivors: String = (cluster.nodes.iter())
        .filter(|n| n.id != lagger)
        .map(|n| n.address.clone())
        .collect::<Vec<_>>()
        .join(",");
    let names: Vec<String> = (0..TOPICS).map(|i| format!("topic-{i:04}")).collect();
    create_topics(&survivors, &names);

    // The leader compacted well past where the lagging voter stopped.
    let (_, doc) = cluster.status(&survivors);
    let leader = doc["leader_id"].as_u64().expect("a leader");
    let leader_snapshot = voter_field(&doc, leader, "snapshot_index").expect("snapshot index");
    assert!(
        leader_snapshot > stopped_at + 2 * SNAPSHOT_ENTRIES,
        "leader snapshot {leader_snapshot}, follower stopped at {stopped_at}"
    );

    cluster.start(lagger);
    let doc = eventually("the restarted voter to reach the leader", DEADLINE, || {
        let (_, doc) = cluster.status(&all);
        let own = voter_field(&doc, lagger, "applied_index")?;
        let target = voter_field(&doc, leader, "applied_index")?;
        (own >= target).then_some(doc)
    });
    let installed = voter_field(&doc, lagger, "snapshots_installed").expect("counter");
    let snapshot = voter_field(&doc, lagger, "snapshot_index").expect("snapshot index");
    eprintln!(
        "voter {lagger} stopped at {stopped_at}; installed {installed} snapshot(s), latest at \
         {snapshot}; leader snapshot at {leader_snapshot}"
    );
    assert!(installed >= 1, "no snapshot was installed: {doc}");
    assert!(
        snapshot > stopped_at + SNAPSHOT_ENTRIES,
        "snapshot {snapshot} is not past where the voter stopped ({stopped_at})"
    );
    let expected = topics_on(&cluster.address(leader));
    assert_eq!(expected.len(), TOPICS);
    assert_eq!(topics_on(&cluster.address(lagger)), expected);
    cluster.wait_status_code(&all, 0, DEADLINE);
}
