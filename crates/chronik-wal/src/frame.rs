//! The on-disk frame: a fixed header protected by a CRC-32 (IEEE, `crc32fast`) over the header's
//! fields and the payload. The payload is stored byte for byte.
//!
//! ```text
//! 0  u32 magic          "CHRF"
//! 4  u32 payload length
//! 8  u32 crc32          over bytes 12..40 and the payload
//! 12 i64 base offset
//! 20 i64 last offset
//! 28 i64 max timestamp
//! 36 i32 leader epoch
//! 40 payload
//! ```

use chronik_types::{LeaderEpoch, Offset};

pub const FRAME_MAGIC: u32 = u32::from_be_bytes(*b"CHRF");
pub const FRAME_HEADER_LEN: usize = 40;
/// The largest payload a frame may carry. A larger length field is corruption, never an
/// allocation request.
pub const MAX_FRAME_PAYLOAD: u32 = 128 * 1024 * 1024;

/// What a frame says about its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FrameMeta {
    pub base_offset: Offset,
    pub last_offset: Offset,
    pub max_timestamp: i64,
    pub leader_epoch: LeaderEpoch,
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub payload_len: u32,
    pub crc: u32,
    pub meta: FrameMeta,
}

/// Why bytes at some position are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FrameDefect {
    /// Fewer bytes remain than the header or its payload needs: a torn write.
    Torn {
        needed: u64,
        available: u64,
    },
    BadMagic {
        found: u32,
    },
    LengthTooLarge {
        length: u32,
    },
    OffsetsReversed,
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
    /// The frame's offsets do not follow the previous frame's.
    OffsetGap {
        expected_at_least: Offset,
        found: Offset,
    },
    /// The payload is not the Kafka batch the header describes.
    PayloadMismatch {
        reason: String,
    },
    /// All zeroes where a frame should start (a preallocated or zero-filled tail).
    ZeroFill,
    /// Offsets no log can hold: negative, or so large that no offset could follow.
    OffsetOutOfBounds,
}

impl std::fmt::Display for FrameDefect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Torn { needed, available } => write!(
                f,
                "torn frame: needs {needed} bytes but only {available} remain"
            ),
            Self::BadMagic { found } => write!(f, "bad frame magic {found:#010x}"),
            Self::LengthTooLarge { length } => {
                write!(
                    f,
                    "frame length {length} exceeds the {MAX_FRAME_PAYLOAD}-byte limit"
                )
            }
            Self::OffsetsReversed => f.write_str("frame's last offset is before its base offset"),
            Self::CrcMismatch { stored, computed } => write!(
                f,
                "frame CRC-32 mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Self::OffsetGap {
                expected_at_least,
                found,
            } => write!(
                f,
                "frame base offset {found} goes backwards (expected at least {expected_at_least})"
            ),
            Self::PayloadMismatch { reason } => write!(f, "payload does not match frame: {reason}"),
            Self::ZeroFill => f.write_str("zero-filled bytes where a frame should start"),
            Self::OffsetOutOfBounds => {
                f.write_str("frame offsets are negative or at the largest possible offset")
            }
        }
    }
}

impl FrameHeader {
    /// Encodes a header for `payload`, computing its CRC.
    pub fn encode(meta: &FrameMeta, payload: &[u8]) -> [u8; FRAME_HEADER_LEN] {
        Self::encode_parts(meta, [payload, &[]])
    }

    /// Encodes a header for a payload written in two parts, one after the other.
    pub fn encode_parts(meta: &FrameMeta, payload: [&[u8]; 2]) -> [u8; FRAME_HEADER_LEN] {
        let len = payload[0].len() + payload[1].len();
        let mut h = [0u8; FRAME_HEADER_LEN];
        h[0..4].copy_from_slice(&FRAME_MAGIC.to_be_bytes());
        h[4..8].copy_from_slice(&(len as u32).to_be_bytes());
        h[12..20].copy_from_slice(&meta.base_offset.to_be_bytes());
        h[20..28].copy_from_slice(&meta.last_offset.to_be_bytes());
        h[28..36].copy_from_slice(&meta.max_timestamp.to_be_bytes());
        h[36..40].copy_from_slice(&meta.leader_epoch.to_be_bytes());
        let crc = frame_crc(&h, payload);
        h[8..12].copy_from_slice(&crc.to_be_bytes());
        h
    }

    /// Decodes and sanity-checks a header; the payload CRC is checked by [`FrameHeader::check_crc`].
    pub fn decode(h: &[u8; FRAME_HEADER_LEN]) -> Result<Self, FrameDefect> {
        let u32_at = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let i64_at = |at: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&h[at..at + 8]);
            i64::from_be_bytes(raw)
        };
        let magic = u32_at(0);
        if magic != FRAME_MAGIC {
            if h.iter().all(|b| *b == 0) {
                return Err(FrameDefect::ZeroFill);
            }
            return Err(FrameDefect::BadMagic { found: magic });
        }
        let payload_len = u32_at(4);
        if payload_len > MAX_FRAME_PAYLOAD {
            return Err(FrameDefect::LengthTooLarge {
                length: payload_len,
            });
        }
        let meta = FrameMeta {
            base_offset: i64_at(12),
            last_offset: i64_at(20),
            max_timestamp: i64_at(28),
            leader_epoch: u32_at(36) as i32,
        };
        if meta.last_offset < meta.base_offset {
            return Err(FrameDefect::OffsetsReversed);
        }
        if meta.base_offset < 0 || meta.last_offset == Offset::MAX {
            return Err(FrameDefect::OffsetOutOfBounds);
        }
        Ok(Self {
            payload_len,
            crc: u32_at(8),
            meta,
        })
    }

    /// Bytes the whole frame occupies.
    pub fn frame_len(&self) -> u64 {
        FRAME_HEADER_LEN as u64 + u64::from(self.payload_len)
    }

    pub fn check_crc(&self, h: &[u8; FRAME_HEADER_LEN], payload: &[u8]) -> Result<(), FrameDefect> {
        let computed = frame_crc(h, [payload, &[]]);
        if computed == self.crc {
            Ok(())
        } else {
            Err(FrameDefect::CrcMismatch {
                stored: self.crc,
                computed,
            })
        }
    }
}

fn frame_crc(h: &[u8; FRAME_HEADER_LEN], payload: [&[u8]; 2]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&h[12..]);
    payload.iter().for_each(|part| hasher.update(part));
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> FrameMeta {
        FrameMeta {
            base_offset: 10,
            last_offset: 14,
            max_timestamp: 99,
            leader_epoch: 3,
        }
    }

    #[test]
    fn header_round_trips_and_crc_covers_payload() {
        let payload = b"hello frame";
        let h = FrameHeader::encode(&meta(), payload);
        let decoded = FrameHeader::decode(&h).unwrap();
        assert_eq!(decoded.meta, meta());
        assert_eq!(decoded.payload_len, payload.len() as u32);
        decoded.check_crc(&h, payload).unwrap();
        assert!(decoded.check_crc(&h, b"hellO frame").is_err());
    }

    #[test]
    fn a_huge_length_is_a_defect_not_an_allocation() {
        let mut h = FrameHeader::encode(&meta(), b"x");
        h[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            FrameHeader::decode(&h),
            Err(FrameDefect::LengthTooLarge { length: u32::MAX })
        );
    }

    #[test]
    fn zeroes_and_garbage_are_named() {
        assert_eq!(
            FrameHeader::decode(&[0u8; FRAME_HEADER_LEN]),
            Err(FrameDefect::ZeroFill)
        );
        assert!(matches!(
            FrameHeader::decode(&[7u8; FRAME_HEADER_LEN]),
            Err(FrameDefect::BadMagic { .. })
        ));
    }
}
