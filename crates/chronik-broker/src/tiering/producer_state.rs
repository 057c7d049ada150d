//! Producer state in the remote tier. Each copy carries the partition's producer state as of
//! its end, so a replica that starts at the leader's local log start, skipping the remote
//! history, still knows the idempotent and transactional producers that wrote before it
//! (their epochs, sequences and coordinator epochs) should it lead one day.

use std::sync::Arc;

use bytes::Bytes;
use chronik_metadata::{RemoteCopyState, RemoteSegment};
use chronik_tiered::{RemoteStore, TieredError};
use chronik_types::TopicPartition;

use crate::cluster::Cluster;
use crate::partition::segment_id;
use crate::partitions::{Hosted, replay_producers};
use crate::producers::{ProducerStates, decode_snapshot, encode_snapshot};

/// The producer snapshot as of `next_offset`, the end of the local segment that starts at
/// `base_offset`: the state the copy ending at `base_offset` carries, plus the segment's
/// batches. Without such a copy (the partition's first) the state starts empty, as a restart
/// replaying the log from its start builds it.
pub(super) async fn at_segment_end(
    store: &RemoteStore,
    hosted: &Arc<Hosted>,
    copies: &[RemoteSegment],
    base_offset: i64,
    next_offset: i64,
) -> Result<Bytes, String> {
    let before = (copies.iter())
        .find(|c| c.state == RemoteCopyState::Copied && c.next_offset == base_offset);
    let mut states = match before {
        Some(copy) => carried(store, copy).await?,
        None => ProducerStates::default(),
    };
    let hosted = hosted.clone();
    let encoded = tokio::task::spawn_blocking(move || {
        let reached = replay_producers(&hosted.log, &mut states, base_offset, next_offset)
            .map_err(|e| format!("replaying the segment's producer state: {e}"))?;
        if reached != next_offset {
            return Err(format!(
                "the local log held producer state only up to offset {reached}, not {next_offset}"
            ));
        }
        Ok(Bytes::from(encode_snapshot(&states, next_offset)))
    })
    .await;
    encoded.map_err(|e| e.to_string())?
}

/// The state `copy` carries. A copy without one (uploaded before copies carried it), or with
/// one that is damaged (a WARN then), gives an empty state: it costs the producer state of the
/// history, never the copies after it. A store that does not answer fails the step, which the
/// next pass redoes.
async fn carried(store: &RemoteStore, copy: &RemoteSegment) -> Result<ProducerStates, String> {
    let id = segment_id(copy);
    let bytes = match store.producer_snapshot(&id).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(ProducerStates::default()),
        Err(e @ TieredError::Corrupt { .. }) => {
            tracing::warn!(error = %e, "the previous copy's producer state is damaged; the next copy's starts empty");
            return Ok(ProducerStates::default());
        }
        Err(e) => return Err(e.to_string()),
    };
    match decode_snapshot(&bytes) {
        Some((states, end)) if end == copy.next_offset => Ok(states),
        _ => {
            tracing::warn!(
                base_offset = copy.key.base_offset,
                upload_id = copy.key.upload_id,
                "the previous copy's producer state does not decode; the next copy's starts empty"
            );
            Ok(ProducerStates::default())
        }
    }
}

/// After this follower started over at `at`, the leader's local log start, takes the producer
/// state that the copy ending at `at` carries. Without such a copy, or when it cannot be read
/// (a WARN then), the state stays as the empty log has it.
pub(crate) async fn adopt_after_restart(
    store: &RemoteStore,
    cluster: &Cluster,
    tp: &TopicPartition,
    hosted: &Hosted,
    at: i64,
) {
    let copy = cluster.metadata(|s| {
        s.remote_segments(hosted.topic_id, tp.partition)
            .find(|c| c.state == RemoteCopyState::Copied && c.next_offset == at)
            .cloned()
    });
    let Some(copy) = copy else {
        return;
    };
    let states = match store.producer_snapshot(&segment_id(&copy)).await {
        Ok(Some(bytes)) => decode_snapshot(&bytes).filter(|(_, end)| *end == at),
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(partition = %tp, error = %e, "cannot read the producer state of the remote tier; this replica knows only the producers it copies");
            return;
        }
    };
    let Some((states, _)) = states else {
        tracing::warn!(partition = %tp, "the remote tier's producer state does not decode; this replica knows only the producers it copies");
        return;
    };
    let producers = states.len();
    {
        let mut current = hosted.producers();
        // Only while the log is still empty at `at`: the state describes that offset.
        if hosted.log.start_offset() != at || hosted.log.end_offset() != at {
            return;
        }
        *current = states;
    }
    tracing::info!(partition = %tp, producers, offset = at, "producer state taken from the remote tier");
}
