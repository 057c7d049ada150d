//! `chronik-bench produce/consume/e2e` and `chronik-client` against a real broker process.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chronik_client::{
    Acks, Client, ClientConfig, Consumer, ConsumerConfig, Producer, ProducerConfig, StartAt,
};
use serde_json::Value;
use support::{Broker, bench_command, eventually};

fn run_json(args: &[&str]) -> Value {
    let out = bench_command(args).output().expect("run chronik-bench");
    assert!(
        out.status.success(),
        "chronik-bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn n(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

/// Every percentile is positive and ordered, and none exceeds the max.
fn check_latency(v: &Value) {
    let q: Vec<f64> = ["p50", "p95", "p99", "p999", "max"]
        .iter()
        .map(|k| n(v, &format!("/latency_ms/{k}")))
        .collect();
    assert!(q[0] > 0.0, "{v}");
    assert!(
        q.windows(2).all(|w| w[0] <= w[1]),
        "quantiles out of order: {v}"
    );
}

#[test]
fn produce_consume_and_e2e_reports_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "never");
    let addr = broker.addr();
    let base = ["--bootstrap", addr.as_str(), "--output", "json"];

    let args = [
        "produce",
        "--topic",
        "p",
        "--create",
        "--partitions",
        "3",
        "--records",
        "3000",
        "--record-size",
        "64",
        "--acks",
        "all",
        "--concurrency",
        "4",
    ];
    let p = run_json(&[&args[..], &base].concat());
    assert_eq!(n(&p, "/records") + n(&p, "/records_failed"), 3000.0, "{p}");
    assert_eq!(n(&p, "/records_failed"), 0.0);
    assert_eq!(p["errors"], serde_json::json!({}));
    assert_eq!(n(&p, "/bytes"), 3000.0 * 64.0);
    assert!(n(&p, "/records_per_sec") > 0.0 && n(&p, "/mb_per_sec") > 0.0);
    check_latency(&p);

    // 16 clients, each one record at a time waiting for its ack, gzip and idempotent.
    let args = [
        "produce",
        "--topic",
        "p",
        "--records",
        "400",
        "--record-size",
        "64",
        "--acks",
        "all",
        "--concurrency",
        "16",
        "--in-flight",
        "1",
        "--idempotent",
        "--compression",
        "gzip",
    ];
    let q = run_json(&[&args[..], &base].concat());
    assert_eq!(n(&q, "/records"), 400.0, "{q}");
    check_latency(&q);

    // acks=0: no answers; the consume below shows every record arrived.
    let args = ["produce", "--topic", "p", "--records", "600", "--acks", "0"];
    let z = run_json(&[&args[..], &base].concat());
    assert_eq!(n(&z, "/records"), 600.0, "{z}");

    let c = run_json(&[&["consume", "--topic", "p", "--records", "4000"][..], &base].concat());
    assert_eq!(n(&c, "/records"), 4000.0, "consumed = produced: {c}");
    assert!(n(&c, "/bytes") > 0.0);
    check_latency(&c);

    let args = [
        "e2e",
        "--topic",
        "e",
        "--create",
        "--rate",
        "400",
        "--duration",
        "2",
    ];
    let e = run_json(&[&args[..], &base].concat());
    assert_eq!(n(&e, "/records"), n(&e, "/config/acked"), "{e}");
    assert_eq!(n(&e, "/records"), 800.0, "{e}");
    assert_eq!(n(&e, "/records_failed"), 0.0);
    check_latency(&e);
}

#[test]
fn a_broker_killed_mid_run_fails_the_bench_fast_with_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), "never");
    let args = [
        "produce",
        "--bootstrap",
        &broker.addr(),
        "--topic",
        "k",
        "--create",
        "--duration",
        "120",
        "--acks",
        "1",
        "--timeout-ms",
        "2000",
        "--output",
        "json",
    ];
    let child = bench_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chronik-bench");
    // Kill only once records are landing, seen from the broker's own log end offset.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt
        .block_on(Client::connect(ClientConfig::new(&broker.addr())))
        .unwrap();
    eventually("records on the broker", Duration::from_secs(30), || {
        rt.block_on(chronik_client::list_offset(&client, "k", 0, -1))
            .ok()
            .filter(|o| *o > 1000)
    });
    let killed = Instant::now();
    broker.kill9();
    let out = child.wait_with_output().expect("bench exit");
    let took = killed.elapsed();
    assert!(
        !out.status.success(),
        "the bench must fail when the broker dies"
    );
    assert!(
        took < Duration::from_secs(15),
        "exit took {took:?}, timeout was 2 s"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON even on failure");
    let errors = v["errors"].as_object().expect("errors map");
    assert!(!errors.is_empty(), "{v}");
    let failed: f64 = errors.values().filter_map(Value::as_f64).sum();
    assert_eq!(failed, n(&v, "/records_failed"), "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in errors.keys() {
        assert!(
            stderr.contains(name.as_str()),
            "stderr names {name}: {stderr}"
        );
    }
}

#[test]
fn an_idempotent_producer_writes_every_record_once_across_a_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut broker = Broker::start(dir.path(), "always");
    let port = broker.port;
    let mut cfg = ClientConfig::new(&broker.addr());
    cfg.request_timeout = Duration::from_secs(5);
    let client = rt.block_on(Client::connect(cfg)).unwrap();
    rt.block_on(client.create_topic("idem", 1, -1)).unwrap();
    let producer_cfg = ProducerConfig {
        acks: Acks::All,
        idempotent: true,
        batch_size: 0,
        delivery_timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let producer = rt
        .block_on(Producer::new(client.clone(), producer_cfg))
        .unwrap();
    const TOTAL: u32 = 1000;
    let mut deliveries = Vec::new();
    for i in 0..TOTAL {
        let value = Bytes::from(i.to_be_bytes().to_vec());
        let d = rt
            .block_on(producer.send("idem", 0, None, Some(value), None))
            .unwrap();
        deliveries.push(d);
    }
    // Kill while batches are in flight (some written but unacknowledged), then restart.
    let at_kill = eventually("some records acknowledged", Duration::from_secs(30), || {
        rt.block_on(chronik_client::list_offset(&client, "idem", 0, -1))
            .ok()
            .filter(|o| *o >= 50)
    });
    broker.kill9();
    assert!(at_kill < i64::from(TOTAL), "the kill must land mid-stream");
    let _restarted = Broker::start_on(dir.path(), "always", port);
    let offsets: Vec<i64> = deliveries
        .into_iter()
        .map(|d| {
            rt.block_on(d.wait())
                .expect("every record acknowledged after the restart")
                .offset()
                .expect("a real offset, never a made-up one")
        })
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1),
        "offsets in order: {offsets:?}"
    );

    let check = client.clone();
    let mut consumer = rt
        .block_on(Consumer::new(
            client,
            "idem",
            None,
            StartAt::Earliest,
            ConsumerConfig::default(),
        ))
        .unwrap();
    let mut values = Vec::new();
    eventually("every record fetched", Duration::from_secs(30), || {
        for b in rt.block_on(consumer.poll()).ok()? {
            for r in chronik_client::records::records(&b).unwrap() {
                let v = r.value.expect("a value");
                values.push(u32::from_be_bytes(v[..4].try_into().unwrap()));
            }
        }
        (values.len() >= TOTAL as usize).then_some(())
    });
    assert_eq!(
        values,
        (0..TOTAL).collect::<Vec<_>>(),
        "each record exactly once, in order"
    );
    let end = rt
        .block_on(chronik_client::list_offset(&check, "idem", 0, -1))
        .unwrap();
    assert_eq!(end, i64::from(TOTAL), "nothing was written twice");
}

#[test]
fn transactional_producers_commit_every_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "never");
    let addr = broker.addr();
    let args = [
        "produce",
        "--bootstrap",
        addr.as_str(),
        "--output",
        "json",
        "--topic",
        "t",
        "--create",
        "--partitions",
        "4",
        "--records",
        "3000",
        "--acks",
        "all",
        "--idempotent",
        "--concurrency",
        "2",
        "--transaction-records",
        "500",
    ];
    let r = run_json(&args);
    assert_eq!(n(&r, "/records"), 3000.0, "{r}");
    // Each producer commits every 500 of its records and once more at the end.
    let txns = n(&r, "/transactions");
    assert!((6.0..=8.0).contains(&txns), "{r}");
    assert!(n(&r, "/commit_latency_ms/p50") > 0.0, "{r}");
    check_latency(&r);

    let out = bench_command(&["produce", "--bootstrap", addr.as_str(), "--topic", "t"])
        .args(["--records", "10", "--transaction-records", "5"])
        .output()
        .expect("run chronik-bench");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--transaction-records needs --idempotent"),
        "{err}"
    );
}
