//! The records section of a batch: decompressed with a bound on the output, compressed again
//! with kafka-protocol's compressors (the framing Kafka clients read: xerial snappy, LZ4 frames).
//!
//! kafka-protocol's own decompressors are not used: they have no output bound (a small gzip
//! batch can inflate a thousandfold) and its snappy path allocates whatever length the
//! compressed stream announces.

use std::borrow::Cow;
use std::io::Read;

use bytes::BytesMut;
use chronik_records::{BatchHeader, Compression, RecordsError};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

use crate::{CompactionError, Result};

/// The 8-byte magic that opens xerial-framed snappy (followed by two 4-byte versions).
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

/// The batch's records section, decompressed; borrowed when the batch is uncompressed.
pub(crate) fn decompress<'a>(
    header: &BatchHeader,
    body: &'a [u8],
    limit: usize,
) -> Result<Cow<'a, [u8]>> {
    let codec = header.compression();
    let fail = |reason: String| CompactionError::Decompress {
        base_offset: header.base_offset,
        codec: codec.name(),
        reason,
    };
    let out = match codec {
        Compression::None => return Ok(Cow::Borrowed(body)),
        Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(body), limit),
        Compression::Lz4 => match lz4::Decoder::new(body) {
            Ok(decoder) => read_bounded(decoder, limit),
            Err(e) => Err(Inflate::Failed(e.to_string())),
        },
        Compression::Zstd => match zstd::stream::read::Decoder::new(body) {
            Ok(decoder) => read_bounded(decoder, limit),
            Err(e) => Err(Inflate::Failed(e.to_string())),
        },
        Compression::Snappy => snappy(body, limit),
        Compression::Unknown => {
            return Err(RecordsError::UnknownCompression {
                attributes: header.attributes,
            }
            .into());
        }
    };
    match out {
        Ok(records) => Ok(Cow::Owned(records)),
        Err(Inflate::Failed(reason)) => Err(fail(reason)),
        Err(Inflate::TooLarge) => Err(CompactionError::DecompressedTooLarge {
            base_offset: header.base_offset,
            limit,
        }),
    }
}

enum Inflate {
    Failed(String),
    TooLarge,
}

/// Reads at most `limit` bytes; one more means the stream is too large.
fn read_bounded(reader: impl Read, limit: usize) -> Result<Vec<u8>, Inflate> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    (reader.take(cap).read_to_end(&mut out)).map_err(|e| Inflate::Failed(e.to_string()))?;
    if out.len() > limit {
        return Err(Inflate::TooLarge);
    }
    Ok(out)
}

/// Kafka's snappy is xerial-framed (blocks each prefixed by their 4-byte length); like the
/// Java client, a stream without the xerial magic is read as one raw snappy block.
fn snappy(body: &[u8], limit: usize) -> Result<Vec<u8>, Inflate> {
    let mut out = Vec::new();
    if !body.starts_with(XERIAL_MAGIC) {
        snappy_block(body, &mut out, limit)?;
        return Ok(out);
    }
    let mut rest = body
        .get(XERIAL_HEADER_LEN..)
        .ok_or_else(|| Inflate::Failed("the xerial snappy header is cut short".to_string()))?;
    while !rest.is_empty() {
        let (len, after) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| Inflate::Failed("a snappy block length is cut short".to_string()))?;
        let len = u32::from_be_bytes(*len) as usize;
        let block = after
            .get(..len)
            .ok_or_else(|| Inflate::Failed("a snappy block runs past the batch".to_string()))?;
        snappy_block(block, &mut out, limit)?;
        rest = &after[len..];
    }
    Ok(out)
}

/// Appends one raw snappy block, checking its announced length against what is left of the
/// limit before allocating for it.
fn snappy_block(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), Inflate> {
    let len = snap::raw::decompress_len(block).map_err(|e| Inflate::Failed(e.to_string()))?;
    if len > limit.saturating_sub(out.len()) {
        return Err(Inflate::TooLarge);
    }
    let start = out.len();
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| Inflate::Failed(e.to_string()))?;
    out.truncate(start + written);
    Ok(())
}

/// Appends `records` to `out`, compressed with `codec`.
pub(crate) fn compress_into(header: &BatchHeader, records: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let codec = header.compression();
    let fill = |tmp: &mut BytesMut| {
        tmp.extend_from_slice(records);
        Ok(())
    };
    let done = match codec {
        Compression::None => {
            out.extend_from_slice(records);
            Ok(())
        }
        Compression::Gzip => <Gzip as Compressor<Vec<u8>>>::compress(out, fill),
        Compression::Snappy => <Snappy as Compressor<Vec<u8>>>::compress(out, fill),
        Compression::Lz4 => <Lz4 as Compressor<Vec<u8>>>::compress(out, fill),
        Compression::Zstd => <Zstd as Compressor<Vec<u8>>>::compress(out, fill),
        Compression::Unknown => {
            return Err(RecordsError::UnknownCompression {
                attributes: header.attributes,
            }
            .into());
        }
    };
    done.map_err(|e| CompactionError::Compress {
        base_offset: header.base_offset,
        codec: codec.name(),
        reason: e.to_string(),
    })
}
