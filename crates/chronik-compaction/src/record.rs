//! The records of a decompressed v2 batch, read in place: nothing is allocated per record, and
//! nothing is sized by a count or length the bytes announce.

use chronik_records::BatchHeader;
use chronik_types::Offset;

use crate::varint::{put_varint, put_varlong, read_varint, read_varlong, varlong_len};
use crate::{CompactionError, Result};

/// One record, borrowed from the batch's (decompressed) records section.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordView<'a> {
    pub offset: Offset,
    pub timestamp_delta: i64,
    pub key: Option<&'a [u8]>,
    pub is_tombstone: bool,
    attributes: u8,
    /// From the offset delta to the record's end: copied verbatim when the record is rebased.
    tail: &'a [u8],
}

impl RecordView<'_> {
    /// Appends the record with its timestamp delta replaced (a rebuilt batch may have a new
    /// base timestamp); every other byte is the original's, headers included.
    pub fn write_rebased(&self, out: &mut Vec<u8>, timestamp_delta: i64) -> Option<()> {
        let size = 1 + varlong_len(timestamp_delta) + self.tail.len();
        put_varint(out, i32::try_from(size).ok()?);
        out.push(self.attributes);
        put_varlong(out, timestamp_delta);
        out.extend_from_slice(self.tail);
        Some(())
    }
}

/// Walks exactly `records_count` records and refuses a body that holds fewer, more, or
/// malformed ones. Offsets must rise strictly within the batch's offset range: the cleaner's
/// output must read back in order.
pub(crate) struct Records<'a> {
    header: BatchHeader,
    rest: &'a [u8],
    index: usize,
    previous_delta: i64,
    done: bool,
}

impl<'a> Records<'a> {
    pub fn new(header: &BatchHeader, records: &'a [u8]) -> Self {
        Self {
            header: *header,
            rest: records,
            index: 0,
            previous_delta: -1,
            done: false,
        }
    }

    fn bad(&self, what: &'static str) -> CompactionError {
        CompactionError::BadRecord {
            base_offset: self.header.base_offset,
            index: self.index,
            what,
        }
    }

    fn next_record(&mut self) -> Result<RecordView<'a>> {
        let len = read_varint(&mut self.rest).ok_or_else(|| self.bad("unreadable length"))?;
        let len = usize::try_from(len).map_err(|_| self.bad("negative length"))?;
        let body = (self.rest.get(..len)).ok_or_else(|| self.bad("runs past the batch"))?;
        self.rest = &self.rest[len..];
        let (view, offset_delta) = parse_body(body).map_err(|what| self.bad(what))?;
        let offset_delta = i64::from(offset_delta);
        if offset_delta <= self.previous_delta
            || offset_delta > i64::from(self.header.last_offset_delta)
        {
            return Err(self.bad("offset delta out of order or past the batch's last offset"));
        }
        self.previous_delta = offset_delta;
        Ok(RecordView {
            offset: self.header.base_offset.saturating_add(offset_delta),
            ..view
        })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<RecordView<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let declared = usize::try_from(self.header.records_count).unwrap_or(0);
        if self.index >= declared {
            self.done = true;
            return (!self.rest.is_empty()).then(|| Err(self.bad("bytes follow the last record")));
        }
        if self.rest.is_empty() {
            self.done = true;
            return Some(Err(CompactionError::CountMismatch {
                base_offset: self.header.base_offset,
                declared: self.header.records_count,
                found: self.index,
            }));
        }
        let record = self.next_record();
        self.index += 1;
        self.done = record.is_err();
        Some(record)
    }
}

/// Reads one record's fields (after its length); the offset is filled in by the caller.
fn parse_body(body: &[u8]) -> Result<(RecordView<'_>, i32), &'static str> {
    let (&attributes, mut rest) = body.split_first().ok_or("empty record")?;
    let timestamp_delta = read_varlong(&mut rest).ok_or("unreadable timestamp delta")?;
    let tail = rest;
    let offset_delta = read_varint(&mut rest).ok_or("unreadable offset delta")?;
    let key = nullable_bytes(&mut rest).ok_or("bad key")?;
    let value = nullable_bytes(&mut rest).ok_or("bad value")?;
    let headers = read_varint(&mut rest).ok_or("unreadable header count")?;
    let headers = usize::try_from(headers).map_err(|_| "negative header count")?;
    // Each header takes at least two bytes: a count past the bytes left is damage (Kafka's check).
    if headers > rest.len() {
        return Err("more headers than bytes");
    }
    for _ in 0..headers {
        if nullable_bytes(&mut rest).ok_or("bad header key")?.is_none() {
            return Err("null header key");
        }
        nullable_bytes(&mut rest).ok_or("bad header value")?;
    }
    if !rest.is_empty() {
        return Err("length does not match its fields");
    }
    let view = RecordView {
        offset: 0,
        timestamp_delta,
        key,
        is_tombstone: value.is_none(),
        attributes,
        tail,
    };
    Ok((view, offset_delta))
}

/// A varint length then that many bytes; -1 is null. `None` when malformed.
fn nullable_bytes<'a>(input: &mut &'a [u8]) -> Option<Option<&'a [u8]>> {
    let len = read_varint(input)?;
    if len == -1 {
        return Some(None);
    }
    let len = usize::try_from(len).ok()?;
    let bytes = input.get(..len)?;
    *input = &input[len..];
    Some(Some(bytes))
}
