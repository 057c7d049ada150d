//! The compression configs of a topic: the codec its batches are stored with
//! (`compression.type`; `producer` keeps each producer's own) and the level the broker
//! compresses at when it converts a batch (KIP-390's `compression.gzip.level`,
//! `compression.lz4.level` and `compression.zstd.level`), with Kafka 3.9's values and
//! defaults.

use chronik_compaction::Codec;
use chronik_records::Compression;

pub(crate) const COMPRESSION_TYPE: &str = "compression.type";
pub(crate) const COMPRESSION_GZIP_LEVEL: &str = "compression.gzip.level";
pub(crate) const COMPRESSION_LZ4_LEVEL: &str = "compression.lz4.level";
pub(crate) const COMPRESSION_ZSTD_LEVEL: &str = "compression.zstd.level";

/// `compression.type` values, as Kafka spells them.
const TYPES: [(&str, Option<Compression>); 6] = [
    ("uncompressed", Some(Compression::None)),
    ("zstd", Some(Compression::Zstd)),
    ("lz4", Some(Compression::Lz4)),
    ("snappy", Some(Compression::Snappy)),
    ("gzip", Some(Compression::Gzip)),
    ("producer", None),
];

/// Kafka's "the codec's default" gzip level (`Deflater.DEFAULT_COMPRESSION`).
const GZIP_DEFAULT: i32 = -1;
/// zstd's fastest negative level, the smallest Kafka accepts.
const ZSTD_MIN_LEVEL: i32 = -131_072;
const ZSTD_MAX_LEVEL: i32 = 22;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompressionSettings {
    /// The codec batches are stored with; `None` keeps the producer's.
    target: Option<Compression>,
    gzip_level: i32,
    lz4_level: i32,
    zstd_level: i32,
}

impl Default for CompressionSettings {
    fn default() -> Self {
        CompressionSettings {
            target: None,
            gzip_level: GZIP_DEFAULT,
            lz4_level: Codec::LZ4_DEFAULT_LEVEL,
            zstd_level: Codec::ZSTD_DEFAULT_LEVEL,
        }
    }
}

impl CompressionSettings {
    /// Parses `value` into setting `name`; `Ok(false)` when `name` is not a compression config.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let level = |min: i32, max: i32| -> Result<i32, String> {
            match value.parse::<i32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(format!("must be a number from {min} to {max}")),
            }
        };
        match name {
            COMPRESSION_TYPE => {
                let Some(&(_, target)) = TYPES.iter().find(|(n, _)| *n == value) else {
                    let names: Vec<&str> = TYPES.iter().map(|(n, _)| *n).collect();
                    return Err(format!("must be one of {}", names.join(", ")));
                };
                self.target = target;
            }
            COMPRESSION_GZIP_LEVEL => {
                self.gzip_level = match value.parse::<i32>() {
                    Ok(n) if n == GZIP_DEFAULT || (1..=9).contains(&n) => n,
                    _ => return Err("must be -1 (the default) or a number from 1 to 9".into()),
                }
            }
            COMPRESSION_LZ4_LEVEL => self.lz4_level = level(1, 17)?,
            COMPRESSION_ZSTD_LEVEL => self.zstd_level = level(ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub fn value(&self, name: &str) -> Option<String> {
        Some(match name {
            COMPRESSION_TYPE => (TYPES.iter())
                .find(|(_, t)| *t == self.target)
                .map_or("producer", |(n, _)| n)
                .to_owned(),
            COMPRESSION_GZIP_LEVEL => self.gzip_level.to_string(),
            COMPRESSION_LZ4_LEVEL => self.lz4_level.to_string(),
            COMPRESSION_ZSTD_LEVEL => self.zstd_level.to_string(),
            _ => return None,
        })
    }

    /// The codec produced batches are converted to, at its configured level; `None` under
    /// `producer`, where batches are stored as they came.
    pub fn target(&self) -> Option<Codec> {
        let compression = self.target?;
        let level = match compression {
            Compression::Gzip if self.gzip_level == GZIP_DEFAULT => Codec::GZIP_DEFAULT_LEVEL,
            Compression::Gzip => self.gzip_level,
            Compression::Lz4 => self.lz4_level,
            Compression::Zstd => self.zstd_level,
            _ => 0,
        };
        Some(Codec { compression, level })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_levels_parse_render_and_pick_the_target() {
        let mut s = CompressionSettings::default();
        assert_eq!(s.value(COMPRESSION_TYPE).as_deref(), Some("producer"));
        assert_eq!(s.target(), None);
        assert_eq!(s.set(COMPRESSION_TYPE, "gzip"), Ok(true));
        assert_eq!(s.target(), Some(Codec::default_level(Compression::Gzip)));
        assert_eq!(s.set(COMPRESSION_GZIP_LEVEL, "9"), Ok(true));
        assert_eq!(s.target().map(|c| c.level), Some(9));
        assert_eq!(s.set(COMPRESSION_TYPE, "zstd"), Ok(true));
        assert_eq!(s.set(COMPRESSION_ZSTD_LEVEL, "-7"), Ok(true));
        let zstd = Codec {
            compression: Compression::Zstd,
            level: -7,
        };
        assert_eq!(s.target(), Some(zstd));
        assert_eq!(s.set(COMPRESSION_TYPE, "uncompressed"), Ok(true));
        assert_eq!(s.value(COMPRESSION_TYPE).as_deref(), Some("uncompressed"));
        assert_eq!(s.target().map(|c| c.compression), Some(Compression::None));
        assert_eq!(s.set("retention.ms", "1"), Ok(false));
    }

    #[test]
    fn bad_values_are_refused_and_change_nothing() {
        let mut s = CompressionSettings::default();
        for (k, v) in [
            (COMPRESSION_TYPE, "none"),
            (COMPRESSION_TYPE, "GZIP"),
            (COMPRESSION_GZIP_LEVEL, "0"),
            (COMPRESSION_GZIP_LEVEL, "10"),
            (COMPRESSION_LZ4_LEVEL, "18"),
            (COMPRESSION_ZSTD_LEVEL, "23"),
            (COMPRESSION_ZSTD_LEVEL, "-131073"),
            (COMPRESSION_ZSTD_LEVEL, "fast"),
        ] {
            assert!(s.set(k, v).is_err(), "{k}={v}");
        }
        assert_eq!(s, CompressionSettings::default());
    }
}
