//! A real log written by chronik-wal, its sealed segments uploaded to a remote store, and the
//! checks every store must pass.

#![allow(dead_code)]

use std::path::PathBuf;

use chronik_records::build_batch;
use chronik_tiered::{EpochStart, RemoteSegmentId, RemoteStore, SegmentManifest, SegmentUpload};
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, SegmentInfo, WalOptions, index_file_name};

pub const TOPIC: &str = "orders";
pub const TOPIC_ID: &str = "6f1c2a";

/// A closed log of `batches` three-record batches over many small segments, each with its
/// index; returns its segments and each batch as stored (offsets and epoch rewritten).
pub fn written_log(dir: &std::path::Path, batches: usize) -> (Vec<SegmentInfo>, Vec<Vec<u8>>) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).expect("open data dir");
    let config = LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    let (log, _) = data
        .open_partition(&TopicPartition::new(TOPIC, 0), config)
        .expect("open partition");
    let mut stored = Vec::new();
    for i in 0..batches {
        let values: Vec<Vec<u8>> = (0..3)
            .map(|r| format!("value {i}.{r} {}", "x".repeat(40)).into_bytes())
            .collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let mut b = build_batch(&refs, 1_000 + i as i64);
        log.append(&mut b, 5).expect("append");
        stored.push(b);
    }
    let segments = log.segments();
    log.close().expect("close log");
    data.close().expect("close data dir");
    (segments, stored)
}

pub fn index_path(segment: &SegmentInfo) -> PathBuf {
    segment
        .path
        .with_file_name(index_file_name(segment.base_offset))
}

pub fn id(base_offset: i64, upload_id: u64) -> RemoteSegmentId {
    RemoteSegmentId {
        topic: TOPIC.into(),
        partition: 0,
        topic_id: TOPIC_ID.into(),
        base_offset,
        upload_id,
    }
}

pub fn upload_of<'a>(
    segment: &'a SegmentInfo,
    upload_id: u64,
    index: &'a std::path::Path,
) -> SegmentUpload<'a> {
    SegmentUpload {
        id: id(segment.base_offset, upload_id),
        segment_path: &segment.path,
        segment_bytes: segment.bytes,
        index_path: index,
        next_offset: segment.next_offset,
        max_timestamp: segment.max_timestamp,
        leader_epochs: vec![EpochStart {
            epoch: 5,
            start_offset: 0,
        }],
        producer_snapshot: Some(bytes::Bytes::from_static(b"producer state")),
    }
}

/// Uploads every segment, checks the listing and reads every offset back batch for batch.
pub async fn upload_and_read_back(
    store: &RemoteStore,
    segments: &[SegmentInfo],
    stored: &[Vec<u8>],
) {
    let mut uploaded = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let index = index_path(segment);
        let manifest = store
            .upload_segment(upload_of(segment, 100 + i as u64, &index))
            .await
            .expect("upload");
        assert_eq!(manifest.next_offset, segment.next_offset);
        uploaded.push(manifest);
    }
    let listed = store.list_segments(TOPIC, 0, TOPIC_ID).await.expect("list");
    assert_eq!(listed, uploaded);
    assert!(
        store
            .list_segments(TOPIC, 1, TOPIC_ID)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_segments(TOPIC, 0, "other-incarnation")
            .await
            .expect("list")
            .is_empty()
    );
    let mut read_all = Vec::new();
    for manifest in &listed {
        assert_eq!(
            store.manifest(&manifest.id).await.expect("manifest"),
            *manifest
        );
        assert_eq!(
            store
                .producer_snapshot(&manifest.id)
                .await
                .expect("snapshot"),
            Some(bytes::Bytes::from_static(b"producer state"))
        );
        let index = store.read_index(manifest).await.expect("index");
        let whole = store
            .read_from(manifest, &index, manifest.id.base_offset, usize::MAX)
            .await
            .expect("read whole segment");
        read_all.extend(whole.iter().map(|b| b.batch.to_vec()));
        for offset in manifest.id.base_offset..manifest.next_offset {
            let first = store
                .read_from(manifest, &index, offset, 1)
                .await
                .expect("read one");
            assert_eq!(first.len(), 1, "a fetch returns at least one batch");
            let batch = &first[0];
            assert!(batch.meta.base_offset <= offset && offset <= batch.meta.last_offset);
            assert_eq!(
                batch.batch.as_ref(),
                stored[(offset / 3) as usize].as_slice()
            );
        }
        assert!(
            store
                .read_from(manifest, &index, manifest.next_offset, 1)
                .await
                .is_err()
        );
    }
    assert_eq!(read_all, stored, "every batch comes back once, in order");
}

/// Every whole copy the store lists for the test partition.
pub async fn listed(store: &RemoteStore) -> Vec<SegmentManifest> {
    store.list_segments(TOPIC, 0, TOPIC_ID).await.expect("list")
}

pub fn manifest_of(listed: &[SegmentManifest], base_offset: i64) -> &SegmentManifest {
    listed
        .iter()
        .find(|m| m.id.base_offset == base_offset)
        .expect("segment listed")
}
