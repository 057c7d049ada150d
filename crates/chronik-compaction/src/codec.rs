//! The records section of a batch: decompressed with a bound on the output, compressed again
//! at a chosen level in the framing Kafka clients read (xerial snappy, LZ4 frames).
//!
//! kafka-protocol's own decompressors are not used: they have no output bound (a small gzip
//! batch can inflate a thousandfold) and its snappy path allocates whatever length the
//! compressed stream announces.

use std::borrow::Cow;
use std::io::{Read, Write};

use bytes::BytesMut;
use chronik_records::{BatchHeader, Compression, RecordsError};
use kafka_protocol::compression::{Compressor, Snappy};

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

/// Appends `records` to `out`, compressed with the batch's own codec at its default level.
pub(crate) fn compress_into(header: &BatchHeader, records: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let compression = header.compression();
    if compression == Compression::Unknown {
        let attributes = header.attributes;
        return Err(RecordsError::UnknownCompression { attributes }.into());
    }
    let codec = Codec::default_level(compression);
    compress_with(codec, header.base_offset, records, out)
}

/// A codec and the level to compress with, as the topic configs `compression.type` and
/// `compression.gzip.level` / `compression.lz4.level` / `compression.zstd.level` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    pub compression: Compression,
    /// Ignored for snappy and for no compression, which have no levels.
    pub level: i32,
}

impl Codec {
    /// Kafka's default gzip level (`Deflater.DEFAULT_COMPRESSION`, which zlib takes as 6).
    pub const GZIP_DEFAULT_LEVEL: i32 = 6;
    /// Kafka's default lz4 level (`CompressionType.LZ4.defaultLevel()`).
    pub const LZ4_DEFAULT_LEVEL: i32 = 9;
    /// Kafka's default zstd level, zstd's own default.
    pub const ZSTD_DEFAULT_LEVEL: i32 = 3;

    /// `compression` at Kafka's default level for it.
    pub fn default_level(compression: Compression) -> Self {
        let level = match compression {
            Compression::Gzip => Self::GZIP_DEFAULT_LEVEL,
            Compression::Lz4 => Self::LZ4_DEFAULT_LEVEL,
            Compression::Zstd => Self::ZSTD_DEFAULT_LEVEL,
            _ => 0,
        };
        Codec { compression, level }
    }
}

/// Appends `records` to `out`, compressed with `codec`, in the framing Kafka clients read
/// (gzip members, LZ4 frames of independent blocks, xerial snappy, zstd frames).
pub(crate) fn compress_with(
    codec: Codec,
    base_offset: chronik_types::Offset,
    records: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let fail = |reason: String| CompactionError::Compress {
        base_offset,
        codec: codec.compression.name(),
        reason,
    };
    match codec.compression {
        Compression::None => out.extend_from_slice(records),
        Compression::Gzip => {
            let level = flate2::Compression::new(codec.level.clamp(1, 9).unsigned_abs());
            let mut encoder = flate2::write::GzEncoder::new(out, level);
            encoder
                .write_all(records)
                .map_err(|e| fail(e.to_string()))?;
            encoder.finish().map_err(|e| fail(e.to_string()))?;
        }
        Compression::Lz4 => {
            let mut encoder = lz4::EncoderBuilder::new()
                .level(codec.level.clamp(1, 17).unsigned_abs())
                .block_mode(lz4::BlockMode::Independent)
                .build(out)
                .map_err(|e| fail(e.to_string()))?;
            encoder
                .write_all(records)
                .map_err(|e| fail(e.to_string()))?;
            encoder.finish().1.map_err(|e| fail(e.to_string()))?;
        }
        Compression::Zstd => {
            zstd::stream::copy_encode(records, out, codec.level).map_err(|e| fail(e.to_string()))?
        }
        Compression::Snappy => {
            let fill = |tmp: &mut BytesMut| {
                tmp.extend_from_slice(records);
                Ok(())
            };
            <Snappy as Compressor<Vec<u8>>>::compress(out, fill).map_err(|e| fail(e.to_string()))?
        }
        Compression::Unknown => return Err(fail("the codec is unknown".to_owned())),
    }
    Ok(())
}
