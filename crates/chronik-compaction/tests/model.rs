//! A model test: random appends (keyed records, tombstones, a few unkeyed records and control
//! batches; several codecs and idempotent producers) to a segmented log, cleaned at random
//! moments by passes driven as Kafka's `Cleaner.doClean` drives them, with key maps of a few
//! entries so that most cleanings take several passes. After every pass the log, read from
//! offset 0 with kafka-protocol's decoder, must give every key its latest value, keep every
//! offset, header and active producer's last batch, and lose only what cleaning may remove;
//! after a final complete cleaning it must hold exactly the latest value of each live key.
//!
//! `CHRONIK_COMPACTION_SEED=N` replays one case; `CHRONIK_COMPACTION_SEEDS=N` runs N cases.

mod common;

use std::collections::{BTreeMap, HashMap};

use chronik_compaction::{ActiveProducers, CleanPolicy, KeyMap, MapProgress, filter_batch};
use chronik_records::{BATCH_HEADER_LEN, BatchHeader, crc_matches, validate_batch};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KEYS: u32 = 10;
const CONTROL_PRODUCER: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Appended {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: i64,
}

struct Segment {
    base: i64,
    batches: Vec<Vec<u8>>,
}

struct ModelLog {
    rng: StdRng,
    segments: Vec<Segment>,
    next_offset: i64,
    first_dirty: i64,
    clock: i64,
    retention: i64,
    leader_epoch: i32,
    appended: BTreeMap<i64, Appended>,
    originals: BTreeMap<i64, BatchHeader>,
    controls: BTreeMap<i64, Vec<u8>>,
    /// producer id → (epoch, next sequence)
    producers: HashMap<i64, (i16, i32)>,
    active: ActiveProducers,
    /// producer id → base offset of its last data batch
    last_batch_of: HashMap<i64, i64>,
    /// tombstone offset → clock of the first pass that filtered it (its horizon is R later)
    first_filtered_at: HashMap<i64, i64>,
    passes: usize,
}

impl ModelLog {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let retention = rng.random_range(1..500);
        Self {
            rng,
            segments: vec![Segment {
                base: 0,
                batches: Vec::new(),
            }],
            next_offset: 0,
            first_dirty: 0,
            clock: 1_000,
            retention,
            leader_epoch: 0,
            appended: BTreeMap::new(),
            originals: BTreeMap::new(),
            controls: BTreeMap::new(),
            producers: HashMap::new(),
            active: ActiveProducers::new(),
            last_batch_of: HashMap::new(),
            first_filtered_at: HashMap::new(),
            passes: 0,
        }
    }

    fn step(&mut self) {
        match self.rng.random_range(0..100) {
            0..55 => self.append_data(),
            55..58 => self.append_control(),
            58..68 => self.roll(),
            68..80 => self.clock += self.rng.random_range(0..self.retention),
            _ => self.clean_now(),
        }
    }

    fn random_record(&mut self, offset: i64) -> Rec {
        let timestamp = self.clock + self.rng.random_range(0..5);
        if self.rng.random_ratio(1, 12) {
            return unkeyed(&format!("u{offset}"), timestamp);
        }
        let key = format!("k{}", self.rng.random_range(0..KEYS));
        match self.rng.random_ratio(1, 5) {
            true => tombstone(&key, timestamp),
            false => kv(&key, &format!("v{offset}"), timestamp),
        }
    }

    fn append_data(&mut self) {
        let base = self.next_offset;
        let n = self.rng.random_range(1..=5);
        let records: Vec<Rec> = (0..n).map(|i| self.random_record(base + i)).collect();
        let mut spec = Spec::at(base).codec(CODECS[self.rng.random_range(0..CODECS.len())]);
        spec.leader_epoch = self.leader_epoch;
        if self.rng.random_bool(0.5) {
            let id = self.rng.random_range(1..=3);
            let (epoch, seq) = self.producers.entry(id).or_insert((0, 0));
            if self.rng.random_ratio(1, 10) {
                (*epoch, *seq) = (*epoch + 1, 0);
            }
            spec = spec.producer(id, *epoch, *seq);
            *seq += n as i32;
            self.last_batch_of.insert(id, base);
        }
        self.push(spec, &records);
    }

    fn append_control(&mut self) {
        let mut spec = Spec::at(self.next_offset).producer(CONTROL_PRODUCER, 0, -1);
        (spec.control, spec.transactional) = (true, true);
        let marker = Rec {
            key: Some(vec![0, 0, 0, 1]),
            value: Some(vec![0, 0, 0, 0, 0, 0]),
            timestamp: self.clock,
        };
        let bytes = self.push(spec, &[marker]);
        self.controls.insert(spec.base_offset, bytes);
    }

    fn push(&mut self, spec: Spec, records: &[Rec]) -> Vec<u8> {
        let bytes = batch(spec, records);
        let header = validate_batch(&bytes).unwrap();
        self.active.observe(&header);
        self.originals.insert(header.base_offset, header);
        for (i, r) in records.iter().enumerate() {
            let appended = Appended {
                key: r.key.clone(),
                value: r.value.clone(),
                timestamp: r.timestamp,
            };
            self.appended.insert(spec.base_offset + i as i64, appended);
        }
        self.next_offset += records.len() as i64;
        self.segments
            .last_mut()
            .unwrap()
            .batches
            .push(bytes.clone());
        bytes
    }

    fn roll(&mut self) {
        if !self.segments.last().unwrap().batches.is_empty() {
            let base = self.next_offset;
            self.segments.push(Segment {
                base,
                batches: Vec::new(),
            });
            self.leader_epoch += self.rng.random_range(0..2);
        }
    }

    fn clean_now(&mut self) {
        let active_base = self.segments.last().unwrap().base;
        let uncleanable = match self.rng.random_bool(0.5) {
            true => self.next_offset,
            false => active_base,
        };
        let budget = [0, 100, 200, 300, 500, 1 << 20][self.rng.random_range(0..6)];
        self.clean(budget, uncleanable.max(self.first_dirty));
    }

    /// One pass: map the dirty range, then filter every segment up to the map's end.
    fn clean(&mut self, budget: usize, first_uncleanable: i64) {
        let map = self.build_map(budget, first_uncleanable);
        assert!(
            map.used_bytes() <= budget || map.len() <= 1,
            "the budget holds"
        );
        let end = map.end();
        assert!(
            end > self.first_dirty || self.first_dirty == first_uncleanable,
            "progress"
        );
        let before = self.present();
        let policy = CleanPolicy::new(self.clock, self.retention, &self.active);
        for segment in self.segments.iter_mut().filter(|s| s.base < end) {
            let mut out = Vec::new();
            for b in &segment.batches {
                for (offset, r) in read(b) {
                    if r.key.is_some() && r.value.is_none() {
                        self.first_filtered_at.entry(offset).or_insert(self.clock);
                    }
                }
                filter_batch(b, &map, &policy, &mut out).expect("stored batches filter");
            }
            segment.batches = split(&out);
        }
        self.first_dirty = end;
        self.passes += 1;
        self.check(&before);
    }

    fn build_map(&self, budget: usize, first_uncleanable: i64) -> KeyMap {
        let mut map = KeyMap::new(budget, self.first_dirty..first_uncleanable);
        for b in self.segments.iter().flat_map(|s| &s.batches) {
            let header = BatchHeader::parse(b).unwrap();
            if header.last_offset() < self.first_dirty {
                continue;
            }
            if header.base_offset >= first_uncleanable {
                break;
            }
            if let MapProgress::Full { .. } = map.map_batch(b).expect("stored batches map") {
                break;
            }
        }
        map
    }

    /// Every record in the log, by offset, read with kafka-protocol.
    fn present(&self) -> BTreeMap<i64, Appended> {
        let mut records = BTreeMap::new();
        for b in self.segments.iter().flat_map(|s| &s.batches) {
            for (offset, r) in read(b) {
                assert!(records.insert(offset, r).is_none(), "offset {offset} twice");
            }
        }
        records
    }

    /// Whether a record of `key` was appended after `offset`.
    fn superseded(&self, key: &[u8], offset: i64) -> bool {
        (self.appended.range(offset + 1..)).any(|(_, a)| a.key.as_deref() == Some(key))
    }

    fn check(&self, before: &BTreeMap<i64, Appended>) {
        self.check_batches();
        let now = self.present();
        for (offset, record) in &now {
            assert_eq!(
                Some(record),
                self.appended.get(offset),
                "record at {offset} altered"
            );
        }
        for (offset, record) in before.iter().filter(|(o, _)| !now.contains_key(o)) {
            self.check_removal(*offset, record);
        }
        assert_eq!(
            replay(&now),
            replay(&self.appended),
            "a consumer reading from 0 sees the same state"
        );
        for (key, offset) in latest_values(&self.appended) {
            assert!(
                now.contains_key(&offset),
                "the latest value of {key:?} at {offset} is lost"
            );
        }
        for (id, base) in &self.last_batch_of {
            assert!(
                self.batch_at(*base).is_some(),
                "producer {id}'s last batch at {base} is lost"
            );
        }
        for (base, control) in &self.controls {
            assert_eq!(
                self.batch_at(*base),
                Some(control),
                "control batch at {base} changed"
            );
        }
    }

    fn check_removal(&self, offset: i64, record: &Appended) {
        let Some(key) = &record.key else { return };
        if self.superseded(key, offset) {
            return;
        }
        assert!(
            record.value.is_none(),
            "the latest value of {key:?} at {offset} was removed"
        );
        let first = self
            .first_filtered_at
            .get(&offset)
            .copied()
            .unwrap_or(i64::MAX);
        assert!(
            self.clock >= first.saturating_add(self.retention),
            "tombstone at {offset} removed at {} before its horizon {first} + {}",
            self.clock,
            self.retention
        );
    }

    /// Batch shapes: valid, in offset order, headers as appended, the log's last offset kept.
    fn check_batches(&self) {
        let mut previous_last = -1;
        for b in self.segments.iter().flat_map(|s| &s.batches) {
            let header = match validate_batch(b) {
                Ok(h) => h,
                Err(_) => {
                    assert!(
                        b.len() == BATCH_HEADER_LEN && crc_matches(b),
                        "invalid batch"
                    );
                    BatchHeader::parse(b).unwrap()
                }
            };
            assert!(header.base_offset > previous_last, "batches out of order");
            previous_last = header.last_offset();
            let original = &self.originals[&header.base_offset];
            let fields = |h: &BatchHeader| {
                let flags = h.attributes & 0x30;
                (
                    h.last_offset(),
                    h.producer_id,
                    h.producer_epoch,
                    h.base_sequence,
                    flags,
                )
            };
            assert_eq!(
                fields(&header),
                fields(original),
                "batch at {}",
                header.base_offset
            );
            assert_eq!(
                header.partition_leader_epoch,
                original.partition_leader_epoch
            );
            if header.records_count > 0 {
                assert_eq!(header.compression(), original.compression());
            }
        }
        assert_eq!(
            previous_last,
            self.next_offset - 1,
            "the log's last offset moved"
        );
        assert_eq!(self.segments[0].base, 0, "the log's first offset moved");
    }

    fn batch_at(&self, base: i64) -> Option<&Vec<u8>> {
        (self.segments.iter().flat_map(|s| &s.batches))
            .find(|b| BatchHeader::parse(b).unwrap().base_offset == base)
    }

    /// Cleans everything, waits past every horizon and cleans again: only the latest value of
    /// each live key may remain (and the control batches, and empty batches).
    fn clean_completely(&mut self) {
        self.clock += self.retention;
        self.clean(1 << 20, self.next_offset);
        self.clock += self.retention;
        self.clean(1 << 20, self.next_offset);
        let keyed: BTreeMap<i64, Appended> = (self.present().into_iter())
            .filter(|(o, _)| !self.is_control(*o))
            .collect();
        let live: BTreeMap<i64, Appended> = (latest_values(&self.appended).into_values())
            .map(|o| (o, self.appended[&o].clone()))
            .collect();
        assert_eq!(
            keyed, live,
            "a complete cleaning leaves exactly the live keys"
        );
    }

    fn is_control(&self, offset: i64) -> bool {
        self.controls.contains_key(&offset)
    }
}

/// (offset, record) of each record of a batch, read by kafka-protocol.
fn read(batch: &[u8]) -> Vec<(i64, Appended)> {
    (decode(batch).into_iter())
        .map(|r| {
            let key = r.key.map(|k| k.to_vec());
            let value = r.value.map(|v| v.to_vec());
            (
                r.offset,
                Appended {
                    key,
                    value,
                    timestamp: r.timestamp,
                },
            )
        })
        .collect()
}

/// Cuts the filter's output back into batches.
fn split(out: &[u8]) -> Vec<Vec<u8>> {
    let batches: Vec<Vec<u8>> = chronik_records::StoredBatches::new(out)
        .map(|(b, _)| b.to_vec())
        .collect();
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), out.len());
    batches
}

/// Key → value after reading every keyed, non-control record in order (a tombstone, or no
/// record, is `None`).
fn replay(records: &BTreeMap<i64, Appended>) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut state = BTreeMap::new();
    for r in records.values() {
        let Some(key) = &r.key else { continue };
        if !key.starts_with(b"k") {
            continue;
        }
        match &r.value {
            Some(v) => state.insert(key.clone(), v.clone()),
            None => state.remove(key),
        };
    }
    state
}

/// Key → offset of its latest record, for keys whose latest record is a value.
fn latest_values(records: &BTreeMap<i64, Appended>) -> BTreeMap<Vec<u8>, i64> {
    let mut latest = BTreeMap::new();
    for (offset, r) in records {
        match &r.key {
            Some(key) if key.starts_with(b"k") => {
                latest.insert(key.clone(), (*offset, r.value.is_some()))
            }
            _ => None,
        };
    }
    (latest.into_iter())
        .filter(|(_, (_, live))| *live)
        .map(|(k, (o, _))| (k, o))
        .collect()
}

fn run(seed: u64) -> usize {
    struct ShowSeed(u64);
    impl Drop for ShowSeed {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("failed with CHRONIK_COMPACTION_SEED={}", self.0);
            }
        }
    }
    let _show = ShowSeed(seed);
    let mut log = ModelLog::new(seed);
    let steps = log.rng.random_range(20..120);
    for _ in 0..steps {
        log.step();
    }
    log.clean_completely();
    log.passes
}

#[test]
fn cleaning_keeps_what_a_consumer_reads_and_removes_the_rest() {
    if let Some(seed) = std::env::var("CHRONIK_COMPACTION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run(seed);
        return;
    }
    let cases: u64 = (std::env::var("CHRONIK_COMPACTION_SEEDS").ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let fresh: u64 = rand::rng().random();
    let passes: usize = (0..cases)
        .map(|i| run(if i < cases / 2 { i } else { fresh ^ i }))
        .sum();
    assert!(
        passes > cases as usize * 3,
        "the cases clean several times ({passes} passes)"
    );
}
