//! Decoding a stored batch into records with the `kafka-protocol` crate, so that compressed
//! batches (gzip, snappy, lz4, zstd) show their records too.

use chronik_records::{BatchHeader, Compression};
use chronik_types::Offset;
use kafka_protocol::records::RecordBatchDecoder;
use serde::Serialize;

use crate::render::bytes_text;

/// Most records one batch may claim before we refuse to decode it: a damaged or hostile count
/// must not become a huge allocation.
const MAX_RECORDS_PER_BATCH: i32 = 1 << 20;
/// The smallest possible encoded record (length, attributes, two deltas, key, value, headers).
const MIN_RECORD_BYTES: usize = 7;

/// One record as `dump --records` shows it. Keys and values are text when printable UTF-8,
/// else `0x`-prefixed hex; `None` is a null key or value.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub offset: Offset,
    pub timestamp: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    pub headers: Vec<HeaderView>,
}

/// One record header.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderView {
    pub key: String,
    pub value: Option<String>,
}

/// Decodes the records of `payload` at or after `from`; the error says why the batch could not
/// be decoded (the caller prints it in place of the records).
pub fn decode(
    payload: &[u8],
    header: Option<&BatchHeader>,
    from: Offset,
) -> Result<Vec<RecordView>, String> {
    let header = header.ok_or("not a v2 record batch")?;
    check_count(payload.len(), header)?;
    let mut buf = bytes::Bytes::copy_from_slice(payload);
    // A malformed batch must become a message, never a crash of the whole dump, even if the
    // decoder has a bug that panics on it.
    let decoded = std::panic::catch_unwind(move || RecordBatchDecoder::decode(&mut buf))
        .map_err(|_| "the record decoder failed on this batch".to_string())?
        .map_err(|e| format!("{e:#}"))?;
    Ok(decoded
        .records
        .into_iter()
        .filter(|r| r.offset >= from)
        .map(|r| RecordView {
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.as_deref().map(bytes_text),
            value: r.value.as_deref().map(bytes_text),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| HeaderView {
                    key: bytes_text(k.as_bytes()),
                    value: v.as_deref().map(bytes_text),
                })
                .collect(),
        })
        .collect())
}

/// Rejects record counts the batch cannot hold before the decoder reserves room for them.
fn check_count(len: usize, header: &BatchHeader) -> Result<(), String> {
    let count = header.records_count;
    let fits = match header.compression() {
        Compression::None => {
            usize::try_from(count).is_ok_and(|c| c.saturating_mul(MIN_RECORD_BYTES) <= len)
        }
        _ => (0..=MAX_RECORDS_PER_BATCH).contains(&count),
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "record count {count} is implausible for a {len}-byte batch"
        ))
    }
}
