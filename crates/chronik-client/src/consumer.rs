//! A fetch-based consumer of assigned partitions (no group membership): it resolves start
//! offsets with ListOffsets, then long-polls each partition's leader with Fetch.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    BrokerId, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tokio::task::JoinSet;

use crate::cluster::Client;
use crate::records::{FetchedBatch, split_batches};
use crate::{ClientError, Result};

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Earliest,
    Latest,
    Offset(i64),
    /// The first record with a timestamp at or after this (ms since the epoch).
    Timestamp(i64),
}

impl StartAt {
    /// The offset this names in `topic`-`partition` (ListOffsets unless it is an offset).
    pub async fn resolve(self, client: &Client, topic: &str, partition: i32) -> Result<i64> {
        match self {
            StartAt::Offset(o) => Ok(o),
            StartAt::Earliest => list_offset(client, topic, partition, -2).await,
            StartAt::Latest => list_offset(client, topic, partition, -1).await,
            StartAt::Timestamp(ts) => list_offset(client, topic, partition, ts).await,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub max_wait: Duration,
    pub max_bytes: i32,
    pub partition_max_bytes: i32,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_millis(500),
            max_bytes: 50 * 1024 * 1024,
            partition_max_bytes: 1024 * 1024,
        }
    }
}

pub struct Consumer {
    client: Client,
    topic: String,
    cfg: ConsumerConfig,
    /// Next offset to fetch, per partition.
    positions: BTreeMap<i32, i64>,
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

impl Consumer {
    /// Assigns `partitions` of `topic` (all of them with `None`) starting at `start`.
    pub async fn new(
        client: Client,
        topic: &str,
        partitions: Option<Vec<i32>>,
        start: StartAt,
        cfg: ConsumerConfig,
    ) -> Result<Consumer> {
        let partitions = match partitions {
            Some(p) => p,
            None => client
                .partitions(topic)
                .await?
                .iter()
                .map(|p| p.partition)
                .collect(),
        };
        let mut positions = BTreeMap::new();
        for p in partitions {
            positions.insert(p, start.resolve(&client, topic, p).await?);
        }
        Ok(Self::at(client, topic, positions, cfg))
    }

    /// Reads exactly the partitions in `positions`, each from its given offset.
    pub fn at(
        client: Client,
        topic: &str,
        positions: BTreeMap<i32, i64>,
        cfg: ConsumerConfig,
    ) -> Consumer {
        Consumer {
            client,
            topic: topic.to_owned(),
            cfg,
            positions,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn positions(&self) -> &BTreeMap<i32, i64> {
        &self.positions
    }

    /// One round of Fetch requests (one per leader, concurrently); returns the batches at or
    /// after each position and advances the positions past them. Partitions whose leader moved
    /// are skipped this round after a metadata refresh.
    pub async fn poll(&mut self) -> Result<Vec<FetchedBatch>> {
        let mut by_leader: HashMap<i32, Vec<(i32, i64)>> = HashMap::new();
        let mut stale = false;
        for (&p, &offset) in &self.positions {
            match self.client.leader(&self.topic, p) {
                Ok(leader) => by_leader.entry(leader).or_default().push((p, offset)),
                Err(_) => stale = true,
            }
        }
        let mut set = JoinSet::new();
        for (leader, parts) in by_leader {
            let req = self.fetch_request(&parts);
            let client = self.client.clone();
            set.spawn(async move { client.call_node(leader, &req).await });
        }
        let mut out = Vec::new();
        while let Some(joined) = set.join_next().await {
            let resp: FetchResponse = joined
                .map_err(|e| ClientError::InvalidInput(format!("fetch task failed: {e}")))??;
            ClientError::check(resp.error_code, || format!("fetch from {}", self.topic))?;
            stale |= self.take_response(resp, &mut out)?;
        }
        if stale {
            self.client
                .refresh_metadata(std::slice::from_ref(&self.topic))
                .await?;
        }
        Ok(out)
    }

    fn fetch_request(&self, parts: &[(i32, i64)]) -> FetchRequest {
        let partitions = parts
            .iter()
            .map(|&(p, offset)| {
                FetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(offset)
                    .with_current_leader_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(self.cfg.partition_max_bytes)
            })
            .collect();
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(i32::try_from(self.cfg.max_wait.as_millis()).unwrap_or(i32::MAX))
            .with_min_bytes(1)
            .with_max_bytes(self.cfg.max_bytes)
            .with_session_epoch(-1)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(name(&self.topic))
                    .with_partitions(partitions),
            ])
    }

    /// Takes the batches of one response; returns whether metadata looked stale.
    fn take_response(&mut self, resp: FetchResponse, out: &mut Vec<FetchedBatch>) -> Result<bool> {
        let mut stale = false;
        for t in resp.responses {
            if t.topic.0.as_str() != self.topic {
                continue;
            }
            for pd in t.partitions {
                let Some(pos) = self.positions.get_mut(&pd.partition_index) else {
                    continue;
                };
                if let Err(e) =
                    ClientError::check(pd.error_code, || fetch_context(&self.topic, *pos, &pd))
                {
                    if e.needs_metadata()
                        || pd.error_code == ResponseError::NotLeaderOrFollower.code()
                    {
                        stale = true;
                        continue;
                    }
                    return Err(e);
                }
                let Some(data) = pd.records else { continue };
                for mut batch in split_batches(pd.partition_index, data)? {
                    if batch.last_offset() < *pos {
                        continue;
                    }
                    batch.fetched_from = *pos;
                    *pos = batch.last_offset() + 1;
                    out.push(batch);
                }
            }
        }
        Ok(stale)
    }
}

/// What a failed partition fetch names: for OFFSET_OUT_OF_RANGE also the range the broker
/// holds, which tells a position deleted by retention (below the log start) from one the
/// broker never had (beyond the high watermark).
fn fetch_context(topic: &str, pos: i64, pd: &PartitionData) -> String {
    let at = format!("fetch {topic}-{} at {pos}", pd.partition_index);
    if pd.error_code != ResponseError::OffsetOutOfRange.code() {
        return at;
    }
    let (start, hw) = (pd.log_start_offset, pd.high_watermark);
    let why = if start >= 0 && pos < start {
        "; below the log start: deleted, e.g. by retention, before it was read"
    } else {
        ""
    };
    format!("{at} (broker holds {start}..{hw}{why})")
}

/// Pause between attempts of a retriable ListOffsets.
const LIST_OFFSET_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// ListOffsets for one partition at `timestamp` (-2 earliest, -1 latest). Retriable errors
/// (a partition whose leader moved, or that its leader has not opened yet right after its
/// creation) are retried, after a metadata refresh when they call for one, until the
/// client's request timeout.
pub async fn list_offset(
    client: &Client,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> Result<i64> {
    let deadline = tokio::time::Instant::now() + client.config().request_timeout;
    loop {
        match list_offset_once(client, topic, partition, timestamp).await {
            Err(e)
                if e.is_retriable()
                    && tokio::time::Instant::now() + LIST_OFFSET_BACKOFF < deadline =>
            {
                tracing::debug!(topic, partition, error = %e, "list offsets retried");
                tokio::time::sleep(LIST_OFFSET_BACKOFF).await;
                if e.needs_metadata() {
                    client.refresh_metadata(&[topic.to_owned()]).await?;
                }
            }
            done => return done,
        }
    }
}

async fn list_offset_once(
    client: &Client,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> Result<i64> {
    let leader = match client.leader(topic, partition) {
        Ok(l) => l,
        Err(_) => {
            client.refresh_metadata(&[topic.to_owned()]).await?;
            client.leader(topic, partition)?
        }
    };
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(partition)
                        .with_current_leader_epoch(-1)
                        .with_timestamp(timestamp),
                ]),
        ]);
    let resp: ListOffsetsResponse = client.call_node(leader, &req).await?;
    let p = resp
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| {
            ClientError::InvalidInput(format!(
                "ListOffsets answered nothing for {topic}-{partition}"
            ))
        })?;
    ClientError::check(p.error_code, || {
        format!("list offsets of {topic}-{partition}")
    })?;
    Ok(p.offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: i16, start: i64, hw: i64) -> PartitionData {
        PartitionData::default()
            .with_partition_index(2)
            .with_error_code(code)
            .with_log_start_offset(start)
            .with_high_watermark(hw)
    }

    #[test]
    fn out_of_range_errors_name_the_range_the_broker_holds() {
        let oor = ResponseError::OffsetOutOfRange.code();
        let below = fetch_context("t", 7873, &failed(oor, 8000, 9000));
        assert_eq!(
            below,
            "fetch t-2 at 7873 (broker holds 8000..9000; below the log start: deleted, e.g. by retention, before it was read)"
        );
        let beyond = fetch_context("t", 9500, &failed(oor, 0, 9000));
        assert_eq!(beyond, "fetch t-2 at 9500 (broker holds 0..9000)");
        let other = ResponseError::NotLeaderOrFollower.code();
        assert_eq!(
            fetch_context("t", 5, &failed(other, 0, 9)),
            "fetch t-2 at 5"
        );
    }
}
