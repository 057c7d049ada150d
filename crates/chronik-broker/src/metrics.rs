//! Metrics sampled periodically rather than on the hot path: the storage engine's group-commit
//! statistics, every hosted partition's log offsets and size (and, as leader, its slowest
//! follower's lag), the data dir's free space, the number of consumer groups
//! this broker coordinates and their lag. Request counters and latencies are recorded where requests
//! are handled (`connection.rs`); bytes per topic in the produce and fetch handlers.

use std::sync::Arc;
use std::time::Duration;

use chronik_wal::FlushStatsSnapshot;
use tokio::task::JoinHandle;

use crate::groups::Coordinator;
use crate::partitions::Partitions;

/// How often the sampled metrics are refreshed.
pub(crate) const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);

pub(crate) fn spawn(partitions: Arc<Partitions>, groups: Arc<Coordinator>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(SAMPLE_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = FlushStatsSnapshot::default();
        loop {
            ticker.tick().await;
            if let Some(now) = partitions.flush_stats() {
                record_flush(&last, &now);
                last = now;
            }
            record_logs(&partitions);
            record_disk(&partitions);
            metrics::gauge!("chronik_broker_consumer_groups").set(groups.group_count() as f64);
            record_lag(&partitions, &groups);
        }
    })
}

/// Cumulative counters, plus the interval's mean fsync latency and mean group-commit size
/// (appends made durable per flush round).
fn record_flush(last: &FlushStatsSnapshot, now: &FlushStatsSnapshot) {
    metrics::counter!("chronik_wal_fsyncs_total").absolute(now.fsyncs);
    metrics::counter!("chronik_wal_flush_rounds_total").absolute(now.rounds);
    metrics::counter!("chronik_wal_flushed_appends_total").absolute(now.appends_released);
    let fsyncs = now.fsyncs.saturating_sub(last.fsyncs);
    if fsyncs > 0 {
        let nanos = now.fsync_nanos.saturating_sub(last.fsync_nanos);
        metrics::gauge!("chronik_wal_fsync_seconds").set(nanos as f64 / fsyncs as f64 / 1e9);
    }
    let rounds = now.rounds.saturating_sub(last.rounds);
    if rounds > 0 {
        let appends = now.appends_released.saturating_sub(last.appends_released);
        metrics::gauge!("chronik_wal_group_commit_appends").set(appends as f64 / rounds as f64);
    }
}

/// Counts an error code a response carries, by API and Kafka error name
/// (`chronik_broker_request_errors_total{api,error}`); only called for errors.
pub(crate) fn response_error(api: chronik_kafka::kafka_protocol::messages::ApiKey, code: i16) {
    let name = chronik_kafka::kafka_protocol::error::ResponseError::try_from_code(code)
        .map_or_else(|| format!("CODE_{code}"), |e| kafka_name(&format!("{e:?}")));
    let api = crate::connection::api_name(api);
    metrics::counter!("chronik_broker_request_errors_total", "api" => api, "error" => name)
        .increment(1);
}

/// `NotLeaderOrFollower` → `NOT_LEADER_OR_FOLLOWER`, as Kafka names its errors.
fn kafka_name(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Series of consumer lag exported at most: a bound on the exporter's memory.
const MAX_LAG_SERIES: usize = 10_000;

/// Consumer lag of the groups this broker coordinates: how far each committed offset is
/// behind the partition's high watermark, for partitions hosted here (a follower's high
/// watermark trails the leader's a little, so there the lag reads slightly low).
fn record_lag(partitions: &Partitions, groups: &Coordinator) {
    for (group, topic, partition, committed) in groups.committed_offsets(MAX_LAG_SERIES) {
        let tp = chronik_types::TopicPartition::new(topic.as_str(), partition);
        let Some(hosted) = partitions.get_hosted(&tp) else {
            continue;
        };
        let lag = (hosted.replica.high_watermark() - committed).max(0);
        let labels = [
            ("group", group),
            ("topic", topic),
            ("partition", partition.to_string()),
        ];
        metrics::gauge!("chronik_broker_consumer_group_lag", &labels).set(lag as f64);
    }
}

fn record_logs(partitions: &Partitions) {
    for (tp, hosted) in partitions.all() {
        let labels = [
            ("topic", tp.topic.clone()),
            ("partition", tp.partition.to_string()),
        ];
        let log = &hosted.log;
        metrics::gauge!("chronik_broker_high_watermark", &labels)
            .set(hosted.replica.high_watermark() as f64);
        metrics::gauge!("chronik_broker_log_end_offset", &labels).set(log.end_offset() as f64);
        metrics::gauge!("chronik_broker_log_start_offset", &labels).set(log.start_offset() as f64);
        metrics::gauge!("chronik_broker_log_size_bytes", &labels).set(log.size_bytes() as f64);
        // 0 where this broker follows, so a leadership moved away leaves no stale lag behind.
        let lag = (hosted.replica)
            .read(|p| p.max_follower_lag(log.end_offset(), log.start_offset()))
            .unwrap_or(0);
        metrics::gauge!("chronik_broker_replica_max_lag", &labels).set(lag as f64);
    }
}

/// The data dir's filesystem: free and total bytes (the disk-full alert's input).
fn record_disk(partitions: &Partitions) {
    match partitions.disk_space() {
        Some(Ok(space)) => {
            metrics::gauge!("chronik_broker_data_dir_available_bytes").set(space.available as f64);
            metrics::gauge!("chronik_broker_data_dir_total_bytes").set(space.total as f64);
        }
        Some(Err(e)) => tracing::debug!(error = %e, "cannot read the data dir's free space"),
        None => {}
    }
}
