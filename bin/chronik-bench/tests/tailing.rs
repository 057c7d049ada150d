//! Consumers tailing the head of an acks=all stream get every acknowledged record, round after
//! round. The broker (`--fsync always`) runs a retention pass every 100 ms at the default
//! `retention.ms` (7 days): a record stamped with a time long past is deleted at the next pass,
//! and a consumer a few records behind the head then fetches below the log start and is told
//! OFFSET_OUT_OF_RANGE for an offset the broker itself handed out.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use chronik_client::records::records;
use chronik_client::{
    Acks, Client, ClientConfig, Consumer, ConsumerConfig, Producer, ProducerConfig, StartAt,
};
use serde_json::Value;
use support::{Broker, bench_command, free_port};

const RETENTION_PASSES: [&str; 2] = ["--retention-check-interval-ms", "100"];
const PARTITIONS: u32 = 4;

fn tailing_broker(dir: &std::path::Path) -> Broker {
    Broker::start_with(dir, "always", free_port(), &RETENTION_PASSES)
}

fn wall_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

#[test]
fn our_consumer_tailing_an_acks_all_stream_gets_every_record() {
    const ROUNDS: u32 = 40;
    const PER_ROUND: u32 = 250;
    const TOTAL: usize = (ROUNDS * PER_ROUND) as usize;
    let dir = tempfile::tempdir().unwrap();
    let broker = tailing_broker(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(ClientConfig::new(&broker.addr()))
            .await
            .unwrap();
        client
            .create_topic("tail", PARTITIONS as i32, -1)
            .await
            .unwrap();
        let started_ms = wall_ms();
        // Small per-partition limits: most responses end at the size limit, so positions are
        // taken from size-limited responses throughout.
        let cfg = ConsumerConfig {
            max_wait: Duration::from_millis(100),
            partition_max_bytes: 2048,
            ..Default::default()
        };
        let mut consumer = Consumer::new(client.clone(), "tail", None, StartAt::Latest, cfg)
            .await
            .unwrap();
        let producer_cfg = ProducerConfig {
            acks: Acks::All,
            linger: Duration::ZERO,
            ..Default::default()
        };
        let producer = Producer::new(client.clone(), producer_cfg).await.unwrap();
        // Each round is acknowledged before the next starts; the consumer tails meanwhile.
        let mut writer = tokio::spawn(async move {
            let mut acked = Vec::new();
            for round in 0..ROUNDS {
                let mut pending = Vec::new();
                for i in 0..PER_ROUND {
                    let n = round * PER_ROUND + i;
                    let p = (n % PARTITIONS) as i32;
                    let value = Bytes::from(n.to_be_bytes().to_vec());
                    let d = producer
                        .send("tail", p, None, Some(value), None)
                        .await
                        .unwrap();
                    pending.push((p, n, d));
                }
                for (p, n, d) in pending {
                    let written = d.wait().await.expect("acknowledged");
                    acked.push((p, written.offset().expect("an offset"), n));
                }
            }
            producer.close().await;
            acked
        });

        let deadline = Instant::now() + Duration::from_secs(120);
        let mut got = Vec::new();
        let mut acked = None;
        let mut polls = 0u32;
        while got.len() < TOTAL {
            if acked.is_none() && writer.is_finished() {
                acked = Some((&mut writer).await.expect("the writer panicked"));
            }
            assert!(
                Instant::now() < deadline,
                "{} of {TOTAL} records consumed in time",
                got.len()
            );
            let batches = consumer.poll().await.unwrap_or_else(|e| {
                panic!(
                    "poll {polls} failed after {} records at {:?}: {e}",
                    got.len(),
                    consumer.positions()
                )
            });
            polls += 1;
            for b in &batches {
                for r in records(b).unwrap() {
                    if r.offset < b.fetched_from {
                        continue;
                    }
                    assert!(
                        r.timestamp >= started_ms - 60_000,
                        "record at {} stamped {} ms, sent after {started_ms}",
                        r.offset,
                        r.timestamp
                    );
                    let v = r.value.expect("a value");
                    let n = u32::from_be_bytes(v[..4].try_into().unwrap());
                    got.push((b.partition, r.offset, n));
                }
            }
        }
        let mut acked = match acked {
            Some(a) => a,
            None => writer.await.expect("the writer panicked"),
        };
        acked.sort();
        got.sort();
        assert_eq!(got.len(), TOTAL, "nothing read twice");
        assert_eq!(got, acked, "every acknowledged record, at its offset");
        let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for (p, offset, _) in &got {
            per_partition.entry(*p).or_default().push(*offset);
        }
        for (p, offsets) in per_partition {
            let expected: Vec<i64> = (0..offsets.len() as i64).collect();
            assert_eq!(offsets, expected, "partition {p} read from 0 without gaps");
        }
    });
}

fn e2e_json(args: &[&str]) -> Value {
    let out = bench_command(args).output().expect("run chronik-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "chronik-bench {args:?} failed: {stderr}"
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

#[test]
fn bench_e2e_runs_at_the_head_of_acks_all_streams_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = tailing_broker(dir.path());
    let addr = broker.addr();
    for round in 0..3 {
        let topic = format!("e2e-{round}");
        let args = [
            "e2e",
            "--bootstrap",
            addr.as_str(),
            "--topic",
            topic.as_str(),
            "--partitions",
            "4",
            "--create",
            "--rate",
            "1000",
            "--duration",
            "2",
            "--acks",
            "all",
            "--output",
            "json",
        ];
        let v = e2e_json(&args);
        assert_eq!(v["errors"], serde_json::json!({}), "round {round}: {v}");
        assert_eq!(v["records_failed"], 0, "round {round}: {v}");
        assert_eq!(v["config"]["acked"], 2000, "round {round}: {v}");
        assert_eq!(v["records"], 2000, "round {round}: {v}");
    }
}
