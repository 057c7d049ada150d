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
//! - varints: in Chronik's supported messages a byte `>= 0x80` is only ever the start or middle of
//!   a varint (int8 fields are not read byte-wise and booleans are 0 or 1), so a read of such a
//!   byte looks ahead. A varint above both the bytes left (+1 for the null encoding) and 127 is
//!   impossible as a length or count, but it may be a tagged field's tag, which KIP-482 makes a
//!   31-bit number unrelated to the message size (and which decides nothing in kafka-protocol but
//!   the key of `unknown_tagged_fields`: every tag it knows is below 4). If the previous read
//!   cannot have left the decoder inside a varint, it is handed a one-byte stand-in, 127, which is
//!   harmless as a count, and the varint is taken for a tag only if the decoder's next reads are
//!   exactly an unknown tagged field's: a size varint, then that many bytes in one
//!   `try_get_bytes`. No length or count is followed by that (elements follow, or the bytes of a
//!   compact string, one fewer than its varint). Anything else refuses the message; if it was a
//!   tag, the decode is repeated with those tags passed through. A tag above 2^31 - 1 is refused:
//!   it is not a 31-bit tag, and kafka-protocol 0.18 would keep it as a negative `i32` key that
//!   its encoders count but never write (`write_unknown_tagged_fields(buf, 0.., ..)`), producing
//!   a message that does not decode.
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
//! which `max_request_bytes` bounds; a count of up to 127 is never checked.

use std::ops::Range;

use bytes::{Buf, Bytes, TryGetError};
use kafka_protocol::protocol::buf::{ByteBuf, NotEnoughBytesError};

/// Whether oversized `i32`s are replaced (the probe) or passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum I32Mode {
    Probe,
    PassThrough,
}

/// What to do with a varint that is too large for a length or count.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    /// Hand the decoder a stand-in and see whether it is read as a tag.
    Probe,
    /// Pass through the varints starting at these offsets (tags confirmed by a probe); refuse
    /// every other.
    Confirmed(Vec<usize>),
}

/// A varint too large for a length or count: where it starts, its value and the bytes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Suspect {
    at: usize,
    value: u32,
    left: usize,
}

impl Suspect {
    fn refusal(self) -> String {
        format!(
            "a length or count of {} at byte {} exceeds the {} bytes left in the message",
            self.value, self.at, self.left
        )
    }
}

/// Progress of a suspect varint through the reads an unknown tagged field makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Idle,
    /// The stand-in was read; next comes the size varint, `read` bytes of it so far.
    Size {
        suspect: Suspect,
        size: u32,
        read: usize,
    },
    /// Next: exactly `size` bytes in one `try_get_bytes`.
    Data {
        suspect: Suspect,
        size: u32,
    },
}

/// A frame reader that refuses reads kafka-protocol would turn into oversized allocations.
pub(crate) struct GuardedBuf {
    inner: Bytes,
    len: usize,
    mode: I32Mode,
    tags: Tags,
    pending: Pending,
    /// Offsets of the suspect varints read as tags.
    confirmed: Vec<usize>,
    /// Bytes still to read of a confirmed tag, which are not looked at again.
    in_tag: usize,
    /// Whether the last read was a `try_get_u8` returning a byte `>= 0x80`, i.e. the decoder may
    /// be in the middle of a varint.
    after_high_byte: bool,
    /// Set once a read was refused; every later read fails.
    refused: Option<String>,
    /// Set once the probe replaced an `i32`; the probe's result is then not the real request.
    replaced: bool,
}

/// Longest unsigned varint kafka-protocol reads.
const MAX_VARINT_BYTES: usize = 5;

/// Varints up to this value are never suspect: as a count it allocates little, and it keeps
/// every tag kafka-protocol knows (0..=3) out of the stand-in path.
const ALWAYS_ALLOWED: u32 = 0x7F;

/// The marker substituted for an oversized `i32` while probing.
const IMPOSSIBLE_LENGTH: i32 = -2;

/// What the decoder reads instead of a suspect varint while probing: one byte, 127, so that it
/// ends the varint at once whatever the suspect's length.
const STAND_IN: u8 = 0x7F;

impl GuardedBuf {
    fn new(inner: Bytes, mode: I32Mode, tags: Tags) -> Self {
        Self {
            len: inner.len(),
            inner,
            mode,
            tags,
            pending: Pending::Idle,
            confirmed: Vec::new(),
            in_tag: 0,
            after_high_byte: false,
            refused: None,
            replaced: false,
        }
    }

    fn offset(&self) -> usize {
        self.len - self.inner.len()
    }

    /// Whether reads must fail: after a refusal, or while a suspect varint must be followed by
    /// the reads of a tagged field (so that `Buf`'s default readers, which ask `remaining()`
    /// first, cannot read anything else).
    fn blocked(&self) -> bool {
        self.refused.is_some() || self.pending != Pending::Idle
    }

    /// Why the message is refused, if it is: a refused read, or a suspect varint whose tagged
    /// field was not read to the end.
    fn refusal(&self) -> Option<String> {
        match self.pending {
            _ if self.refused.is_some() => self.refused.clone(),
            Pending::Idle => None,
            Pending::Size { suspect, .. } | Pending::Data { suspect, .. } => {
                Some(suspect.refusal())
            }
        }
    }

    /// Refuses the message for the pending suspect (a read that no tagged field makes).
    fn refuse(&mut self) {
        if self.refused.is_none() {
            self.refused = Some(self.refusal().unwrap_or_else(|| "refused read".to_string()));
        }
    }

    /// The varint at the front as kafka-protocol reads it (bits beyond 32 dropped) and its length,
    /// if it is one (starting with a byte `>= 0x80`, not truncated) and too large for a length or
    /// count. A truncated varint fails on its own when the decoder reaches the end.
    fn suspect_ahead(&self) -> Option<(Suspect, usize)> {
        if self.inner.first().is_none_or(|&b| b < 0x80) {
            return None;
        }
        let mut value = 0u32;
        for (i, &b) in self.inner.iter().take(MAX_VARINT_BYTES).enumerate() {
            value |= u32::from(b & 0x7F) << (7 * i);
            if b < 0x80 || i + 1 == MAX_VARINT_BYTES {
                let len = i + 1;
                let left = self.inner.len() - len;
                if value <= ALWAYS_ALLOWED || u64::from(value) <= left as u64 + 1 {
                    return None;
                }
                let at = self.offset();
                return Some((Suspect { at, value, left }, len));
            }
        }
        None
    }

    /// Counts a byte of the size varint that follows a stand-in.
    fn size_byte(&mut self, b: u8) {
        if let Pending::Size {
            suspect,
            size,
            read,
        } = self.pending
        {
            let size = size | u32::from(b & 0x7F) << (7 * read);
            self.pending = if b < 0x80 || read + 1 == MAX_VARINT_BYTES {
                Pending::Data { suspect, size }
            } else {
                Pending::Size {
                    suspect,
                    size,
                    read: read + 1,
                }
            };
        }
    }
}

fn refused_read(requested: usize) -> TryGetError {
    TryGetError {
        requested,
        available: 0,
    }
}

impl Buf for GuardedBuf {
    fn remaining(&self) -> usize {
        if self.blocked() {
            0
        } else {
            self.inner.remaining()
        }
    }

    fn chunk(&self) -> &[u8] {
        if self.blocked() {
            &[]
        } else {
            self.inner.chunk()
        }
    }

    fn advance(&mut self, cnt: usize) {
        if self.blocked() {
            if cnt > 0 {
                self.refuse();
            }
            return;
        }
        self.after_high_byte = false;
        self.inner.advance(cnt)
    }

    fn try_get_u8(&mut self) -> Result<u8, TryGetError> {
        if self.refused.is_some() || matches!(self.pending, Pending::Data { .. }) {
            self.refuse();
            return Err(refused_read(1));
        }
        let Some(&first) = self.inner.first() else {
            return Err(refused_read(1));
        };
        if self.in_tag > 0 {
            self.in_tag -= 1;
        } else if let Some((suspect, len)) = self.suspect_ahead() {
            match &self.tags {
                Tags::Confirmed(tags) if tags.binary_search(&suspect.at).is_ok() => {
                    self.in_tag = len - 1;
                }
                // Only at the start of a varint: a stand-in read as the middle of one would add
                // its bits to whatever the decoder read before.
                Tags::Probe if self.pending == Pending::Idle && !self.after_high_byte => {
                    self.inner.advance(len);
                    self.after_high_byte = false;
                    self.pending = Pending::Size {
                        suspect,
                        size: 0,
                        read: 0,
                    };
                    return Ok(STAND_IN);
                }
                _ => {
                    self.refused = Some(suspect.refusal());
                    return Err(refused_read(1));
                }
            }
        }
        self.inner.advance(1);
        self.after_high_byte = first >= 0x80;
        self.size_byte(first);
        Ok(first)
    }

    fn try_get_i32(&mut self) -> Result<i32, TryGetError> {
        if self.blocked() {
            self.refuse();
            return Err(refused_read(4));
        }
        self.after_high_byte = false;
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
        if self.blocked() {
            self.refuse();
            return Bytes::new();
        }
        self.inner.peek_bytes(r)
    }

    fn get_bytes(&mut self, size: usize) -> Bytes {
        if self.blocked() {
            self.refuse();
            return Bytes::new();
        }
        self.after_high_byte = false;
        self.inner.get_bytes(size)
    }

    fn try_peek_bytes(&mut self, r: Range<usize>) -> Result<Bytes, NotEnoughBytesError> {
        if self.blocked() {
            self.refuse();
            return Err(NotEnoughBytesError);
        }
        self.inner.try_peek_bytes(r)
    }

    fn try_get_bytes(&mut self, size: usize) -> Result<Bytes, NotEnoughBytesError> {
        if self.refused.is_some() {
            return Err(NotEnoughBytesError);
        }
        self.after_high_byte = false;
        match self.pending {
            Pending::Idle => self.inner.try_get_bytes(size),
            Pending::Data {
                suspect,
                size: expected,
            } if usize::try_from(expected).is_ok_and(|e| e == size) => {
                // A size beyond the bytes left fails here as it would without the stand-in.
                let data = self.inner.try_get_bytes(size)?;
                if i32::try_from(suspect.value).is_err() {
                    self.refused = Some(format!(
                        "tagged field {} at byte {} is not a 31-bit tag (KIP-482)",
                        suspect.value, suspect.at
                    ));
                    return Err(NotEnoughBytesError);
                }
                self.confirmed.push(suspect.at);
                self.pending = Pending::Idle;
                Ok(data)
            }
            _ => {
                self.refuse();
                Err(NotEnoughBytesError)
            }
        }
    }
}

/// Runs `decode` over `data` through the guard: once, or twice when the first pass replaced an
/// `i32` or met a tag above the bytes left (see the module docs). The error says what was wrong.
pub(crate) fn decode_through_guard<T>(
    data: Bytes,
    flexible: bool,
    decode: impl Fn(&mut GuardedBuf) -> Result<T, String>,
) -> Result<T, String> {
    let mode = if flexible {
        I32Mode::PassThrough
    } else {
        I32Mode::Probe
    };
    let mut first = GuardedBuf::new(data.clone(), mode, Tags::Probe);
    let outcome = decode(&mut first);
    if let Some(reason) = first.refusal() {
        return Err(reason);
    }
    match outcome {
        Ok(decoded) if !first.replaced && first.confirmed.is_empty() => Ok(decoded),
        Ok(_) => {
            let tags = Tags::Confirmed(first.confirmed);
            let mut exact = GuardedBuf::new(data, I32Mode::PassThrough, tags);
            let outcome = decode(&mut exact);
            exact.refusal().map_or(outcome, Err)
        }
        Err(_) if first.replaced => {
            Err("an element count exceeds the bytes left in the message".to_string())
        }
        Err(e) => Err(e),
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
    decode_through_guard(body, flexible, |buf| {
        T::decode(buf, version).map_err(|e| e.to_string())
    })
}
