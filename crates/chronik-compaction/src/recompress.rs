//! A produced batch recompressed with its topic's `compression.type`, as Kafka's
//! `LogValidator` does when the producer used another codec: the records section is
//! decompressed (bounded) and compressed again, while offsets, timestamps, producer fields,
//! partition leader epoch and flags stay as they were.

use chronik_records::{BatchHeader, seal_batch};

use crate::batch::{check_batch, records_of};
use crate::codec::{Codec, compress_with};
use crate::{CompactionError, Result};

/// `batch` with its records compressed by `target`, or `None` when it already uses that codec
/// (the level is not compared, as in Kafka) or is a control batch (the broker writes those,
/// always uncompressed). Records decompress to at most `uncompressed_limit` bytes; a damaged
/// batch, or one larger once decompressed, is an error.
pub fn recompress_batch(
    batch: &[u8],
    target: Codec,
    uncompressed_limit: usize,
) -> Result<Option<Vec<u8>>> {
    let header = check_batch(batch)?;
    if header.is_control() || header.compression() == target.compression {
        return Ok(None);
    }
    let bits = target
        .compression
        .attribute_bits()
        .ok_or(CompactionError::Compress {
            base_offset: header.base_offset,
            codec: target.compression.name(),
            reason: "the codec is unknown".to_owned(),
        })?;
    let records = records_of(batch, &header, uncompressed_limit)?;
    let rebuilt = BatchHeader {
        attributes: (header.attributes & !0x07) | bits,
        ..header
    };
    let mut out = Vec::with_capacity(batch.len().max(records.len() / 2));
    rebuilt.write_to(&mut out);
    compress_with(target, header.base_offset, &records, &mut out)?;
    seal_batch(&mut out).map_err(|_| CompactionError::RewrittenTooLarge {
        base_offset: header.base_offset,
        size: out.len(),
    })?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::records_of;
    use chronik_records::{Compression, build_batch, validate_batch};

    const LIMIT: usize = 1 << 20;

    fn codecs() -> [Compression; 5] {
        [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ]
    }

    #[test]
    fn every_codec_converts_to_every_other_and_keeps_the_records_and_fields() {
        let values: Vec<Vec<u8>> = (0..200)
            .map(|i| format!("value-{i}").repeat(4).into())
            .collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let mut plain = build_batch(&refs, 1_700_000_000_000);
        let mut header = validate_batch(&plain).unwrap();
        header.base_offset = 42;
        header.producer_id = 7;
        header.producer_epoch = 2;
        header.base_sequence = 11;
        header.partition_leader_epoch = 5;
        let mut fields = Vec::new();
        header.write_to(&mut fields);
        plain.splice(..fields.len(), fields);
        seal_batch(&mut plain).unwrap();
        let expected = records_of(&plain, &validate_batch(&plain).unwrap(), LIMIT)
            .unwrap()
            .into_owned();

        for from in codecs() {
            let source = match recompress_batch(&plain, Codec::default_level(from), LIMIT).unwrap()
            {
                Some(b) => b,
                None => plain.clone(),
            };
            for to in codecs() {
                let out = recompress_batch(&source, Codec::default_level(to), LIMIT).unwrap();
                let Some(out) = out else {
                    assert_eq!(from, to, "only the same codec is left alone");
                    continue;
                };
                let got = validate_batch(&out).unwrap();
                assert_eq!(got.compression(), to, "{from:?} -> {to:?}");
                let before = validate_batch(&source).unwrap();
                assert_eq!(
                    BatchHeader {
                        attributes: before.attributes,
                        batch_length: before.batch_length,
                        crc: before.crc,
                        ..got
                    },
                    before,
                    "fields kept converting {from:?} -> {to:?}"
                );
                let records = records_of(&out, &got, LIMIT).unwrap();
                assert_eq!(records.as_ref(), expected.as_slice(), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn levels_change_the_output_not_the_records() {
        let values: Vec<Vec<u8>> = (0..500)
            .map(|i| format!("{i:08}").repeat(8).into())
            .collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let plain = build_batch(&refs, 1);
        for (compression, low, high) in [
            (Compression::Gzip, 1, 9),
            (Compression::Lz4, 1, 17),
            (Compression::Zstd, -5, 19),
        ] {
            let fast = recompress_batch(
                &plain,
                Codec {
                    compression,
                    level: low,
                },
                LIMIT,
            )
            .unwrap()
            .unwrap();
            let small = recompress_batch(
                &plain,
                Codec {
                    compression,
                    level: high,
                },
                LIMIT,
            )
            .unwrap()
            .unwrap();
            assert!(
                small.len() <= fast.len(),
                "{compression:?}: {} > {}",
                small.len(),
                fast.len()
            );
            for out in [fast, small] {
                let header = validate_batch(&out).unwrap();
                let records = records_of(&out, &header, LIMIT).unwrap();
                assert_eq!(
                    records.as_ref(),
                    &plain[chronik_records::BATCH_HEADER_LEN..]
                );
            }
        }
    }

    #[test]
    fn a_batch_larger_than_the_limit_once_decompressed_is_refused() {
        let big = vec![0u8; 64 * 1024];
        let gz = recompress_batch(
            &build_batch(&[&big], 1),
            Codec::default_level(Compression::Gzip),
            LIMIT,
        )
        .unwrap()
        .unwrap();
        let err = recompress_batch(&gz, Codec::default_level(Compression::Zstd), 1024).unwrap_err();
        assert!(
            matches!(err, CompactionError::DecompressedTooLarge { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_damaged_batch_is_refused() {
        let mut batch = build_batch(&[b"a"], 1);
        let last = batch.len() - 1;
        batch[last] ^= 0xff;
        assert!(recompress_batch(&batch, Codec::default_level(Compression::Lz4), LIMIT).is_err());
    }
}
