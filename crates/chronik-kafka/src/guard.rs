//! Keeping kafka-protocol's decoders from allocating by attacker-chosen counts.
//!
//! kafka-protocol 0.18 decodes an array by reading its element count (an `i32`, or a varint in
//! flexible versions) and calling `Vec::with_capacity(count)` before decoding a single element
//! (`protocol/types.rs`, `Array::decode` and `CompactArray::decode`; upstream PRs #152/#161/#200
//! were still open). A 20-byte request announcing 2^31 elements asks the allocator for
//! `2^31 * size_of::<Element>()` bytes, and an allocation failure aborts the process: it cannot be
//! caught like a panic. Strings and byte fields are safe: they check the bytes remaining first.
//!
//! Every array element occupies at least one byte on the wire, so a count above the bytes left in
//! the frame is impossible. [`GuardedBuf`] wraps the frame and enforces that on the decoder's own
//! reads, keeping each pre-allocation below `remaining bytes * size_of::<Element>()`:
//! - varints: in Chronik's supported requests a byte `>= 0x80` is only ever the start or middle
//!   of a varint (int8/bool fields are small), and every varint is a length, a tag or a tagged
//!   field count, none legitimately above the bytes left. A read of such a byte looks ahead, and a
//!   varint whose value exceeds the bytes left (+1 for the null encoding) fails the decode.
//! - `i32`s: an array count cannot be told from a plain field (timeouts exceed the bytes left), so
//!   the first decode runs in probe mode: an `i32` above the bytes left is replaced by `-2`, which
//!   every array, bytes and string decoder rejects as a negative length and which changes nothing
//!   else (plain fields never steer decoding). If the probe fails after a replacement, the frame
//!   carried an impossible count; if it succeeds, the decode is repeated without replacement.
//!   Flexible versions skip the probe: in kafka-protocol 0.18's request decoders every
//!   `i32`-counted array or byte field sits behind `version < first flexible version` (checked
//!   by script over the 24 supported request types when this was written).
//!
//! Remaining exposure: a count within the bytes left still pre-allocates up to
//! `count * size_of::<Element>()` (tens of bytes per element), i.e. a small multiple of the frame,
//! which `max_request_bytes` bounds. A legitimate request carrying a tag number above the bytes
//! left would be refused; no Kafka schema defines tags that large.

use std::ops::Range;

use bytes::{Buf, Bytes, TryGetError};
use kafka_protocol::protocol::buf::ByteBuf;

/// Whether oversized `i32`s are replaced (the probe) or passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum I32Mode {
    Probe,
    PassThrough,
}

/// A frame reader that refuses reads kafka-protocol would turn into oversized allocations.
pub(crate) struct GuardedBuf {
    inner: Bytes,
    mode: I32Mode,
    /// Set once the probe replaced an `i32`; the probe's result is then not the real request.
    pub(crate) replaced: bool,
}

/// Longest unsigned varint kafka-protocol reads.
const MAX_VARINT_BYTES: usize = 5;

/// The marker substituted for an oversized `i32` while probing.
const IMPOSSIBLE_LENGTH: i32 = -2;

impl GuardedBuf {
    pub(crate) fn new(inner: Bytes, mode: I32Mode) -> Self {
        Self {
            inner,
            mode,
            replaced: false,
        }
    }

    /// Value of the varint starting at the front and the bytes left after it (`None` if truncated).
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
        if first >= 0x80 {
            // A truncated varint fails on its own when the decoder reaches the end.
            if let Some((value, left)) = self.varint_ahead()
                && value > left as u64 + 1
            {
                return Err(TryGetError {
                    requested: usize::try_from(value).unwrap_or(usize::MAX),
                    available: left,
                });
            }
        }
        self.inner.advance(1);
        Ok(first)
    }

    fn try_get_i32(&mut self) -> Result<i32, TryGetError> {
        let value = self.inner.try_get_i32()?;
        let impossible = usize::try_from(value).is_ok_and(|v| v > self.inner.len());
        if impossible && self.mode == I32Mode::Probe {
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

    fn try_peek_bytes(
        &mut self,
        r: Range<usize>,
    ) -> Result<Bytes, kafka_protocol::protocol::buf::NotEnoughBytesError> {
        self.inner.try_peek_bytes(r)
    }

    fn try_get_bytes(
        &mut self,
        size: usize,
    ) -> Result<Bytes, kafka_protocol::protocol::buf::NotEnoughBytesError> {
        self.inner.try_get_bytes(size)
    }
}

/// Decodes one message body of type `T` at `version` through the guard: for flexible versions
/// in one pass, for older ones with the `i32` probe first. Clients use it for responses, so a
/// server cannot choose their allocations either. The error says what was wrong.
pub fn decode_guarded<T: kafka_protocol::protocol::Decodable>(
    body: Bytes,
    version: i16,
    flexible: bool,
) -> std::result::Result<T, String> {
    let mode = if flexible {
        I32Mode::PassThrough
    } else {
        I32Mode::Probe
    };
    let mut first = GuardedBuf::new(body.clone(), mode);
    match T::decode(&mut first, version) {
        Ok(decoded) if !first.replaced => Ok(decoded),
        Ok(_) => {
            let mut plain = GuardedBuf::new(body, I32Mode::PassThrough);
            T::decode(&mut plain, version).map_err(|e| e.to_string())
        }
        Err(_) if first.replaced => {
            Err("an element count exceeds the bytes left in the message".to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}
