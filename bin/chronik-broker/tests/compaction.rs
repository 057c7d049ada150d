//! The log cleaner against a real broker process: keyed writes and tombstones to a compacted
//! topic, SIGKILL at seeded random moments while the cleaner rewrites and swaps segments, and
//! after every restart each key's latest acknowledged value is what a reader from offset 0
//! sees, offsets strictly increase, nothing acknowledged is lost, and walctl verifies the dir.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chronik_kafka::kafka_protocol::records::{Compression, RecordBatchDecoder};
use common::ops::*;
use common::{BrokerProc, Client};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TOPIC: &str = "latest";
const KEYS: u32 = 40;
const COMPACTED: &[(&str, &str)] = &[
    ("cleanup.policy", "compact"),
    ("segment.bytes", "1024"),
    ("min.cleanable.dirty.ratio", "0.01"),
    ("delete.retention.ms", "0"),
];
const ARGS: &[&str] = &["--fsync", "always", "--log-cleaner-backoff-ms", "20"];

/// One v2 batch of keyed records (`None` values are tombstones), gzip-compressed every other
/// time so rewritten batches are recompressed.
fn gzip_or_plain_batch(records: &[(String, Option<String>)], gzip: bool) -> Vec<u8> {
    let records: Vec<_> = (records.iter())
        .map(|(k, v)| (Some(k.as_bytes()), v.as_deref().map(str::as_bytes)))
        .collect();
    let compression = if gzip {
        Compression::Gzip
    } else {
        Compression::None
    };
    keyed_batch(&records, 1_000, compression)
}

/// Every (offset, key, value) from offset 0 to the high watermark.
fn read_all(c: &mut Client) -> (i64, Vec<(i64, String, Option<String>)>) {
    let mut out = Vec::new();
    let mut offset = list_offset(c, TOPIC, 0, -2).1;
    assert_eq!(offset, 0, "cleaning never moves the log start");
    let high = list_offset(c, TOPIC, 0, -1).1;
    while offset < high {
        let part = fetch(c, TOPIC, 0, offset, 1_000);
        assert_eq!(part.error_code, 0, "fetch at {offset}");
        let mut records = part.records.expect("records");
        let before = offset;
        while !records.is_empty() {
            let set = RecordBatchDecoder::decode(&mut records).expect("decode");
            for r in set.records {
                if r.offset < offset {
                    continue;
                }
                let key = String::from_utf8(r.key.expect("keyed").to_vec()).expect("utf8");
                let value = r
                    .value
                    .map(|v| String::from_utf8(v.to_vec()).expect("utf8"));
                out.push((r.offset, key, value));
                offset = r.offset + 1;
            }
        }
        // A batch emptied by the cleaner carries no records; move past the fetched range.
        if offset == before {
            offset = part.high_watermark.min(offset + 1);
        }
    }
    (high, out)
}

fn check(c: &mut Client, acked: i64, latest: &BTreeMap<String, Option<String>>, seed: u64) {
    let (high, records) = read_all(c);
    assert_eq!(
        high, acked,
        "seed {seed}: every acknowledged offset is still there"
    );
    let offsets: Vec<i64> = records.iter().map(|r| r.0).collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "seed {seed}: offsets strictly increase"
    );
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (_, k, v) in records {
        seen.insert(k, v);
    }
    let live = |m: &BTreeMap<String, Option<String>>| -> BTreeMap<String, String> {
        (m.iter())
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect()
    };
    assert_eq!(live(&seen), live(latest), "seed {seed}: latest values");
}

#[test]
fn sigkill_while_cleaning_loses_nothing_acknowledged() {
    let seed: u64 = std::env::var("CHRONIK_COMPACTION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("seed {seed} (CHRONIK_COMPACTION_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), ARGS);
    let mut c = broker.client();
    assert_eq!(create_topic_with(&mut c, TOPIC, COMPACTED), 0);
    let mut latest: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut acked = 0i64;
    for round in 0..6 {
        let deadline = Instant::now() + Duration::from_millis(rng.random_range(200..1200));
        let mut n = 0u32;
        while Instant::now() < deadline {
            let batch: Vec<(String, Option<String>)> = (0..rng.random_range(1..8))
                .map(|_| {
                    let key = format!("k{}", rng.random_range(0..KEYS));
                    let value = (!rng.random_bool(0.1)).then(|| format!("r{round}-{n}"));
                    n += 1;
                    (key, value)
                })
                .collect();
            let p = produce(
                &mut c,
                TOPIC,
                0,
                gzip_or_plain_batch(&batch, n.is_multiple_of(2)),
            );
            assert_eq!((p.error_code, p.base_offset), (0, acked), "seed {seed}");
            acked += batch.len() as i64;
            for (k, v) in batch {
                latest.insert(k, v);
            }
        }
        broker.kill9();
        broker = BrokerProc::start(dir.path(), ARGS);
        c = broker.client();
        check(&mut c, acked, &latest, seed);
    }
    // Let the cleaner finish, then a clean shutdown and an offline verify.
    let started = Instant::now();
    while read_all(&mut c).1.len() as i64 > i64::from(KEYS) * 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "seed {seed}: the log was not compacted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    check(&mut c, acked, &latest, seed);
    drop(c);
    assert!(broker.terminate().success());
    let tp = chronik_types::TopicPartition::new(TOPIC, 0);
    let damage =
        chronik_wal::inspect::verify_partition(&dir.path().join("data"), &tp).expect("verify runs");
    assert!(damage.is_empty(), "seed {seed}: {damage:?}");
    let log = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        log.contains("log cleaned"),
        "seed {seed}: the cleaner ran during the test"
    );
}
