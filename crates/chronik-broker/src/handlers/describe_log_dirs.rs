//! DescribeLogDirs: the broker's one log dir (its data dir), the bytes each hosted partition
//! holds there, and the filesystem's total and usable bytes.

use std::collections::{BTreeMap, HashSet};

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName,
};
use chronik_types::TopicPartition;

use super::{NONE, str_bytes};
use crate::services::Services;

/// Kafka's answer for "not known" in the byte counts, e.g. when the filesystem cannot be
/// asked.
const UNKNOWN_BYTES: i64 = -1;
/// DescribeLogDirs v4 added the filesystem's total and usable bytes.
const SPACE_VERSION: i16 = 4;

pub(crate) fn handle(
    services: &Services,
    req: DescribeLogDirsRequest,
    version: i16,
) -> DescribeLogDirsResponse {
    let partitions = services.layer.partitions();
    let Some(root) = partitions.root() else {
        // The data dir is closed: the broker is stopping.
        let closed = DescribeLogDirsResult::default()
            .with_error_code(ResponseError::KafkaStorageError.code());
        return DescribeLogDirsResponse::default().with_results(vec![closed]);
    };
    let wanted: Option<HashSet<TopicPartition>> = req.topics.map(|topics| {
        (topics.iter())
            .flat_map(|t| {
                let name = t.topic.0.as_str();
                t.partitions
                    .iter()
                    .map(move |p| TopicPartition::new(name, *p))
            })
            .collect()
    });
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for (tp, hosted) in partitions.all() {
        if wanted.as_ref().is_some_and(|w| !w.contains(&tp)) {
            continue;
        }
        // Kafka's lag of a current (not future) log: how far its end is behind the high
        // watermark, which is zero for any healthy replica.
        let lag = (hosted.replica.high_watermark() - hosted.log.end_offset()).max(0);
        let size = i64::try_from(hosted.log.size_bytes()).unwrap_or(i64::MAX);
        by_topic.entry(tp.topic.clone()).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(tp.partition)
                .with_partition_size(size)
                .with_offset_lag(lag)
                .with_is_future_key(false),
        );
    }
    let topics = (by_topic.into_iter())
        .map(|(name, mut parts)| {
            parts.sort_by_key(|p| p.partition_index);
            DescribeLogDirsTopic::default()
                .with_name(TopicName(str_bytes(&name)))
                .with_partitions(parts)
        })
        .collect();
    let mut dir = DescribeLogDirsResult::default()
        .with_error_code(NONE)
        .with_log_dir(str_bytes(&root.display().to_string()))
        .with_topics(topics);
    if version >= SPACE_VERSION {
        let (total, usable) = match partitions.disk_space() {
            Some(Ok(space)) => (to_i64(space.total), to_i64(space.available)),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the data dir's filesystem size");
                (UNKNOWN_BYTES, UNKNOWN_BYTES)
            }
            None => (UNKNOWN_BYTES, UNKNOWN_BYTES),
        };
        dir = dir.with_total_bytes(total).with_usable_bytes(usable);
    }
    DescribeLogDirsResponse::default().with_results(vec![dir])
}

fn to_i64(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}
