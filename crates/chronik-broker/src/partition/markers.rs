//! Transaction markers as the partition leader writes them (the partition side of Kafka's
//! WriteTxnMarkers): the control batch that ends a producer's transaction here, which moves
//! the last stable offset and, for an abort, lists the transaction for read_committed fetches.

use chronik_records::TxnMarker;
use chronik_types::TopicPartition;

use super::{AckWait, PartitionError, PartitionLayer, Result};

impl PartitionLayer {
    /// Appends the marker ending `producer_id`'s transaction in `tp` as its leader; the
    /// returned wait settles (with `Acks::All`) once every ISR member has it. A marker from an
    /// epoch older than the producer's is refused: a newer coordinator decided since.
    pub fn append_marker(
        &self,
        tp: &TopicPartition,
        (producer_id, producer_epoch): (i64, i16),
        marker: TxnMarker,
        timestamp: i64,
    ) -> Result<AckWait> {
        let leading = self.leader(tp)?;
        let hosted = &leading.hosted;
        let mut producers = hosted.producers();
        producers.check_marker(producer_id, producer_epoch, marker.coordinator_epoch)?;
        let mut batch =
            chronik_records::build_marker_batch(producer_id, producer_epoch, marker, timestamp);
        let info = match hosted.log.append(&mut batch, leading.epoch) {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(partition = %tp, error = %e, "cannot write a transaction marker");
                hosted.check_failed();
                return Err(PartitionError::Storage(tp.clone()));
            }
        };
        producers.end_txn(producer_id, producer_epoch, marker, info.base_offset);
        drop(producers);
        let end = hosted.log.end_offset();
        hosted.replica.update(|p| p.advance(end));
        hosted.replica.changed();
        Ok(AckWait {
            durable: Some(info.durable),
            hosted: hosted.clone(),
            partition: tp.clone(),
            last_base: info.base_offset,
            epoch: leading.epoch,
            // A marker completes a transaction already decided: it waits for the ISR, as it
            // is, and is not refused for its size.
            min_insync_replicas: 1,
        })
    }
}
