//! The retention task: every `retention_check_interval` it deletes the segments each hosted
//! log's `retention.ms` / `retention.bytes` no longer keep, moving the log start offset. Only
//! segments wholly below the high watermark go, as in Kafka: a record no consumer could read
//! yet, or that a follower still needs, is never deleted by retention.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::partitions::Partitions;

/// Runs retention over every hosted log each `interval`, the first time one interval after
/// the start (recovery has just read the logs; nothing is urgent).
pub(crate) fn spawn(partitions: Arc<Partitions>, interval: Duration) -> JoinHandle<()> {
    let interval = interval.max(Duration::from_millis(10));
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + interval;
        let mut ticker = tokio::time::interval_at(first, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let partitions = partitions.clone();
            // Deleting files blocks; keep it off the async workers.
            if let Err(e) = tokio::task::spawn_blocking(move || enforce_all(&partitions)).await {
                tracing::error!(error = %e, "retention pass failed");
            }
        }
    })
}

/// One retention pass over every hosted log.
fn enforce_all(partitions: &Partitions) {
    let now_ms = crate::wall_clock::wall_ms();
    for (tp, hosted) in partitions.all() {
        match (hosted.log).enforce_retention(now_ms, hosted.replica.high_watermark()) {
            Ok(report) if report.segments_deleted > 0 => {
                tracing::info!(partition = %tp, segments = report.segments_deleted,
                    bytes = report.bytes_deleted, start_offset = report.start_offset,
                    "retention deleted old segments");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(partition = %tp, error = %e, "retention pass failed"),
        }
    }
}
