//! A model test over a real log: random appends of keyed records and tombstones (plain and
//! compressed), cleaning passes at random moments with tiny key maps (several passes per
//! cleaning), and reopens. After every step a reader from the log start sees each key's latest
//! value (a tombstoned key absent, or its tombstone before the horizon passed), every record
//! it sees is one that was appended at that offset, offsets strictly increase, and cleaning
//! moves neither the log start nor the end. Replay a failure with CHRONIK_CLEANER_SEED.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use chronik_cleaner::{CleanSettings, PassContext, Throttle};
use chronik_compaction::{ActiveProducers, CleaningCandidate, CompactionConfig, ENTRY_OVERHEAD};
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, PartitionLog, WalOptions};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type Value = Option<Vec<u8>>;

fn batch(records: &[(Vec<u8>, Value)], timestamp: i64, codec: Compression) -> Vec<u8> {
    let records: Vec<Record> = (records.iter().enumerate())
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32 - 1,
            timestamp,
            key: Some(Bytes::from(k.clone())),
            value: v.clone().map(Bytes::from),
            headers: IndexMap::new(),
        })
        .collect();
    let mut out = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: codec,
    };
    RecordBatchEncoder::encode(&mut out, &records, &options).expect("encode");
    out.to_vec()
}

/// Every record from the log start: (offset, key, value).
fn read_back(log: &PartitionLog) -> Vec<(i64, Vec<u8>, Value)> {
    let mut out = Vec::new();
    let mut from = log.start_offset();
    while from < log.end_offset() {
        let read = log.read(from, 64 * 1024).expect("read");
        let mut data = read.data.clone();
        while !data.is_empty() {
            let set = RecordBatchDecoder::decode(&mut data).expect("decode");
            for r in set.records.into_iter().filter(|r| r.offset >= from) {
                let key = r.key.expect("every record is keyed").to_vec();
                out.push((r.offset, key, r.value.map(|v| v.to_vec())));
            }
        }
        assert!(read.next_offset > from, "reads make progress");
        from = read.next_offset;
    }
    out
}

struct Model {
    /// Every record appended, by offset.
    appended: BTreeMap<i64, (Vec<u8>, Value)>,
    /// Each key's latest value.
    latest: BTreeMap<Vec<u8>, Value>,
}

fn check(log: &PartitionLog, model: &Model, seed: u64, step: usize) {
    let ctx = format!("seed {seed} step {step}");
    assert_eq!(log.start_offset(), 0, "{ctx}: the log start never moves");
    assert_eq!(log.end_offset(), model.appended.len() as i64, "{ctx}: end");
    let records = read_back(log);
    let mut seen: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    let mut last = -1;
    for (offset, key, value) in records {
        assert!(
            offset > last,
            "{ctx}: offsets strictly increase ({last}, {offset})"
        );
        last = offset;
        let original = model.appended.get(&offset).expect("an appended offset");
        assert_eq!(
            original,
            &(key.clone(), value.clone()),
            "{ctx}: record at {offset} unchanged"
        );
        seen.insert(key, value);
    }
    for (key, value) in &model.latest {
        match value {
            Some(v) => assert_eq!(
                seen.get(key),
                Some(&Some(v.clone())),
                "{ctx}: latest of {key:?}"
            ),
            None => assert!(
                matches!(seen.get(key), None | Some(None)),
                "{ctx}: {key:?} deleted"
            ),
        }
    }
}

/// Cleans until nothing is left to clean (several passes: each key map holds a few keys).
fn clean(log: &PartitionLog, rng: &mut StdRng, now_ms: i64) {
    let settings = CleanSettings {
        compaction: CompactionConfig {
            min_cleanable_dirty_ratio: 0.0,
            ..CompactionConfig::default()
        },
        delete_retention_ms: 50,
        segment_bytes: rng.random_range(1024..8192),
    };
    for _ in 0..100 {
        let end = log.end_offset();
        let candidate = chronik_cleaner::assess(log, end, &settings, now_ms).expect("assess");
        let Some(candidate) = candidate else {
            return;
        };
        run(log, &candidate, &settings, rng, now_ms);
        let offsets = candidate.offsets;
        if offsets.first_dirty_offset >= offsets.first_uncleanable_offset {
            // That pass only removed tombstones whose horizon passed: nothing is dirty.
            return;
        }
    }
    panic!("cleaning did not finish in 100 passes");
}

fn run(
    log: &PartitionLog,
    candidate: &CleaningCandidate,
    settings: &CleanSettings,
    rng: &mut StdRng,
    now_ms: i64,
) {
    let stop = AtomicBool::new(false);
    let mut throttle = Throttle::new(None, std::time::Instant::now());
    let mut ctx = PassContext {
        map_budget: ENTRY_OVERHEAD * rng.random_range(1..6) + 16,
        throttle: &mut throttle,
        stop: &stop,
        now_ms,
    };
    let producers = ActiveProducers::new();
    let report =
        chronik_cleaner::clean(log, candidate, settings, &producers, &mut ctx).expect("clean");
    assert!(!report.stale, "nothing else changes the log here");
}

fn open(dir: &std::path::Path) -> (DataDir, std::sync::Arc<PartitionLog>) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).expect("data dir");
    let config = LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    let (log, _) = data
        .open_partition(&TopicPartition::new("model", 0), config)
        .expect("open");
    (data, log)
}

/// Appends one batch of 1–5 random keyed records (15 % tombstones) in a random codec.
fn append(log: &PartitionLog, model: &mut Model, rng: &mut StdRng, step: usize, now_ms: i64) {
    let records: Vec<(Vec<u8>, Value)> = (0..rng.random_range(1..6))
        .map(|_| {
            let key = format!("k{}", rng.random_range(0..12)).into_bytes();
            let value = (!rng.random_bool(0.15))
                .then(|| format!("v{step}-{}", rng.random::<u16>()).into_bytes());
            (key, value)
        })
        .collect();
    let codec = [Compression::None, Compression::Gzip, Compression::Lz4][rng.random_range(0..3)];
    let info = log
        .append(&mut batch(&records, now_ms, codec), 0)
        .expect("append");
    for (i, (k, v)) in records.into_iter().enumerate() {
        (model.appended).insert(info.base_offset + i as i64, (k.clone(), v.clone()));
        model.latest.insert(k, v);
    }
}

#[test]
fn cleaning_keeps_every_keys_latest_value_through_random_steps_and_reopens() {
    let replay: Option<u64> = std::env::var("CHRONIK_CLEANER_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let base = replay.unwrap_or_else(rand::random);
    let cases = if replay.is_some() { 1 } else { 6 };
    for case in 0..cases {
        let seed = base.wrapping_add(case);
        let mut rng = StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut data, mut log) = open(dir.path());
        let mut model = Model {
            appended: BTreeMap::new(),
            latest: BTreeMap::new(),
        };
        let mut now_ms = 1_000_000i64;
        for step in 0..120 {
            now_ms += rng.random_range(0..40);
            match rng.random_range(0..10) {
                0..=6 => append(&log, &mut model, &mut rng, step, now_ms),
                7 | 8 => clean(&log, &mut rng, now_ms),
                _ => {
                    drop(log);
                    data.close().expect("close");
                    (data, log) = open(dir.path());
                }
            }
            check(&log, &model, seed, step);
        }
        // Cleaning long after every horizon: tombstones go, live keys stay.
        clean(&log, &mut rng, now_ms + 10_000);
        clean(&log, &mut rng, now_ms + 20_000);
        check(&log, &model, seed, usize::MAX);
        // Below the active segment each live key is left once, and no tombstone.
        let active_base = log.segments().last().map_or(0, |s| s.base_offset);
        let cleaned: Vec<_> = (read_back(&log).into_iter())
            .filter(|(offset, _, _)| *offset < active_base)
            .collect();
        let mut keys: Vec<&Vec<u8>> = cleaned.iter().map(|(_, k, _)| k).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), cleaned.len(), "seed {seed}: one record per key");
        assert!(cleaned.iter().all(|(_, _, v)| v.is_some()), "seed {seed}");
        let tp = TopicPartition::new("model", 0);
        let summary = chronik_wal::inspect::summarize_partition(dir.path(), &tp).expect("summary");
        assert!(
            summary.cleaner_offset.is_some(),
            "seed {seed}: a checkpoint was saved"
        );
        let ratio = summary.dirty_ratio().expect("cleaned");
        assert!((0.0..=1.0).contains(&ratio), "seed {seed}: ratio {ratio}");
    }
}
