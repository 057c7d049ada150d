//! The key map: its dirty range, its byte budget and where a full map stops.

mod common;

use chronik_compaction::{ActiveProducers, BatchFate, ENTRY_OVERHEAD, KeyMap, MapProgress};
use common::*;

#[test]
fn only_keyed_records_inside_the_dirty_range_are_mapped() {
    let b = batch(
        Spec::at(10),
        &[
            kv("before", "1", 1),
            kv("in", "2", 1),
            unkeyed("u", 1),
            kv("after", "3", 1),
        ],
    );
    let mut map = KeyMap::new(1 << 20, 11..13);
    assert_eq!(map.map_batch(&b).unwrap(), MapProgress::Continue);
    assert_eq!(map.latest_offset(b"in"), Some(11));
    assert_eq!(map.latest_offset(b"before"), None);
    assert_eq!(map.latest_offset(b"after"), None);
    assert_eq!(map.len(), 1);
    assert_eq!(map.end(), 13);
}

#[test]
fn a_full_map_stops_at_the_first_record_that_does_not_fit() {
    let keys = ["k0", "k1", "k2", "k3", "k4"];
    let records: Vec<Rec> = keys.iter().map(|k| kv(k, "v", 1)).collect();
    let b = batch(Spec::at(100), &records);
    // Room for two keys of two bytes.
    let budget = 2 * (2 + ENTRY_OVERHEAD);
    let mut map = KeyMap::new(budget, 100..105);
    assert_eq!(map.map_batch(&b).unwrap(), MapProgress::Full { end: 102 });
    assert!(map.is_full());
    assert_eq!(map.end(), 102);
    assert_eq!(map.len(), 2);
    assert!(map.used_bytes() <= budget);
    // Later batches are ignored once full.
    let more = batch(Spec::at(105), &[kv("k9", "v", 1)]);
    assert_eq!(
        map.map_batch(&more).unwrap(),
        MapProgress::Full { end: 102 }
    );
    assert_eq!(map.latest_offset(b"k9"), None);

    // Records at or past the end are kept as they are, whatever the map says of their key.
    let (filtered, out) = filter_one(&b, &map, 0, 0, &ActiveProducers::new());
    assert_eq!(filtered.fate, BatchFate::Unchanged);
    assert_eq!(out, b);
}

#[test]
fn a_key_seen_again_costs_nothing_and_keeps_its_latest_offset() {
    let b = batch(
        Spec::at(0),
        &[kv("k", "1", 1), kv("k", "2", 1), kv("k", "3", 1)],
    );
    let mut map = KeyMap::new(1 + ENTRY_OVERHEAD, 0..3);
    assert_eq!(map.map_batch(&b).unwrap(), MapProgress::Continue);
    assert_eq!(map.latest_offset(b"k"), Some(2));
    assert_eq!(map.used_bytes(), 1 + ENTRY_OVERHEAD);
}

#[test]
fn every_pass_makes_progress_even_with_no_budget() {
    let b = batch(Spec::at(7), &[kv("a-long-key", "1", 1), kv("b", "2", 1)]);
    let mut map = KeyMap::new(0, 7..9);
    assert_eq!(map.map_batch(&b).unwrap(), MapProgress::Full { end: 8 });
    assert_eq!(map.latest_offset(b"a-long-key"), Some(7));
    // The next pass starts where this one ended and maps the rest.
    let mut next = KeyMap::new(0, map.end()..9);
    assert_eq!(next.map_batch(&b).unwrap(), MapProgress::Continue);
    assert_eq!(next.latest_offset(b"b"), Some(8));
    assert_eq!(next.end(), 9);
}

#[test]
fn batches_outside_the_range_are_not_decompressed() {
    // A damaged record section outside the range is never read: only the header is checked.
    let mut b = batch(Spec::at(0).codec(Codec::Gzip), &[kv("a", "1", 1)]);
    let last = b.len() - 3;
    b[last] ^= 0xff;
    chronik_records::recompute_crc(&mut b);
    let mut map = KeyMap::new(1 << 20, 5..9);
    assert_eq!(map.map_batch(&b).unwrap(), MapProgress::Continue);
    let mut covering = KeyMap::new(1 << 20, 0..9);
    assert!(covering.map_batch(&b).is_err());
}
