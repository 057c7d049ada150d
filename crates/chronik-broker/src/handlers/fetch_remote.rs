//! The part of a Fetch the remote tier serves: a consumer's offset that only the remote tier
//! holds is read from its copy there, after the local reads and off every partition lock. A
//! read_committed consumer gets the batches below its last stable offset and the aborted
//! transactions they may hold, from the copies' transaction indexes (and the local log's, for
//! aborts whose marker is there).

use bytes::Bytes;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::ProducerId;
use chronik_kafka::kafka_protocol::messages::fetch_response::{AbortedTransaction, PartitionData};
use chronik_tiered::{RemoteBatch, RemoteReader};
use chronik_types::TopicPartition;
use chronik_wal::AbortedTxn;

use crate::partition::{CommittedView, RemoteSpan};
use crate::services::Services;

/// A partition's read that the remote tier serves.
pub(super) struct PendingRemote {
    /// Its place among the answers.
    pub at: usize,
    pub span: RemoteSpan,
    pub max_bytes: usize,
}

/// What a remote read gives a consumer.
struct ColdRead {
    batches: Vec<RemoteBatch>,
    /// For a read_committed consumer.
    aborted: Option<Vec<AbortedTxn>>,
}

/// Reads `pending` from the remote tier into its answer; returns the bytes read. A store that
/// fails, or a copy that is corrupt, answers KAFKA_STORAGE_ERROR (the consumer retries).
pub(super) async fn read_remote(
    services: &Services,
    reads: &mut [(TopicPartition, PartitionData)],
    pending: PendingRemote,
) -> usize {
    let Some((tp, data)) = reads.get_mut(pending.at) else {
        return 0;
    };
    let read = match &services.remote_reader {
        Some(reader) => cold_read(reader, &pending).await,
        None => Err("this broker has no remote tier (--remote-storage) to read it from".into()),
    };
    match read {
        Ok(read) => {
            let mut out = bytes::BytesMut::new();
            for b in &read.batches {
                out.extend_from_slice(&b.batch);
            }
            metrics::counter!("chronik_broker_remote_bytes_read_total").increment(out.len() as u64);
            data.records = Some(out.freeze());
            data.aborted_transactions = read.aborted.map(|a| {
                (a.into_iter())
                    .map(|t| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(t.producer_id))
                            .with_first_offset(t.first_offset)
                    })
                    .collect()
            });
            data.records.as_ref().map_or(0, Bytes::len)
        }
        Err(e) => {
            tracing::warn!(partition = %tp, offset = pending.span.offset, error = %e,
                "reading from the remote tier failed");
            metrics::counter!("chronik_broker_remote_read_failures_total").increment(1);
            data.error_code = ResponseError::KafkaStorageError.code();
            0
        }
    }
}

async fn cold_read(reader: &RemoteReader, pending: &PendingRemote) -> Result<ColdRead, String> {
    let span = &pending.span;
    let batches = (reader.read(&span.id, span.offset, pending.max_bytes))
        .await
        .map_err(|e| e.to_string())?;
    let Some(view) = &span.committed else {
        return Ok(ColdRead {
            batches,
            aborted: None,
        });
    };
    let batches = below(batches, view.last_stable_offset);
    let to = batches
        .last()
        .map_or(span.offset, |b| b.meta.last_offset + 1);
    let aborted = aborted_between(reader, span, view, to).await?;
    Ok(ColdRead {
        batches,
        aborted: Some(aborted),
    })
}

/// The batches wholly below `last_stable_offset`.
fn below(batches: Vec<RemoteBatch>, last_stable_offset: i64) -> Vec<RemoteBatch> {
    (batches.into_iter())
        .take_while(|b| b.meta.last_offset < last_stable_offset)
        .collect()
}

/// The aborted transactions overlapping `[span.offset, to)`: their abort markers are in the
/// copy read or a later one (until one ends with no transaction open), or in the local log.
async fn aborted_between(
    reader: &RemoteReader,
    span: &RemoteSpan,
    view: &CommittedView,
    to: i64,
) -> Result<Vec<AbortedTxn>, String> {
    let from = span.offset;
    let mut aborted = Vec::new();
    for id in std::iter::once(&span.id).chain(&view.later_copies) {
        let txns = (reader.txns(id).await)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("remote copy {id:?} has no transaction index"))?;
        aborted.extend(txns.overlapping(from, to).copied());
        if txns.open.is_empty() {
            // Every transaction of the read range was decided inside the copies read.
            return Ok(aborted);
        }
    }
    aborted.extend(overlapping(&view.local_aborted, from, to));
    Ok(aborted)
}

fn overlapping(aborted: &[AbortedTxn], from: i64, to: i64) -> impl Iterator<Item = AbortedTxn> {
    (aborted.iter())
        .filter(move |t| t.last_offset >= from && t.first_offset < to)
        .copied()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use chronik_wal::frame::FrameMeta;

    use super::*;

    fn batch(base: i64, last: i64) -> RemoteBatch {
        RemoteBatch {
            meta: FrameMeta {
                base_offset: base,
                last_offset: last,
                max_timestamp: 0,
                leader_epoch: 0,
            },
            batch: Bytes::from(chronik_records::build_batch(&[b"v"], 0)),
        }
    }

    #[test]
    fn read_committed_takes_only_batches_wholly_below_the_last_stable_offset() {
        let batches = vec![batch(0, 4), batch(5, 9), batch(10, 14)];
        assert_eq!(below(batches.clone(), 10).len(), 2);
        assert_eq!(below(batches.clone(), 9).len(), 1);
        assert_eq!(below(batches, 100).len(), 3);
    }

    #[test]
    fn aborted_transactions_are_those_overlapping_the_read() {
        let t = |producer_id, first_offset, last_offset| AbortedTxn {
            producer_id,
            first_offset,
            last_offset,
        };
        let local = [t(1, 0, 4), t(2, 5, 20), t(3, 30, 40)];
        let found: Vec<_> = overlapping(&local, 5, 30).collect();
        assert_eq!(found, vec![t(2, 5, 20)]);
    }
}
