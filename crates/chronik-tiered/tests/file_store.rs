//! The remote tier in a local directory: uploads, listing, reads, corruption and deletes.

mod common;

use chronik_tiered::{ObjectKind, RemoteLocation, RemoteOptions, RemoteStore, TieredError};
use chronik_wal::SegmentInfo;
use common::*;
use tempfile::TempDir;

/// A log of `batches` batches and an empty directory store.
fn log_and_store(batches: usize) -> (TempDir, TempDir, Vec<SegmentInfo>, RemoteStore) {
    let (local, remote) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (segments, _) = written_log(local.path(), batches);
    let store = store(remote.path());
    (local, remote, segments, store)
}

fn store(root: &std::path::Path) -> RemoteStore {
    let location = RemoteLocation::parse(&format!("file://{}", root.display())).unwrap();
    RemoteStore::open(&location, &RemoteOptions::default()).unwrap()
}

#[tokio::test]
async fn sealed_segments_go_up_and_come_back_batch_for_batch() {
    let (local, remote) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (segments, stored) = written_log(local.path(), 200);
    assert!(segments.len() > 5, "the log spans many segments");
    let store = store(&remote.path().join("tier"));
    store.check("test").await.unwrap();
    upload_and_read_back(&store, &segments, &stored).await;
}

#[tokio::test]
async fn a_flipped_byte_in_a_remote_object_is_reported_and_never_served() {
    let (_local, remote, segments, store) = log_and_store(40);
    let segment = &segments[1];
    let index = index_path(segment);
    let manifest = store
        .upload_segment(upload_of(segment, 1, &index))
        .await
        .unwrap();
    let good_index = store.read_index(&manifest).await.unwrap();

    let flip = |kind: ObjectKind, at: usize| {
        let path = remote.path().join(manifest.id.key(kind));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[at] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
    };
    // A byte inside the second frame's payload: the first frame still reads.
    let first = store
        .read_from(&manifest, &good_index, segment.base_offset, 1)
        .await
        .unwrap();
    let second_frame = first[0].batch.len() + 40;
    flip(ObjectKind::Segment, second_frame + 40 + 10);
    let err = store
        .read_from(&manifest, &good_index, segment.base_offset, usize::MAX)
        .await
        .unwrap_err();
    assert!(matches!(err, TieredError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("at byte {second_frame}")),
        "{err}"
    );
    let still = store
        .read_from(&manifest, &good_index, segment.base_offset, 1)
        .await
        .unwrap();
    assert_eq!(still, first);

    flip(ObjectKind::Index, 5);
    let err = store.read_index(&manifest).await.unwrap_err();
    assert!(err.to_string().contains("CRC-32C"), "{err}");

    flip(ObjectKind::ProducerSnapshot, 3);
    let err = store.producer_snapshot(&manifest.id).await.unwrap_err();
    assert!(err.to_string().contains("CRC-32C"), "{err}");

    flip(ObjectKind::Manifest, 20);
    let err = store.manifest(&manifest.id).await.unwrap_err();
    assert!(matches!(err, TieredError::Corrupt { .. }), "{err}");
    assert!(store.list_segments(TOPIC, 0, TOPIC_ID).await.is_err());
}

#[tokio::test]
async fn a_copy_without_its_manifest_is_not_listed_and_deletes_remove_every_object() {
    let (_local, remote, segments, store) = log_and_store(40);
    let index = index_path(&segments[0]);
    let whole = store
        .upload_segment(upload_of(&segments[0], 1, &index))
        .await
        .unwrap();
    let partial = store
        .upload_segment(upload_of(&segments[0], 2, &index))
        .await
        .unwrap();
    std::fs::remove_file(remote.path().join(partial.id.key(ObjectKind::Manifest))).unwrap();
    assert_eq!(listed(&store).await, vec![whole.clone()]);

    for id in [&whole.id, &partial.id] {
        store.delete_segment(id).await.unwrap();
        store.delete_segment(id).await.unwrap();
    }
    assert!(listed(&store).await.is_empty());
    let left: Vec<_> = walk(remote.path());
    assert!(left.is_empty(), "objects left behind: {left:?}");
}

#[tokio::test]
async fn a_segment_shorter_than_its_sealed_length_is_not_uploaded() {
    let (_local, _remote, segments, store) = log_and_store(40);
    let index = index_path(&segments[0]);
    let mut upload = upload_of(&segments[0], 1, &index);
    upload.segment_bytes += 1;
    let err = store.upload_segment(upload).await.unwrap_err();
    assert!(matches!(err, TieredError::LocalShort { .. }), "{err}");
    assert!(listed(&store).await.is_empty());

    let missing = std::path::Path::new("/nonexistent/00000000000000000000.wal");
    let mut upload = upload_of(&segments[0], 2, &index);
    upload.segment_path = missing;
    let err = store.upload_segment(upload).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent"), "{err}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
