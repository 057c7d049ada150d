//! The part of a Fetch the remote tier serves: a consumer's offset that only the remote tier
//! holds is read from its copy there, after the local reads and off every partition lock.

use bytes::Bytes;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::fetch_response::PartitionData;
use chronik_tiered::RemoteBatch;
use chronik_types::TopicPartition;

use crate::partition::RemoteSpan;
use crate::services::Services;

/// A partition's read that the remote tier serves.
pub(super) struct PendingRemote {
    /// Its place among the answers.
    pub at: usize,
    pub span: RemoteSpan,
    pub max_bytes: usize,
    /// For a read_committed consumer, where its view ends.
    pub last_stable_offset: Option<i64>,
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
        Some(reader) => (reader.read(&pending.span.id, pending.span.offset, pending.max_bytes))
            .await
            .map_err(|e| e.to_string()),
        None => Err("this broker has no remote tier (--remote-storage) to read it from".into()),
    };
    let records = read.and_then(|batches| match pending.last_stable_offset {
        Some(lso) => committed_prefix(batches, lso),
        None => Ok(batches),
    });
    match records {
        Ok(batches) => {
            let mut out = bytes::BytesMut::new();
            for b in &batches {
                out.extend_from_slice(&b.batch);
            }
            metrics::counter!("chronik_broker_remote_bytes_read_total").increment(out.len() as u64);
            data.records = Some(out.freeze());
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

/// What a read_committed consumer may take of remote batches: those below its last stable
/// offset, up to the first transactional one (the aborted transactions of remote data are not
/// known here, so such data is refused rather than shown unfiltered).
fn committed_prefix(
    batches: Vec<RemoteBatch>,
    last_stable_offset: i64,
) -> Result<Vec<RemoteBatch>, String> {
    let transactional = |b: &RemoteBatch| {
        chronik_records::BatchHeader::parse(&b.batch).map_or(true, |h| h.is_transactional())
    };
    let kept: Vec<_> = (batches.iter())
        .take_while(|b| b.meta.last_offset < last_stable_offset && !transactional(b))
        .cloned()
        .collect();
    match (kept.is_empty(), batches.first()) {
        (true, Some(first)) if transactional(first) => Err(format!(
            "transactional records at offset {} are in the remote tier, which a read_committed \
             consumer cannot read yet; read them read_uncommitted",
            first.meta.base_offset
        )),
        _ => Ok(kept),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use chronik_wal::frame::FrameMeta;

    use super::*;

    fn batch(base: i64, last: i64, transactional: bool) -> RemoteBatch {
        let bytes = match transactional {
            true => chronik_records::build_transactional_batch(&[b"v"], 0, 7),
            false => chronik_records::build_batch(&[b"v"], 0),
        };
        RemoteBatch {
            meta: FrameMeta {
                base_offset: base,
                last_offset: last,
                max_timestamp: 0,
                leader_epoch: 0,
            },
            batch: Bytes::from(bytes),
        }
    }

    #[test]
    fn read_committed_takes_batches_below_the_lso_up_to_the_first_transactional_one() {
        let batches = vec![
            batch(0, 0, false),
            batch(1, 1, false),
            batch(2, 2, true),
            batch(3, 3, false),
        ];
        let kept = committed_prefix(batches.clone(), 10).unwrap();
        assert_eq!(kept.len(), 2);
        let kept = committed_prefix(batches, 1).unwrap();
        assert_eq!(kept.len(), 1, "only what lies below the last stable offset");
    }

    #[test]
    fn transactional_remote_data_first_is_an_error_not_shown_unfiltered() {
        let err = committed_prefix(vec![batch(5, 5, true)], 10).unwrap_err();
        assert!(
            err.contains("offset 5") && err.contains("read_uncommitted"),
            "{err}"
        );
    }
}
