//! The leader-epoch checkpoint: for each leader epoch, the first offset written in it. Replication
//! uses it to find where a follower's log diverges from a new leader's (Kafka's KIP-101/279).
//!
//! File format (Kafka's): a version line `0`, a count line, then `epoch start_offset` lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use chronik_types::{LeaderEpoch, Offset};

use crate::error::IoContext;
use crate::{Result, WalError};

pub const EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";
/// More entries than this in a checkpoint file means the file is corrupt.
const MAX_ENTRIES: usize = 1_000_000;

/// One epoch and the first offset its leader wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EpochEntry {
    pub epoch: LeaderEpoch,
    pub start_offset: Offset,
}

/// Ordered epoch → start offset entries (both strictly increasing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochCache {
    entries: Vec<EpochEntry>,
}

impl EpochCache {
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    /// Records that `epoch` starts at `offset`. Returns whether anything changed. An epoch older
    /// than the latest is ignored: offsets only move forward within a log.
    pub fn assign(&mut self, epoch: LeaderEpoch, offset: Offset) -> bool {
        match self.entries.last() {
            Some(last) if epoch <= last.epoch => false,
            Some(last) if offset < last.start_offset => false,
            _ => {
                self.entries.push(EpochEntry {
                    epoch,
                    start_offset: offset,
                });
                true
            }
        }
    }

    /// Forgets epochs that start at or after `end` (the log was truncated to `end`).
    pub fn truncate_from_end(&mut self, end: Offset) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end);
        before != self.entries.len()
    }

    /// Forgets epochs wholly before `start` (the log's start moved), keeping the epoch that
    /// covers `start` with its start moved up.
    pub fn truncate_from_start(&mut self, start: Offset) -> bool {
        let covering = self.entries.partition_point(|e| e.start_offset <= start);
        if covering <= 1 {
            return false;
        }
        self.entries.drain(..covering - 1);
        if let Some(first) = self.entries.first_mut() {
            first.start_offset = start;
        }
        true
    }

    /// Kafka's OffsetForLeaderEpoch: the largest epoch ≤ `epoch` and the offset where it ended
    /// (the next epoch's start, or `log_end`). `None` when `epoch` is older than every entry.
    pub fn end_offset_for(
        &self,
        epoch: LeaderEpoch,
        log_end: Offset,
    ) -> Option<(LeaderEpoch, Offset)> {
        let i = self.entries.partition_point(|e| e.epoch <= epoch);
        let found = self.entries.get(i.checked_sub(1)?)?;
        let end = self
            .entries
            .get(i)
            .map_or(log_end, |next| next.start_offset);
        Some((found.epoch, end))
    }

    /// The epoch in which `offset` was written.
    pub fn epoch_at(&self, offset: Offset) -> Option<LeaderEpoch> {
        let i = self.entries.partition_point(|e| e.start_offset <= offset);
        Some(self.entries.get(i.checked_sub(1)?)?.epoch)
    }

    pub fn encode(&self) -> String {
        let mut out = format!("0\n{}\n", self.entries.len());
        for e in &self.entries {
            out.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        out
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != "0" {
            return None;
        }
        let count: usize = lines.next()?.parse().ok().filter(|n| *n <= MAX_ENTRIES)?;
        let mut cache = Self::default();
        for _ in 0..count {
            let (epoch, start) = lines.next()?.split_once(' ')?;
            let (epoch, start) = (epoch.parse().ok()?, start.parse().ok()?);
            if !cache.assign(epoch, start) {
                return None;
            }
        }
        lines.next().is_none().then_some(cache)
    }

    /// Loads the checkpoint from a partition dir: `Ok(None)` when absent or unreadable.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(EPOCH_CHECKPOINT_FILE);
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() < 64 * 1024 * 1024 => {
                Ok(std::str::from_utf8(&bytes).ok().and_then(Self::decode))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).at(path),
        }
    }

    /// Writes the checkpoint durably: temp file, fsync, rename.
    pub fn store(&self, dir: &Path) -> Result<()> {
        store_encoded(dir, &self.encode())
    }
}

/// Writes an encoded checkpoint durably into a partition dir: temp file, fsync, rename.
pub fn store_encoded(dir: &Path, encoded: &str) -> Result<()> {
    let file = write_temp(dir, encoded)?;
    file.sync_data().at(temp_path(dir))?;
    install_temp(dir)?;
    sync_dir(dir)
}

/// Whether a partition dir holds an epoch checkpoint.
pub(crate) fn exists(dir: &Path) -> Result<bool> {
    let path = dir.join(EPOCH_CHECKPOINT_FILE);
    path.try_exists().at(path)
}

fn temp_path(dir: &Path) -> PathBuf {
    dir.join(format!("{EPOCH_CHECKPOINT_FILE}.tmp"))
}

/// The first step of [`store_encoded`]: the checkpoint in its temp file, neither synced nor
/// in place.
pub(crate) fn write_temp(dir: &Path, encoded: &str) -> Result<std::fs::File> {
    let tmp = temp_path(dir);
    let mut file = std::fs::File::create(&tmp).at(&tmp)?;
    file.write_all(encoded.as_bytes()).at(&tmp)?;
    Ok(file)
}

/// Renames the temp file written by [`write_temp`], once synced, over the checkpoint.
pub(crate) fn install_temp(dir: &Path) -> Result<()> {
    let path = dir.join(EPOCH_CHECKPOINT_FILE);
    std::fs::rename(temp_path(dir), &path).at(&path)
}

/// Makes a directory's entries (created, renamed or removed files) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| WalError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> EpochCache {
        let mut c = EpochCache::default();
        for (e, o) in entries {
            assert!(c.assign(*e, *o));
        }
        c
    }

    #[test]
    fn end_offset_for_follows_kafka() {
        let c = cache(&[(1, 0), (3, 100), (4, 250)]);
        assert_eq!(c.end_offset_for(0, 300), None);
        assert_eq!(c.end_offset_for(1, 300), Some((1, 100)));
        assert_eq!(c.end_offset_for(2, 300), Some((1, 100)));
        assert_eq!(c.end_offset_for(3, 300), Some((3, 250)));
        assert_eq!(c.end_offset_for(9, 300), Some((4, 300)));
        assert_eq!(c.epoch_at(99), Some(1));
        assert_eq!(c.epoch_at(100), Some(3));
    }

    #[test]
    fn assign_only_moves_forward() {
        let mut c = cache(&[(2, 10)]);
        assert!(!c.assign(2, 20));
        assert!(!c.assign(1, 30));
        assert!(!c.assign(3, 5));
        assert!(c.assign(3, 10));
    }

    #[test]
    fn truncation_from_both_ends() {
        let mut c = cache(&[(1, 0), (2, 50), (3, 100)]);
        c.truncate_from_end(100);
        assert_eq!(c.latest().unwrap().epoch, 2);
        c.truncate_from_start(60);
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: 2,
                start_offset: 60
            }]
        );
    }

    #[test]
    fn checkpoint_text_round_trips_and_rejects_garbage() {
        let c = cache(&[(1, 0), (5, 77)]);
        assert_eq!(EpochCache::decode(&c.encode()), Some(c));
        for bad in [
            "",
            "1\n0\n",
            "0\n2\n1 0\n",
            "0\n1\nx y\n",
            "0\n2\n5 10\n4 20\n",
            "0\n99999999999\n",
        ] {
            assert_eq!(EpochCache::decode(bad), None, "{bad:?}");
        }
    }
}
