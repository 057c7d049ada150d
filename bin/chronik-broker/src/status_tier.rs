//! The remote tier in `chronik-broker status`: each partition's leader is asked (ListOffsets)
//! for the log start over both tiers (-2), the local log's start (-4), the last offset the
//! remote tier holds (-5) and the high watermark (-1), and (DescribeLogDirs) for the bytes on
//! its disk. Partitions with nothing in the remote tier show none of it; leaders that do not
//! serve ListOffsets 9 (which asks -5) are skipped. Remote bytes and copy errors are metrics
//! only (`chronik_broker_remote_*`): the Kafka protocol carries neither.

use std::collections::BTreeMap;

use chronik_client::Client;
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeLogDirsRequest, DescribeLogDirsResponse, ListOffsetsRequest,
    ListOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

/// ListOffsets v9 added the last tiered offset query.
const TIER_QUERIES_VERSION: i16 = 9;
const EARLIEST: i64 = -2;
const LATEST: i64 = -1;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;

/// One partition's two tiers, as its leader reports them.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub log_start_offset: i64,
    pub local_log_start_offset: i64,
    /// -1 when nothing is copied yet.
    pub last_tiered_offset: i64,
    pub high_watermark: i64,
    /// Committed records not in the remote tier yet (the active segment's among them).
    pub copy_lag_records: i64,
    /// Bytes of the partition on the leader's disk (-1 when it did not say).
    pub local_bytes: i64,
}

/// (topic, partition) → leader.
pub type Leaders = BTreeMap<(String, i32), i32>;

/// The tiers of every partition in `leaders` that has anything in the remote tier.
pub async fn collect(client: &Client, leaders: &Leaders) -> BTreeMap<(String, i32), Tier> {
    let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
    for (tp, leader) in leaders.iter().filter(|(_, l)| **l >= 0) {
        by_leader.entry(*leader).or_default().push(tp.clone());
    }
    let mut out = BTreeMap::new();
    for (leader, parts) in by_leader {
        match client.version_on(leader, ApiKey::ListOffsets).await {
            Ok(v) if v >= TIER_QUERIES_VERSION => {}
            _ => continue,
        }
        let ask = |ts| list_offsets(client, leader, &parts, ts);
        let (Some(start), Some(local), Some(tiered), Some(hw)) = (
            ask(EARLIEST).await,
            ask(EARLIEST_LOCAL).await,
            ask(LATEST_TIERED).await,
            ask(LATEST).await,
        ) else {
            continue;
        };
        let sizes = local_sizes(client, leader, &parts).await;
        for tp in parts {
            let get = |m: &BTreeMap<(String, i32), i64>| m.get(&tp).copied();
            let (Some(s), Some(l), Some(t), Some(h)) =
                (get(&start), get(&local), get(&tiered), get(&hw))
            else {
                continue;
            };
            if t < 0 && s >= l {
                continue;
            }
            let tier = Tier {
                log_start_offset: s,
                local_log_start_offset: l,
                last_tiered_offset: t,
                high_watermark: h,
                copy_lag_records: (h - (t + 1)).max(0),
                local_bytes: sizes.get(&tp).copied().unwrap_or(-1),
            };
            out.insert(tp, tier);
        }
    }
    out
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// Grouped by topic, each partition once (a request may not name one twice).
fn by_topic(parts: &[(String, i32)]) -> BTreeMap<&str, Vec<i32>> {
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in parts {
        topics.entry(t.as_str()).or_default().push(*p);
    }
    topics
}

/// The offset each partition answers for `timestamp`; `None` when the request failed.
async fn list_offsets(
    client: &Client,
    leader: i32,
    parts: &[(String, i32)],
    timestamp: i64,
) -> Option<BTreeMap<(String, i32), i64>> {
    let topics = (by_topic(parts).into_iter())
        .map(|(t, ps)| {
            let partitions = (ps.into_iter())
                .map(|p| {
                    ListOffsetsPartition::default()
                        .with_partition_index(p)
                        .with_current_leader_epoch(-1)
                        .with_timestamp(timestamp)
                })
                .collect();
            ListOffsetsTopic::default()
                .with_name(topic_name(t))
                .with_partitions(partitions)
        })
        .collect();
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(topics);
    let resp: ListOffsetsResponse = match client.call_node(leader, &req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(broker = leader, error = %e, "ListOffsets for the remote tier failed");
            return None;
        }
    };
    let mut out = BTreeMap::new();
    for t in &resp.topics {
        for p in t.partitions.iter().filter(|p| p.error_code == 0) {
            out.insert((t.name.0.to_string(), p.partition_index), p.offset);
        }
    }
    Some(out)
}

/// Each partition's bytes on `broker`'s disk (DescribeLogDirs); empty when it failed.
async fn local_sizes(
    client: &Client,
    broker: i32,
    parts: &[(String, i32)],
) -> BTreeMap<(String, i32), i64> {
    let topics = (by_topic(parts).into_iter())
        .map(|(t, ps)| {
            DescribableLogDirTopic::default()
                .with_topic(topic_name(t))
                .with_partitions(ps)
        })
        .collect();
    let req = DescribeLogDirsRequest::default().with_topics(Some(topics));
    let resp: DescribeLogDirsResponse = match client.call_node(broker, &req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(broker, error = %e, "DescribeLogDirs failed; local sizes not shown");
            return BTreeMap::new();
        }
    };
    let mut out = BTreeMap::new();
    for dir in resp.results.iter().filter(|d| d.error_code == 0) {
        for t in &dir.topics {
            for p in &t.partitions {
                *out.entry((t.name.0.to_string(), p.partition_index))
                    .or_insert(0) += p.partition_size;
            }
        }
    }
    out
}
