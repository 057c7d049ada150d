//! Damaged batches are refused with an error that names the damage, and leave the output as
//! it was.

mod common;

use std::io::Write;

use chronik_compaction::{ActiveProducers, CleanPolicy, CompactionError, KeyMap, filter_batch};
use chronik_records::{BATCH_HEADER_LEN, BatchHeader, RecordsError, recompute_crc, seal_batch};
use common::*;

fn filter_err(batch: &[u8], limit: usize) -> CompactionError {
    let map = KeyMap::new(1 << 20, 0..1_000);
    let producers = ActiveProducers::new();
    let mut policy = CleanPolicy::new(0, 0, &producers);
    policy.uncompressed_limit = limit;
    let mut out = b"earlier".to_vec();
    let err = filter_batch(batch, &map, &policy, &mut out).unwrap_err();
    assert_eq!(out, b"earlier", "the output is left as it was");
    let mut map = KeyMap::new(1 << 20, 0..1_000).with_uncompressed_limit(limit);
    assert!(map.map_batch(batch).is_err(), "mapping refuses it too");
    err
}

/// A batch with `body` as its records section, `count` records and the given codec bits.
fn forged(body: &[u8], count: i32, codec_bits: i16) -> Vec<u8> {
    let template = batch(Spec::at(0), &[kv("k", "v", 1)]);
    let mut header = BatchHeader::parse(&template).unwrap();
    header.records_count = count;
    header.last_offset_delta = count.max(1) - 1;
    header.attributes = codec_bits;
    let mut out = Vec::new();
    header.write_to(&mut out);
    out.extend_from_slice(body);
    seal_batch(&mut out).unwrap();
    out
}

#[test]
fn a_bad_crc_is_refused() {
    let mut b = batch(Spec::at(0), &[kv("k", "v", 1)]);
    let last = b.len() - 1;
    b[last] ^= 1;
    let err = filter_err(&b, 1 << 20);
    assert!(
        matches!(
            err,
            CompactionError::Batch(RecordsError::CrcMismatch { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("CRC"), "{err}");
}

#[test]
fn an_unknown_codec_is_refused() {
    let b = forged(&[0; 8], 1, 6);
    let err = filter_err(&b, 1 << 20);
    assert!(
        matches!(
            err,
            CompactionError::Batch(RecordsError::UnknownCompression { .. })
        ),
        "{err}"
    );
}

#[test]
fn a_bad_varint_is_refused() {
    // A record length varint that never ends.
    let err = filter_err(&forged(&[0xff; 8], 1, 0), 1 << 20);
    assert!(
        matches!(err, CompactionError::BadRecord { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn a_record_count_above_what_the_body_holds_is_refused_without_reserving_for_it() {
    let one = batch(Spec::at(0), &[kv("k", "v", 1)]);
    let body = &one[BATCH_HEADER_LEN..];
    let err = filter_err(&forged(body, 1_000_000, 0), 1 << 20);
    assert!(
        matches!(
            err,
            CompactionError::CountMismatch {
                declared: 1_000_000,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bytes_after_the_last_record_are_refused() {
    let one = batch(Spec::at(0), &[kv("k", "v", 1)]);
    let mut body = one[BATCH_HEADER_LEN..].to_vec();
    body.push(0);
    let err = filter_err(&forged(&body, 1, 0), 1 << 20);
    assert!(
        matches!(err, CompactionError::BadRecord { index: 1, .. }),
        "{err}"
    );
}

#[test]
fn offsets_that_do_not_rise_are_refused() {
    let one = batch(Spec::at(0), &[kv("k", "v", 1)]);
    let record = &one[BATCH_HEADER_LEN..];
    let body = [record, record].concat();
    let err = filter_err(&forged(&body, 2, 0), 1 << 20);
    assert!(
        matches!(err, CompactionError::BadRecord { index: 1, .. }),
        "{err}"
    );
}

#[test]
fn a_gzip_bomb_stops_at_the_limit() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 4 << 20]).unwrap();
    let body = gz.finish().unwrap();
    let err = filter_err(&forged(&body, 1, 1), 1 << 20);
    assert!(
        matches!(
            err,
            CompactionError::DecompressedTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_snappy_block_announcing_gigabytes_is_refused_before_allocating() {
    // A raw snappy stream whose length preamble says 4 GiB - 1.
    let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    let err = filter_err(&forged(&body, 1, 2), 1 << 20);
    assert!(
        matches!(err, CompactionError::DecompressedTooLarge { .. }),
        "{err}"
    );
    let mut framed = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    let err = filter_err(&forged(&framed, 1, 2), 1 << 20);
    assert!(
        matches!(err, CompactionError::DecompressedTooLarge { .. }),
        "{err}"
    );
}

#[test]
fn damaged_compressed_data_is_refused_for_every_codec() {
    for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
        let mut b = batch(
            Spec::at(0).codec(codec),
            &[kv("k", "value", 1), kv("j", "w", 2)],
        );
        let end = b.len();
        for byte in &mut b[BATCH_HEADER_LEN + 4..end] {
            *byte = byte.wrapping_mul(31).wrapping_add(7);
        }
        recompute_crc(&mut b);
        let err = filter_err(&b, 1 << 20);
        assert!(
            matches!(
                err,
                CompactionError::Decompress { .. }
                    | CompactionError::BadRecord { .. }
                    | CompactionError::CountMismatch { .. }
            ),
            "{codec:?}: {err}"
        );
    }
}
