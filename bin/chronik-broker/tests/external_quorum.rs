//! A broker on an external metadata quorum (`--meta`): topics, configs and producer ids go
//! through the quorum's controller over gRPC, the broker follows its records, and a restarted
//! broker registers again once its previous session has expired.

mod admin_support;
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use admin_support::{config_value, set};
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId,
};
use chronik_records::build_batch;
use common::meta::start_meta;
use common::ops::*;
use common::{BrokerProc, eventually, wait_until};

#[test]
fn a_broker_on_an_external_quorum_serves_and_survives_a_restart() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start_meta(&rt, dir.path());
    let meta = node.local_addr().to_string();
    let args = ["--meta", meta.as_str(), "--id", "4", "--fsync", "always"];
    let mut broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let md = metadata(&mut c, None, false);
    let cluster_id = md.cluster_id.as_ref().map(|id| id.to_string());
    assert_eq!(cluster_id.as_deref(), Some(node.cluster_id()), "our quorum");
    assert_eq!(md.brokers[0].node_id.0, 4);

    assert_eq!(create_topic(&mut c, "ext", 2), 0);
    let in_quorum = node
        .state()
        .metadata(|s| s.topic_by_name("ext").map(|t| t.partitions.len()));
    assert_eq!(in_quorum, Some(2), "the topic lives in the quorum");
    for i in 0..3 {
        let p = produce(
            &mut c,
            "ext",
            1,
            build_batch(&[b"v"], 1_700_000_000_000 + i),
        );
        assert_eq!((p.error_code, p.base_offset), (0, i));
    }
    set(&mut c, "ext", "retention.bytes", "1048576");
    let stored = node.state().metadata(|s| {
        s.topic_by_name("ext")
            .and_then(|t| t.configs.get("retention.bytes").cloned())
    });
    assert_eq!(stored.as_deref(), Some("1048576"));
    let req = InitProducerIdRequest::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let ids: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &req);
    assert_eq!(ids.error_code, 0);
    assert!(
        !dir.path().join("data").join("meta").exists(),
        "no embedded quorum"
    );

    assert!(broker.terminate().success());
    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let md = metadata(&mut c, Some(&["ext"]), false);
    assert_eq!(md.topics[0].partitions[1].leader_id.0, 4, "leads again");
    let p = produce(&mut c, "ext", 1, build_batch(&[b"w"], 1_700_000_000_003));
    assert_eq!((p.error_code, p.base_offset), (0, 3));
    assert_eq!(fetch(&mut c, "ext", 1, 0, 0).high_watermark, 4);
    assert_eq!(config_value(&mut c, "ext", "retention.bytes").0, "1048576");
    rt.block_on(node.shutdown());
}

#[test]
fn an_unreachable_quorum_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = format!("127.0.0.1:{}", common::free_port());
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
        .args(["--meta", &dead, "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .expect("run chronik-broker");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot reach the metadata quorum"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn data_of_topics_deleted_while_the_broker_was_down_is_never_served() {
    use chronik_metadata::node::NewTopicSpec;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start_meta(&rt, dir.path());
    let meta = node.local_addr().to_string();
    let args = ["--meta", meta.as_str(), "--id", "2", "--fsync", "always"];
    let mut broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    for name in ["reborn", "gone"] {
        assert_eq!(create_topic(&mut c, name, 1), 0);
        let p = produce(&mut c, name, 0, build_batch(&[b"old"], 1_700_000_000_000));
        assert_eq!(p.error_code, 0);
    }
    // SIGKILL, not SIGTERM: a controlled shutdown fences the broker at once, and the
    // controller places no new topic on a fenced broker. Killed, it stays registered until its
    // session expires, long after the changes below.
    broker.kill9();

    // While the broker is down: one topic is deleted and created again, one only deleted.
    let spec = |name: &str| NewTopicSpec {
        name: name.to_owned(),
        partitions: 1,
        replication_factor: 1,
        configs: Default::default(),
        assignment: Vec::new(),
    };
    rt.block_on(node.delete_topic("reborn"))
        .expect("delete reborn");
    rt.block_on(node.create_topic(spec("reborn")))
        .expect("create reborn again");
    rt.block_on(node.delete_topic("gone")).expect("delete gone");

    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let f = fetch(&mut c, "reborn", 0, 0, 0);
    assert_eq!(
        (f.error_code, f.high_watermark),
        (0, 0),
        "the new topic starts empty"
    );
    let gone = dir.path().join("data").join("partitions").join("gone-0");
    wait_until(
        "the deleted topic's data to go",
        Duration::from_secs(20),
        || !gone.exists(),
    );
    rt.block_on(node.shutdown());
}

/// `chronik-broker status --output json` against `bootstrap`: (exit code, document).
fn status(bootstrap: &str) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
        .args(["status", "--output", "json", "--bootstrap", bootstrap])
        .output()
        .expect("run chronik-broker status");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), doc)
}

#[test]
fn two_brokers_share_a_quorum_and_a_dead_one_leaves_its_partitions_offline() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start_meta(&rt, dir.path());
    let meta = node.local_addr().to_string();
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&dir_a, &dir_b] {
        std::fs::create_dir_all(d).expect("broker dir");
    }
    let a = BrokerProc::start(&dir_a, &["--meta", meta.as_str(), "--id", "1"]);
    let mut b = BrokerProc::start(&dir_b, &["--meta", meta.as_str(), "--id", "2"]);
    let mut c = a.client();
    assert_eq!(create_topic(&mut c, "spread", 4), 0);
    let md = metadata(&mut c, Some(&["spread"]), false);
    assert_eq!(md.brokers.len(), 2, "both brokers are listed");
    let leaders: Vec<i32> = md.topics[0]
        .partitions
        .iter()
        .map(|p| p.leader_id.0)
        .collect();
    assert!(
        leaders.contains(&1) && leaders.contains(&2),
        "leaders {leaders:?}"
    );
    let on_a = leaders
        .iter()
        .position(|l| *l == 1)
        .expect("a partition on a") as i32;
    let (code, doc) = status(&a.addr.to_string());
    assert_eq!(code, Some(0), "{doc}");

    b.kill9();
    // The controller fences b once its session expires; its partitions have no live replica.
    let doc = eventually(
        "status to report offline partitions",
        Duration::from_secs(30),
        || {
            let (code, doc) = status(&a.addr.to_string());
            (code == Some(1)).then_some(doc)
        },
    );
    let offline = leaders.iter().filter(|l| **l == 2).count();
    assert_eq!(doc["offline_partitions"], offline, "{doc}");
    // The surviving broker still serves its own partitions.
    let p = produce(
        &mut c,
        "spread",
        on_a,
        build_batch(&[b"still"], 1_700_000_000_000),
    );
    assert_eq!(p.error_code, 0);
    rt.block_on(node.shutdown());
}
