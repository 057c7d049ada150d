//! What a remote segment is: its id, the names of its objects, and the manifest that is
//! uploaded last and says the copy is whole. Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::{Result, TieredError};

const MANIFEST_MAGIC: &[u8; 4] = b"CHRM";

/// One uploaded copy of a segment. A segment uploaded twice (after a crash or a leader change)
/// gets two ids, and so two sets of objects: an upload never overwrites another's objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RemoteSegmentId {
    pub topic: String,
    pub partition: i32,
    /// The topic incarnation: a deleted and recreated topic never reads the old one's objects.
    pub topic_id: String,
    pub base_offset: i64,
    /// Chosen by the uploader, unique per attempt.
    pub upload_id: u64,
}

/// The objects one remote segment is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// The segment file, byte for byte: CRC-checked frames of Kafka record batches.
    Segment,
    /// The segment's offset, time and aborted-transaction index, as chronik-wal writes it.
    Index,
    /// The producer state as of the segment's end, for a replica that starts from it.
    ProducerSnapshot,
    /// This manifest, uploaded last.
    Manifest,
}

impl ObjectKind {
    fn extension(self) -> &'static str {
        match self {
            Self::Segment => "wal",
            Self::Index => "index",
            Self::ProducerSnapshot => "producers",
            Self::Manifest => "manifest",
        }
    }
}

impl RemoteSegmentId {
    /// The key prefix, under the store's own, of every object of one topic partition
    /// incarnation.
    pub fn partition_dir(topic: &str, partition: i32, topic_id: &str) -> String {
        format!("{topic}-{partition}/{topic_id}")
    }

    /// The object's key under the store's prefix.
    pub fn key(&self, kind: ObjectKind) -> String {
        format!(
            "{}/{:020}-{:016x}.{}",
            Self::partition_dir(&self.topic, self.partition, &self.topic_id),
            self.base_offset,
            self.upload_id,
            kind.extension()
        )
    }

    /// The base offset and upload id of a manifest's file name, if it is one.
    pub fn parse_manifest_name(name: &str) -> Option<(i64, u64)> {
        let stem = name.strip_suffix(".manifest")?;
        let (base, upload) = stem.split_once('-')?;
        if base.len() != 20 || upload.len() != 16 {
            return None;
        }
        Some((base.parse().ok()?, u64::from_str_radix(upload, 16).ok()?))
    }
}

/// Where a leader epoch began, for the epochs a segment's batches carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochStart {
    pub epoch: i32,
    pub start_offset: i64,
}

impl EpochStart {
    /// The entries of a log's leader-epoch checkpoint (oldest first) that cover the segment
    /// `[base_offset, next_offset)`: the one in force at its base, and those starting inside.
    pub fn of_segment(
        entries: &[EpochStart],
        base_offset: i64,
        next_offset: i64,
    ) -> Vec<EpochStart> {
        let first = entries.partition_point(|e| e.start_offset <= base_offset);
        let from = first.saturating_sub(1);
        (entries[from..].iter())
            .take_while(|e| e.start_offset < next_offset)
            .copied()
            .collect()
    }
}

/// Size and checksum of one uploaded object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSummary {
    pub kind: ObjectKind,
    pub bytes: u64,
    pub crc32c: u32,
}

/// Uploaded after every other object of the segment: a segment without one is not copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentManifest {
    pub id: RemoteSegmentId,
    /// One past the segment's last offset.
    pub next_offset: i64,
    pub max_timestamp: i64,
    pub leader_epochs: Vec<EpochStart>,
    pub objects: Vec<ObjectSummary>,
}

impl SegmentManifest {
    pub fn object(&self, kind: ObjectKind) -> Option<&ObjectSummary> {
        self.objects.iter().find(|o| o.kind == kind)
    }

    /// Magic, CRC-32C of the JSON that follows, the JSON.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self).map_err(|e| TieredError::Encode {
            key: self.id.key(ObjectKind::Manifest),
            reason: e.to_string(),
        })?;
        let mut out = Vec::with_capacity(json.len() + 8);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&crc32c::crc32c(&json).to_be_bytes());
        out.extend_from_slice(&json);
        Ok(out)
    }

    /// Decodes what [`SegmentManifest::encode`] wrote; `key` names it in errors.
    pub fn decode(key: &str, bytes: &[u8]) -> Result<Self> {
        let corrupt = |reason: String| TieredError::Corrupt {
            key: key.to_string(),
            reason,
        };
        if bytes.len() < 8 || &bytes[..4] != MANIFEST_MAGIC {
            return Err(corrupt("not a segment manifest (bad magic)".into()));
        }
        let stored = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let json = &bytes[8..];
        let computed = crc32c::crc32c(json);
        if stored != computed {
            return Err(corrupt(format!(
                "manifest CRC-32C {computed:#010x} does not match the stored {stored:#010x}"
            )));
        }
        serde_json::from_slice(json).map_err(|e| corrupt(format!("manifest does not parse: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_segment_carries_the_epoch_in_force_at_its_base_and_those_starting_inside() {
        let e = |epoch, start_offset| EpochStart {
            epoch,
            start_offset,
        };
        let entries = [e(1, 0), e(2, 50), e(4, 120), e(5, 300)];
        assert_eq!(
            EpochStart::of_segment(&entries, 100, 200),
            vec![e(2, 50), e(4, 120)]
        );
        assert_eq!(EpochStart::of_segment(&entries, 0, 50), vec![e(1, 0)]);
        assert_eq!(EpochStart::of_segment(&entries, 300, 400), vec![e(5, 300)]);
        assert_eq!(EpochStart::of_segment(&[], 0, 10), vec![]);
    }

    use super::*;

    fn manifest() -> SegmentManifest {
        SegmentManifest {
            id: RemoteSegmentId {
                topic: "orders".into(),
                partition: 3,
                topic_id: "a1b2".into(),
                base_offset: 1_000,
                upload_id: 0xfeed,
            },
            next_offset: 2_000,
            max_timestamp: 1_700_000_000_000,
            leader_epochs: vec![EpochStart {
                epoch: 4,
                start_offset: 900,
            }],
            objects: vec![ObjectSummary {
                kind: ObjectKind::Segment,
                bytes: 12_345,
                crc32c: 7,
            }],
        }
    }

    #[test]
    fn keys_name_the_partition_incarnation_offset_and_upload() {
        let m = manifest();
        assert_eq!(
            m.id.key(ObjectKind::Segment),
            "orders-3/a1b2/00000000000000001000-000000000000feed.wal"
        );
        let name = m.id.key(ObjectKind::Manifest);
        let file = name.rsplit('/').next().unwrap();
        assert_eq!(
            RemoteSegmentId::parse_manifest_name(file),
            Some((1_000, 0xfeed))
        );
        assert_eq!(
            RemoteSegmentId::parse_manifest_name("00000000000000001000-000000000000feed.wal"),
            None
        );
        assert_eq!(
            RemoteSegmentId::parse_manifest_name("1000-feed.manifest"),
            None
        );
    }

    #[test]
    fn a_manifest_round_trips_and_any_flipped_byte_is_caught() {
        let m = manifest();
        let bytes = m.encode().unwrap();
        assert_eq!(SegmentManifest::decode("k", &bytes).unwrap(), m);
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            let err = SegmentManifest::decode("k", &bad).unwrap_err();
            assert!(
                matches!(err, TieredError::Corrupt { .. }),
                "byte {at}: {err}"
            );
        }
        assert!(SegmentManifest::decode("k", &bytes[..5]).is_err());
    }
}
