//! Decoding responses without letting the server choose our allocations.
//!
//! kafka-protocol 0.18 decodes an array by reading its element count and calling
//! `Vec::with_capacity(count)` first (see `chronik-kafka`'s `guard` module, which does the same
//! for requests). A broadcast 2^31 count would abort the process, which cannot be caught. Every
//! element takes at least one byte, so a count above the bytes left is impossible; this reader
//! refuses such reads:
//! - varints (flexible versions): a varint whose value exceeds the bytes left (+1 for the null
//!   encoding) fails the decode. Only varints and booleans are read through `try_get_u8`, and an
//!   honest boolean is 0 or 1.
//! - `i32`s (older versions): a count cannot be told from a plain field, so the first decode is a
//!   probe that replaces every `i32` above the bytes left with `-2` (rejected by every length
//!   decoder, and plain fields never steer decoding). If the probe fails after a replacement the
//!   response carried an impossible count; if it succeeds, the decode is repeated unmodified.

use std::ops::Range;

use bytes::{Buf, Bytes, TryGetError};
use kafka_protocol::protocol::Decodable;
use kafka_protocol::protocol::buf::{ByteBuf, NotEnoughBytesError};

const MAX_VARINT_BYTES: usize = 5;
const IMPOSSIBLE_LENGTH: i32 = -2;

struct GuardedBuf {
    inner: Bytes,
    probe: bool,
    replaced: bool,
}

impl GuardedBuf {
    fn varint_ahead(&self) -> Option<(u64, usize)> {
        let mut value = 0u64;
        for (i, &b) in self.inner.iter().take(MAX_VARINT_BYTES).enumerate() {
            value |= u64::from(b & 0x7F) << (7 * i);
            if b < 0x80 || i + 1 == MAX_VARINT_BYTES {
                return Some((value, self.inner.len() - (i + 1)));
            }
        }
        None
    }
}

impl Buf for GuardedBuf {
    fn remaining(&self) -> usize {
        self.inner.remaining()
    }

    fn chunk(&self) -> &[u8] {
        self.inner.chunk()
    }

    fn advance(&mut self, cnt: usize) {
        self.inner.advance(cnt)
    }

    fn try_get_u8(&mut self) -> Result<u8, TryGetError> {
        let Some(&first) = self.inner.first() else {
            return Err(TryGetError {
                requested: 1,
                available: 0,
            });
        };
        if first >= 0x80
            && let Some((value, left)) = self.varint_ahead()
            && value > left as u64 + 1
        {
            return Err(TryGetError {
                requested: usize::try_from(value).unwrap_or(usize::MAX),
                available: left,
            });
        }
        self.inner.advance(1);
        Ok(first)
    }

    fn try_get_i32(&mut self) -> Result<i32, TryGetError> {
        let value = self.inner.try_get_i32()?;
        let impossible = usize::try_from(value).is_ok_and(|v| v > self.inner.len());
        if impossible && self.probe {
            self.replaced = true;
            return Ok(IMPOSSIBLE_LENGTH);
        }
        Ok(value)
    }
}

impl ByteBuf for GuardedBuf {
    fn peek_bytes(&mut self, r: Range<usize>) -> Bytes {
        self.inner.peek_bytes(r)
    }

    fn get_bytes(&mut self, size: usize) -> Bytes {
        self.inner.get_bytes(size)
    }

    fn try_peek_bytes(&mut self, r: Range<usize>) -> Result<Bytes, NotEnoughBytesError> {
        self.inner.try_peek_bytes(r)
    }

    fn try_get_bytes(&mut self, size: usize) -> Result<Bytes, NotEnoughBytesError> {
        self.inner.try_get_bytes(size)
    }
}

/// Decodes a response body (the header already removed) of type `T` at `version`.
pub(crate) fn decode_body<T: Decodable>(
    body: Bytes,
    version: i16,
    flexible: bool,
) -> Result<T, String> {
    let mut first = GuardedBuf {
        inner: body.clone(),
        probe: !flexible,
        replaced: false,
    };
    match T::decode(&mut first, version) {
        Ok(decoded) if !first.replaced => Ok(decoded),
        Ok(_) => {
            let mut plain = GuardedBuf {
                inner: body,
                probe: false,
                replaced: false,
            };
            T::decode(&mut plain, version).map_err(|e| e.to_string())
        }
        Err(_) if first.replaced => {
            Err("an element count exceeds the bytes left in the response".to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::MetadataResponse;
    use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn encoded(version: i16) -> Bytes {
        let resp = MetadataResponse::default().with_brokers(vec![
            MetadataResponseBroker::default()
                .with_host(StrBytes::from_static_str("localhost"))
                .with_port(9092),
        ]);
        let mut buf = BytesMut::new();
        resp.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    #[test]
    fn honest_responses_decode_in_both_modes() {
        let r: MetadataResponse = decode_body(encoded(12), 12, true).unwrap();
        assert_eq!(r.brokers[0].port, 9092);
        // Port 9092 exceeds the bytes left: the probe replaces it, the second pass restores it.
        let r: MetadataResponse = decode_body(encoded(1), 1, false).unwrap();
        assert_eq!(r.brokers[0].port, 9092);
    }

    #[test]
    fn impossible_counts_are_refused_without_allocating() {
        // v1: throttle? no, v1 starts with the brokers array count (i32).
        let mut v1 = encoded(1).to_vec();
        v1[..4].copy_from_slice(&i32::MAX.to_be_bytes());
        let err = decode_body::<MetadataResponse>(Bytes::from(v1), 1, false).unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
        // v12: throttle_time_ms (4 bytes), then the compact brokers array count (varint).
        let mut v12 = encoded(12).to_vec();
        v12.splice(4..5, [0xff, 0xff, 0xff, 0xff, 0x07]);
        assert!(decode_body::<MetadataResponse>(Bytes::from(v12), 12, true).is_err());
    }
}
