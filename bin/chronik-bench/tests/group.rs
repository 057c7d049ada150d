//! Consumer groups against a real broker: `chronik-bench consume --group` commits and resumes,
//! and `chronik-client`'s group member joins, syncs, heartbeats, rebalances and leaves.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chronik_client::{Client, ClientConfig, GroupConfig, GroupConsumer, Producer, ProducerConfig};
use serde_json::Value;
use support::{Broker, bench_command};

fn run_json(args: &[&str]) -> Value {
    let out = bench_command(args).output().expect("run chronik-bench");
    assert!(
        out.status.success(),
        "chronik-bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn records(v: &Value) -> f64 {
    v["records"]
        .as_f64()
        .unwrap_or_else(|| panic!("no records in {v}"))
}

#[test]
fn consume_with_a_group_commits_and_resumes_where_it_left() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "never");
    let addr = broker.addr();
    let base = [
        "--bootstrap",
        addr.as_str(),
        "--output",
        "json",
        "--topic",
        "g",
    ];
    let produce = |n: &str, create: &[&str]| {
        let args = [
            &["produce", "--records", n, "--record-size", "32"][..],
            create,
            &base,
        ]
        .concat();
        let p = run_json(&args);
        assert_eq!(p["records_failed"], 0, "{p}");
    };
    produce("300", &["--create", "--partitions", "3"]);
    let consume = ["consume", "--group", "bench-group", "--idle-ms", "15000"];
    let c = run_json(&[&consume[..], &["--records", "300"], &base].concat());
    assert_eq!(records(&c), 300.0, "{c}");
    assert_eq!(c["config"]["group"], "bench-group");
    produce("120", &[]);
    // A second member of the same group starts at the committed offsets: only the new records.
    // It joins at once because the first one left (else it would wait out a session timeout).
    let started = Instant::now();
    let c = run_json(&[&consume[..], &["--records", "120"], &base].concat());
    assert_eq!(
        records(&c),
        120.0,
        "resumed from the committed offsets: {c}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}

fn client(rt: &tokio::runtime::Runtime, addr: &str) -> Client {
    let mut cfg = ClientConfig::new(addr);
    cfg.request_timeout = Duration::from_secs(20);
    rt.block_on(Client::connect(cfg)).unwrap()
}

fn group_cfg() -> GroupConfig {
    GroupConfig {
        session_timeout: Duration::from_secs(6),
        rebalance_timeout: Duration::from_secs(10),
        heartbeat_interval: Duration::from_millis(200),
        ..Default::default()
    }
}

fn partitions(g: &GroupConsumer) -> BTreeSet<i32> {
    g.positions().keys().copied().collect()
}

#[test]
fn group_members_split_partitions_rebalance_and_leave() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "never");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let admin = client(&rt, &broker.addr());
    rt.block_on(admin.create_topic("r", 4, -1)).unwrap();
    let producer = rt
        .block_on(Producer::new(admin.clone(), ProducerConfig::default()))
        .unwrap();
    for i in 0..40 {
        let d = rt
            .block_on(producer.send("r", i % 4, None, Some(Bytes::from_static(b"x")), None))
            .unwrap();
        rt.block_on(d.wait()).unwrap();
    }

    // A alone gets every partition.
    let a = rt
        .block_on(GroupConsumer::join(
            client(&rt, &broker.addr()),
            "grp",
            "r",
            group_cfg(),
        ))
        .unwrap();
    assert_eq!(partitions(&a), BTreeSet::from([0, 1, 2, 3]));
    assert!(!a.member_id().is_empty());
    let first_generation = a.generation();

    // A keeps polling (its heartbeats learn of the rebalance) while B joins on its own connection.
    let stop = Arc::new(AtomicBool::new(false));
    let polling = {
        let stop = stop.clone();
        let mut a = a;
        rt.spawn(async move {
            let mut fetched = 0;
            while !stop.load(Ordering::Acquire) {
                for b in a.poll().await.expect("A polls through the rebalance") {
                    fetched += b.new_records();
                }
            }
            (a, fetched)
        })
    };
    let b = rt
        .block_on(GroupConsumer::join(
            client(&rt, &broker.addr()),
            "grp",
            "r",
            group_cfg(),
        ))
        .unwrap();
    stop.store(true, Ordering::Release);
    let (a, fetched) = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), polling).await })
        .expect("A's poll loop ends")
        .unwrap();
    assert!(fetched > 0, "A read records before the rebalance");
    assert!(b.generation() > first_generation, "a new generation");
    assert_eq!(
        a.generation(),
        b.generation(),
        "A rejoined the same generation"
    );
    let (pa, pb) = (partitions(&a), partitions(&b));
    assert_eq!(pa.len(), 2, "range: two partitions each: {pa:?} {pb:?}");
    assert!(pa.is_disjoint(&pb));
    assert_eq!(pa.union(&pb).count(), 4);

    // A leaves: B's heartbeat sees the rebalance and B takes every partition at once (without
    // the leave it would wait for A's 6 s session to expire).
    rt.block_on(a.close()).expect("A commits and leaves");
    let left = Instant::now();
    let mut b = b;
    while partitions(&b).len() < 4 {
        assert!(
            left.elapsed() < Duration::from_secs(5),
            "B still has {:?}",
            partitions(&b)
        );
        rt.block_on(b.poll()).expect("B polls");
    }
    rt.block_on(b.close()).expect("B commits and leaves");
}
