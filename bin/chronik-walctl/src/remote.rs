//! `list --remote-storage`: what the remote tier holds of each partition in the data dir.

use std::path::Path;

use anyhow::{Context, Result};
use chronik_tiered::{ObjectKind, RemoteLocation, RemoteOptions, RemoteStore, SegmentManifest};
use chronik_types::{Offset, TopicPartition};
use chronik_wal::{PARTITIONS_DIR, TOPIC_ID_FILE};
use serde::Serialize;

/// A partition's remote segments as `list --output json` prints them.
#[derive(Debug, Serialize)]
pub struct RemoteSummary {
    /// The topic incarnation the partition dir records, which names its remote objects;
    /// `None`: the dir records none, so none of its remote segments can be found.
    pub topic_id: Option<String>,
    pub segments: usize,
    pub bytes: u64,
    pub start_offset: Option<Offset>,
    pub end_offset: Option<Offset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_details: Option<Vec<RemoteSegmentRow>>,
}

/// One whole remote segment (a copy with its manifest).
#[derive(Debug, Serialize)]
pub struct RemoteSegmentRow {
    /// The segment object's key under the location's prefix.
    pub key: String,
    pub base_offset: Offset,
    pub next_offset: Offset,
    pub bytes: u64,
    pub max_timestamp: i64,
}

impl RemoteSegmentRow {
    fn new(m: &SegmentManifest) -> Self {
        Self {
            key: m.id.key(ObjectKind::Segment),
            base_offset: m.id.base_offset,
            next_offset: m.next_offset,
            bytes: segment_bytes(m),
            max_timestamp: m.max_timestamp,
        }
    }
}

fn segment_bytes(m: &SegmentManifest) -> u64 {
    m.object(ObjectKind::Segment).map_or(0, |o| o.bytes)
}

/// Lists the remote segments of every partition in `tps`, in the same order.
pub fn summaries(
    dir: &Path,
    tps: &[TopicPartition],
    url: &str,
    with_segments: bool,
) -> Result<Vec<RemoteSummary>> {
    let location = RemoteLocation::parse(url)?;
    let store = RemoteStore::open(&location, &RemoteOptions::default())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime that talks to the remote tier")?;
    tps.iter()
        .map(|tp| {
            let topic_id = stored_topic_id(dir, tp);
            let manifests = match &topic_id {
                Some(id) => runtime
                    .block_on(store.list_segments(&tp.topic, tp.partition, id))
                    .with_context(|| {
                        format!("listing the remote segments of {tp} in {location}")
                    })?,
                None => Vec::new(),
            };
            Ok(RemoteSummary {
                topic_id,
                segments: manifests.len(),
                bytes: manifests.iter().map(segment_bytes).sum(),
                start_offset: manifests.iter().map(|m| m.id.base_offset).min(),
                end_offset: manifests.iter().map(|m| m.next_offset).max(),
                segment_details: with_segments
                    .then(|| manifests.iter().map(RemoteSegmentRow::new).collect()),
            })
        })
        .collect()
}

fn stored_topic_id(dir: &Path, tp: &TopicPartition) -> Option<String> {
    let path = dir
        .join(PARTITIONS_DIR)
        .join(tp.dir_name())
        .join(TOPIC_ID_FILE);
    let id = std::fs::read_to_string(path).ok()?.trim().to_string();
    (!id.is_empty()).then_some(id)
}
