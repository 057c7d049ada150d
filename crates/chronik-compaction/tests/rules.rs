//! One test per rule of the cleaner's filter, on batches written by kafka-protocol.

mod common;

use chronik_compaction::{ActiveProducers, BatchFate, KeyMap, MapProgress};
use chronik_records::{BATCH_HEADER_LEN, BatchHeader, Compression, crc_matches, validate_batch};
use common::*;

const NOW: i64 = 10_000;
const RETENTION: i64 = 1_000;

fn no_producers() -> ActiveProducers {
    ActiveProducers::new()
}

#[test]
fn the_latest_record_of_a_key_wins_and_older_ones_go() {
    let first = batch(Spec::at(0), &[kv("a", "1", 5), kv("b", "1", 5)]);
    let second = batch(Spec::at(2), &[kv("a", "2", 6)]);
    let map = map_all(&[first.clone(), second.clone()], 0..3);
    assert_eq!(map.latest_offset(b"a"), Some(2));

    let (filtered, out) = filter_one(&first, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Rewritten);
    assert_eq!((filtered.records_read, filtered.records_kept), (2, 1));
    assert_eq!(
        contents(&out),
        vec![(1, Some(b"b".to_vec()), Some(b"1".to_vec()))]
    );
    assert_eq!(filtered.bytes_written, out.len());

    let (filtered, out) = filter_one(&second, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Unchanged);
    assert_eq!(out, second);
}

#[test]
fn a_batch_that_keeps_every_record_is_copied_byte_for_byte() {
    for codec in CODECS {
        let only = batch(
            Spec::at(40).codec(codec),
            &[kv("x", "1", 1), kv("y", "2", 2)],
        );
        let map = map_all(std::slice::from_ref(&only), 0..42);
        let (filtered, out) = filter_one(&only, &map, NOW, RETENTION, &no_producers());
        assert_eq!(filtered.fate, BatchFate::Unchanged, "{codec:?}");
        assert_eq!(out, only, "{codec:?}");
    }
}

#[test]
fn a_rewritten_batch_keeps_its_offsets_producer_fields_and_codec_and_a_valid_crc() {
    for codec in CODECS {
        let spec = Spec::at(100).codec(codec).producer(9, 4, 70);
        let records = [
            kv("k1", "a", 50),
            kv("k2", "b", 60),
            kv("k1", "c", 55),
            kv("k3", "d", 58),
        ];
        let original = batch(spec, &records);
        let later = batch(Spec::at(104), &[kv("k3", "e", 70)]);
        let map = map_all(&[original.clone(), later], 100..105);
        let (filtered, out) = filter_one(&original, &map, NOW, RETENTION, &no_producers());
        assert_eq!(filtered.fate, BatchFate::Rewritten, "{codec:?}");

        let before = validate_batch(&original).unwrap();
        let after = validate_batch(&out).unwrap();
        assert!(crc_matches(&out));
        assert_eq!(after.compression(), before.compression(), "{codec:?}");
        assert_eq!((after.base_offset, after.last_offset_delta), (100, 3));
        assert_eq!((after.producer_id, after.producer_epoch), (9, 4));
        assert_eq!(after.base_sequence, 70);
        assert_eq!(after.partition_leader_epoch, before.partition_leader_epoch);
        assert_eq!(after.records_count, 2);
        // Kafka's builder: base timestamp is the first kept record's, max is the kept maximum.
        assert_eq!((after.base_timestamp, after.max_timestamp), (60, 60));

        let read = decode(&out);
        let kept: Vec<_> = read
            .iter()
            .map(|r| (r.offset, r.timestamp, r.sequence))
            .collect();
        assert_eq!(kept, vec![(101, 60, 71), (102, 55, 72)], "{codec:?}");
    }
}

#[test]
fn a_tombstone_is_stamped_with_a_horizon_then_kept_until_it_then_removed() {
    let value = batch(Spec::at(0), &[kv("k", "v", 1)]);
    let delete = batch(Spec::at(1), &[tombstone("k", 2), kv("other", "x", 3)]);
    let tail = batch(Spec::at(3), &[kv("z", "z", 4)]);
    let map = map_all(&[value.clone(), delete.clone(), tail.clone()], 0..4);

    let (filtered, _) = filter_one(&value, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Removed);

    // First pass: kept, and the batch now carries the horizon now + delete.retention.ms.
    let (filtered, stamped) = filter_one(&delete, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Rewritten);
    let header = validate_batch(&stamped).unwrap();
    assert_eq!(header.attributes & 0x40, 0x40);
    assert_eq!(header.base_timestamp, NOW + RETENTION);
    assert_eq!(filtered.delete_horizon, Some(NOW + RETENTION));
    let read = decode(&stamped);
    assert!(read[0].delete_horizon);
    assert_eq!(
        (read[0].offset, read[0].timestamp, read[0].value.is_none()),
        (1, 2, true)
    );
    assert_eq!(
        read[1].timestamp, 3,
        "record timestamps survive the new base timestamp"
    );

    // A later pass (the tombstone now in the clean section, not in the map).
    let later = KeyMap::new(1 << 20, 4..4);
    let (filtered, out) = filter_one(
        &stamped,
        &later,
        NOW + RETENTION - 1,
        RETENTION,
        &no_producers(),
    );
    assert_eq!(
        filtered.fate,
        BatchFate::Unchanged,
        "kept until the horizon"
    );
    assert_eq!(
        filtered.delete_horizon,
        Some(NOW + RETENTION),
        "the caller still has to come back"
    );
    assert_eq!(out, stamped);
    let (filtered, out) = filter_one(
        &stamped,
        &later,
        NOW + RETENTION,
        RETENTION,
        &no_producers(),
    );
    assert_eq!(
        filtered.fate,
        BatchFate::Rewritten,
        "removed at the horizon"
    );
    assert_eq!(
        contents(&out),
        vec![(2, Some(b"other".to_vec()), Some(b"x".to_vec()))]
    );
    assert_eq!(
        validate_batch(&out).unwrap().attributes & 0x40,
        0x40,
        "the horizon stays"
    );
}

#[test]
fn a_superseded_tombstone_goes_at_once() {
    let delete = batch(Spec::at(0), &[tombstone("k", 1)]);
    let again = batch(Spec::at(1), &[kv("k", "back", 2)]);
    let map = map_all(&[delete.clone(), again], 0..2);
    let (filtered, _) = filter_one(&delete, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Removed);
}

#[test]
fn records_without_a_key_are_removed_where_the_map_covers_them() {
    let mixed = batch(
        Spec::at(0),
        &[unkeyed("u", 1), kv("k", "v", 2), unkeyed("w", 3)],
    );
    let map = map_all(std::slice::from_ref(&mixed), 0..3);
    let (filtered, out) = filter_one(&mixed, &map, NOW, RETENTION, &no_producers());
    assert_eq!(
        (filtered.fate, filtered.records_kept),
        (BatchFate::Rewritten, 1)
    );
    assert_eq!(
        contents(&out),
        vec![(1, Some(b"k".to_vec()), Some(b"v".to_vec()))]
    );

    // Past the map's end nothing is judged: the batch stays as it is.
    let uncovered = KeyMap::new(1 << 20, 0..0);
    let (filtered, out) = filter_one(&mixed, &uncovered, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Unchanged);
    assert_eq!(out, mixed);
}

#[test]
fn an_active_producers_last_batch_stays_as_an_empty_batch() {
    let spec = Spec::at(10).codec(Codec::Gzip).producer(7, 2, 40);
    let produced = batch(spec, &[kv("k", "old", 100), kv("k", "older?", 120)]);
    let newer = batch(Spec::at(12), &[kv("k", "new", 130)]);
    let tail = batch(Spec::at(13), &[kv("t", "t", 140)]);
    let map = map_all(&[produced.clone(), newer, tail], 10..14);

    let mut producers = ActiveProducers::new();
    producers.insert(7, 11);
    let (filtered, out) = filter_one(&produced, &map, NOW, RETENTION, &producers);
    assert_eq!(
        (filtered.fate, filtered.records_kept),
        (BatchFate::Emptied, 0)
    );
    assert_eq!(out.len(), BATCH_HEADER_LEN);
    assert!(crc_matches(&out));
    let empty = BatchHeader::parse(&out).unwrap();
    let original = validate_batch(&produced).unwrap();
    assert_eq!((empty.base_offset, empty.last_offset()), (10, 11));
    assert_eq!(
        (empty.producer_id, empty.producer_epoch, empty.base_sequence),
        (7, 2, 40)
    );
    assert_eq!(empty.records_count, 0);
    assert_eq!(empty.compression(), Compression::None);
    assert_eq!(
        (empty.base_timestamp, empty.max_timestamp),
        (-1, original.max_timestamp)
    );
    assert_eq!(
        empty.partition_leader_epoch,
        original.partition_leader_epoch
    );
    assert!(
        decode(&out).is_empty(),
        "Kafka clients read it as a batch of no records"
    );

    // Filtering the empty batch again keeps it the same.
    let (again, same) = filter_one(&out, &map, NOW, RETENTION, &producers);
    assert_eq!((again.fate, same), (BatchFate::Emptied, out));

    // Not the producer's last batch, or the producer no longer active: it goes.
    let mut moved_on = ActiveProducers::new();
    moved_on.insert(7, 50);
    for producers in [moved_on, ActiveProducers::new()] {
        let (filtered, out) = filter_one(&produced, &map, NOW, RETENTION, &producers);
        assert_eq!((filtered.fate, out.len()), (BatchFate::Removed, 0));
    }
}

#[test]
fn active_producers_can_be_learned_from_the_log() {
    let mut producers = ActiveProducers::new();
    for b in [
        batch(Spec::at(0).producer(1, 0, 0), &[kv("a", "1", 1)]),
        batch(
            Spec::at(1).producer(1, 0, 1),
            &[kv("a", "2", 1), kv("b", "2", 1)],
        ),
        batch(Spec::at(3), &[kv("c", "3", 1)]),
    ] {
        producers.observe(&validate_batch(&b).unwrap());
    }
    assert_eq!(producers.last_offset(1), Some(2));
    assert_eq!(producers.last_offset(-1), None);
}

#[test]
fn the_last_batch_before_the_first_uncleanable_offset_stays_as_an_empty_batch() {
    let first = batch(Spec::at(0), &[unkeyed("a", 1)]);
    let last = batch(Spec::at(1), &[unkeyed("b", 1), unkeyed("c", 1)]);
    // The dirty range ends at 3, where `last` ends: the log's last offset must survive.
    let map = map_all(&[first.clone(), last.clone()], 0..3);
    let (filtered, _) = filter_one(&first, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Removed);
    let (filtered, out) = filter_one(&last, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Emptied);
    let empty = BatchHeader::parse(&out).unwrap();
    assert_eq!(
        (empty.base_offset, empty.last_offset(), empty.records_count),
        (1, 2, 0)
    );
}

#[test]
fn control_and_transactional_batches_are_kept_unchanged_and_not_mapped() {
    let mut control = Spec::at(5);
    control.control = true;
    control.transactional = true;
    control.producer = Some((3, 1, -1));
    // A commit marker: key (version 0, type 1), value (version 0, coordinator epoch 0).
    let marker = Rec {
        key: Some(vec![0, 0, 0, 1]),
        value: Some(vec![0, 0, 0, 0, 0, 0]),
        timestamp: 9,
    };
    let control = batch(control, &[marker]);
    let mut txn = Spec::at(6);
    txn.transactional = true;
    txn.producer = Some((3, 1, 0));
    let txn = batch(txn, &[kv("k", "in-txn", 9), unkeyed("u", 9)]);

    let mut map = KeyMap::new(1 << 20, 0..8);
    for b in [&control, &txn] {
        assert_eq!(map.map_batch(b).unwrap(), MapProgress::Continue);
    }
    assert!(map.is_empty());
    let newer = batch(Spec::at(7), &[kv("k", "later", 10)]);
    map.map_batch(&newer).unwrap();
    for b in [control, txn] {
        let (filtered, out) = filter_one(&b, &map, NOW, RETENTION, &no_producers());
        assert_eq!(filtered.fate, BatchFate::Unchanged);
        assert_eq!(out, b);
    }
}

#[test]
fn log_append_time_batches_keep_their_flag_and_max_timestamp() {
    let encoded = batch(Spec::at(0), &[kv("k", "1", 10), kv("j", "2", 20)]);
    // kafka-protocol's encoder cannot set the timestamp type: set the bit in the header.
    let mut header = validate_batch(&encoded).unwrap();
    header.attributes |= 0x08;
    let mut original = Vec::new();
    header.write_to(&mut original);
    original.extend_from_slice(&encoded[BATCH_HEADER_LEN..]);
    chronik_records::seal_batch(&mut original).unwrap();
    let newer = batch(Spec::at(2), &[kv("k", "3", 30)]);
    let map = map_all(&[original.clone(), newer], 0..3);
    let (filtered, out) = filter_one(&original, &map, NOW, RETENTION, &no_producers());
    assert_eq!(filtered.fate, BatchFate::Rewritten);
    let header = validate_batch(&out).unwrap();
    assert_eq!(header.attributes & 0x08, 0x08);
    assert_eq!(header.max_timestamp, 20);
}

#[test]
fn the_first_unkeyed_record_is_found_in_every_codec() {
    use chronik_compaction::first_unkeyed_record;
    for codec in CODECS {
        let keyed = batch(
            Spec::at(10).codec(codec),
            &[kv("a", "1", 1), kv("b", "2", 2)],
        );
        assert_eq!(
            first_unkeyed_record(&keyed, 1 << 20).unwrap(),
            None,
            "{codec:?}"
        );
        let mixed = batch(
            Spec::at(10).codec(codec),
            &[kv("a", "1", 1), unkeyed("u", 2)],
        );
        assert_eq!(
            first_unkeyed_record(&mixed, 1 << 20).unwrap(),
            Some(11),
            "{codec:?}"
        );
    }
    assert!(first_unkeyed_record(b"garbage", 1 << 20).is_err());
}

#[test]
fn every_unkeyed_record_is_named_by_its_position_in_the_batch() {
    use chronik_compaction::unkeyed_records;
    for codec in CODECS {
        let mixed = batch(
            Spec::at(10).codec(codec),
            &[
                unkeyed("u", 1),
                kv("a", "1", 2),
                unkeyed("v", 3),
                kv("b", "2", 4),
            ],
        );
        assert_eq!(
            unkeyed_records(&mixed, 1 << 20).unwrap(),
            vec![0, 2],
            "{codec:?}"
        );
        let keyed = batch(Spec::at(10).codec(codec), &[kv("a", "1", 1)]);
        assert!(unkeyed_records(&keyed, 1 << 20).unwrap().is_empty());
    }
    assert!(unkeyed_records(b"garbage", 1 << 20).is_err());
}

#[test]
fn a_batch_spans_its_records_timestamps_in_every_codec() {
    use chronik_compaction::timestamp_range;
    for codec in CODECS {
        let out_of_order = batch(
            Spec::at(0).codec(codec),
            &[
                kv("a", "1", 1_010),
                kv("b", "2", 1_000),
                kv("c", "3", 1_020),
            ],
        );
        assert_eq!(
            timestamp_range(&out_of_order, 1 << 20).unwrap(),
            Some((1_000, 1_020)),
            "{codec:?}"
        );
    }
    assert!(timestamp_range(b"garbage", 1 << 20).is_err());
}
