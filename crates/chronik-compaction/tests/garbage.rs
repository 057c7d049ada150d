//! Garbage never makes the key map or the filter panic: random bytes, every truncation of real
//! batches, and real batches with bytes changed (with the CRC fixed half the time, so the
//! damage reaches the records and the decompressors). Whatever the filter writes from such
//! input is a batch it accepts again.

mod common;

use chronik_compaction::{ActiveProducers, CleanPolicy, KeyMap, filter_batch};
use chronik_records::{BATCH_HEADER_LEN, BatchHeader, recompute_crc};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Runs both entry points on `input`; they may refuse it but must not panic.
fn exercise(input: &[u8], rng: &mut StdRng) {
    let start = rng.random_range(-2..50);
    let mut map =
        KeyMap::new(rng.random_range(0..1_000), start..start + 60).with_uncompressed_limit(1 << 20);
    let _ = map.map_batch(input);
    let mut producers = ActiveProducers::new();
    if let Ok(header) = BatchHeader::parse(input) {
        producers.observe(&header);
    }
    let mut policy = CleanPolicy::new(rng.random_range(0..3_000), 500, &producers);
    policy.uncompressed_limit = 1 << 20;
    let mut out = b"prefix".to_vec();
    match filter_batch(input, &map, &policy, &mut out) {
        Ok(filtered) => {
            let Some(range) = filtered.retained else {
                assert_eq!(out, b"prefix");
                return;
            };
            assert_eq!(range.end, out.len());
            let written = &out[range];
            // What the filter wrote, it reads again.
            let mut again = Vec::new();
            filter_batch(written, &map, &policy, &mut again).expect("the filter's output filters");
        }
        Err(_) => assert_eq!(out, b"prefix", "a refusal leaves the output alone"),
    }
}

fn samples() -> Vec<Vec<u8>> {
    let mut batches = Vec::new();
    for (i, codec) in CODECS.into_iter().enumerate() {
        let records = [
            kv("a", "one", 10),
            tombstone("b", 11),
            unkeyed("u", 12),
            kv("a", "two", 13),
            kv("c", &"x".repeat(40), 14),
        ];
        let spec = Spec::at(10 * i as i64).codec(codec).producer(4, 1, 8);
        batches.push(batch(spec, &records));
        batches.push(batch(Spec::at(5).codec(codec), &[tombstone("z", 1)]));
    }
    batches
}

#[test]
fn random_bytes_are_refused_without_panicking() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..5_000 {
        let len = rng.random_range(0..200);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if len > 16 && rng.random_bool(0.5) {
            bytes[16] = 2; // get past the magic check
        }
        exercise(&bytes, &mut rng);
    }
}

#[test]
fn every_truncation_of_a_real_batch_is_refused_without_panicking() {
    let mut rng = StdRng::seed_from_u64(8);
    for sample in samples() {
        for len in 0..sample.len() {
            exercise(&sample[..len], &mut rng);
            // The same prefix sealed as a whole batch: lengths and CRC agree, records do not.
            if len >= BATCH_HEADER_LEN {
                let mut sealed = sample[..len].to_vec();
                chronik_records::seal_batch(&mut sealed).unwrap();
                exercise(&sealed, &mut rng);
            }
        }
    }
}

#[test]
fn mutated_batches_never_panic() {
    let mut rng = StdRng::seed_from_u64(9);
    let samples = samples();
    for _ in 0..20_000 {
        let mut bytes = samples[rng.random_range(0..samples.len())].clone();
        for _ in 0..rng.random_range(1..=4) {
            let at = rng.random_range(0..bytes.len());
            bytes[at] = match rng.random_range(0..3) {
                0 => rng.random(),
                1 => bytes[at] ^ (1 << rng.random_range(0..8)),
                _ => [0x00, 0x7f, 0x80, 0xff][rng.random_range(0..4)],
            };
        }
        if rng.random_bool(0.5) {
            recompute_crc(&mut bytes);
        }
        exercise(&bytes, &mut rng);
    }
}

#[test]
fn hostile_header_counts_are_refused_without_panicking() {
    let mut rng = StdRng::seed_from_u64(10);
    for sample in samples() {
        for (count, last_delta) in [
            (i32::MAX, i32::MAX),
            (-1, 4),
            (0, 0),
            (0, -1),
            (6, 5),
            (1, 0),
        ] {
            let mut header = BatchHeader::parse(&sample).unwrap();
            (header.records_count, header.last_offset_delta) = (count, last_delta);
            let mut bytes = Vec::new();
            header.write_to(&mut bytes);
            bytes.extend_from_slice(&sample[BATCH_HEADER_LEN..]);
            recompute_crc(&mut bytes);
            exercise(&bytes, &mut rng);
        }
    }
}
