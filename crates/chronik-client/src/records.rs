//! Reading fetched record batches without trusting them: every length is checked against the
//! bytes present, and nothing is allocated by a count read from the data.

use bytes::Bytes;
use chronik_records::{BATCH_HEADER_LEN, BatchHeader, Compression, RecordsError, batch_len};

use crate::{ClientError, Result};

/// One batch as fetched.
#[derive(Debug, Clone)]
pub struct FetchedBatch {
    pub partition: i32,
    pub header: BatchHeader,
    /// The whole batch as the broker returned it.
    pub bytes: Bytes,
    /// The offset the consumer asked for: records before it were already consumed (a fetch may
    /// return a batch that starts earlier). The batch's base offset outside a consumer.
    pub fetched_from: i64,
}

impl FetchedBatch {
    pub fn last_offset(&self) -> i64 {
        self.header.last_offset()
    }

    /// Records at or after `from` in this batch (offsets in a batch are contiguous unless the
    /// log was compacted, which Chronik does not do).
    pub fn records_from(&self, from: i64) -> i64 {
        if self.header.is_control() {
            return 0;
        }
        let first = self.header.base_offset.max(from);
        let count = (self.last_offset() - first + 1).max(0);
        count.min(i64::from(self.header.records_count.max(0)))
    }

    /// Records this fetch delivered for the first time: those at or after `fetched_from`.
    pub fn new_records(&self) -> i64 {
        self.records_from(self.fetched_from)
    }
}

/// One record of an uncompressed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub value: Option<Bytes>,
}

/// Splits a Fetch `records` field into whole batches. A trailing partial batch (brokers may cut
/// the last one at the size limit) is dropped; a malformed one is an error.
pub fn split_batches(partition: i32, mut data: Bytes) -> Result<Vec<FetchedBatch>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let total = match batch_len(&data, usize::MAX) {
            Ok(total) => total,
            Err(RecordsError::ShortHeader { .. } | RecordsError::Truncated { .. }) => break,
            Err(e) => return Err(bad(format!("{e} in partition {partition}"))),
        };
        let bytes = data.split_to(total);
        let header = BatchHeader::parse(&bytes).map_err(|e| bad(e.to_string()))?;
        out.push(FetchedBatch {
            partition,
            fetched_from: header.base_offset,
            header,
            bytes,
        });
    }
    Ok(out)
}

fn bad(reason: String) -> ClientError {
    ClientError::InvalidInput(format!(
        "fetched data is not a valid record batch: {reason}"
    ))
}

/// The records of an uncompressed batch (compressed ones are refused: this client only reads
/// values back for latency checks, which send uncompressed).
pub fn records(batch: &FetchedBatch) -> Result<Vec<FetchedRecord>> {
    if batch.header.compression() != Compression::None {
        return Err(ClientError::InvalidInput(
            "reading records of compressed batches is not supported; produce uncompressed".into(),
        ));
    }
    let mut cur = Cursor(&batch.bytes[BATCH_HEADER_LEN..]);
    let mut out = Vec::new();
    let truncated = || bad("record runs past the end of its batch".into());
    for _ in 0..batch.header.records_count.max(0) {
        let len = usize::try_from(cur.varint()?).map_err(|_| truncated())?;
        let mut rec = Cursor(cur.take(len).ok_or_else(truncated)?);
        rec.take(1).ok_or_else(truncated)?; // attributes
        let ts_delta = rec.varint()?;
        let offset_delta = rec.varint()?;
        let key_len = rec.varint()?;
        if key_len > 0 {
            rec.take(key_len as usize).ok_or_else(truncated)?;
        }
        let value_len = rec.varint()?;
        let value = match usize::try_from(value_len) {
            Ok(n) => Some(Bytes::copy_from_slice(rec.take(n).ok_or_else(truncated)?)),
            Err(_) => None,
        };
        out.push(FetchedRecord {
            offset: batch.header.base_offset.saturating_add(offset_delta),
            timestamp: batch.header.base_timestamp.saturating_add(ts_delta),
            value,
        });
    }
    Ok(out)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    /// A zigzag varint of at most 10 bytes.
    fn varint(&mut self) -> Result<i64> {
        let mut raw = 0u64;
        for i in 0..10 {
            let &b = self
                .0
                .get(i)
                .ok_or_else(|| bad("truncated varint".into()))?;
            raw |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.0 = &self.0[i + 1..];
                return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
            }
        }
        Err(bad("varint longer than 10 bytes".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_records_round_trip() {
        let mut data = chronik_records::build_batch(&[b"a", b"bc"], 1_000);
        chronik_records::set_base_offset(&mut data, 5);
        let second = chronik_records::build_batch(&[b"d"], 2_000);
        data.extend_from_slice(&second);
        data.extend_from_slice(&second[..20]); // a partial trailing batch
        let batches = split_batches(0, Bytes::from(data)).unwrap();
        assert_eq!(batches.len(), 2);
        let recs = records(&batches[0]).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[1].offset, recs[1].timestamp), (6, 1_000));
        assert_eq!(recs[1].value.as_deref(), Some(&b"bc"[..]));
        assert_eq!(batches[0].records_from(6), 1);
    }

    #[test]
    fn lies_are_errors_not_panics() {
        // Forged header fields: the batch length (bytes 8..12) and the record count (57..61).
        let mut data = chronik_records::build_batch(&[b"abc"], 1);
        data[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(split_batches(0, Bytes::from(data)).is_err());
        let mut data = chronik_records::build_batch(&[b"abc"], 1);
        data[57..61].copy_from_slice(&i32::MAX.to_be_bytes()); // record count
        let b = split_batches(0, Bytes::from(data)).unwrap();
        assert!(records(&b[0]).is_err());
    }
}
