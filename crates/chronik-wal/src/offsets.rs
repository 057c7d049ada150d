//! Single-offset checkpoints of a partition dir. Kafka's checkpoint style: a version line `0`,
//! then the offset.
//!
//! - `log-start-offset`: where the log begins when that lies inside its first segment
//!   (DeleteRecords moved it there, or a follower followed its leader's). Without it a restart
//!   would bring deleted records back (Kafka's `log-start-offset-checkpoint`).
//! - `cleaner-offset`: where the log cleaner's next pass starts; below it the log is clean
//!   (Kafka's `cleaner-offset-checkpoint`).

use std::io::Write;
use std::path::Path;

use chronik_types::Offset;

use crate::Result;
use crate::epoch::sync_dir;
use crate::error::IoContext;

use crate::log::PartitionLog;

/// The log start checkpoint's file name inside a partition dir.
pub const LOG_START_FILE: &str = "log-start-offset";
/// Where a partition dir records the id of the topic incarnation its data belongs to.
pub const TOPIC_ID_FILE: &str = "topic.id";
/// The cleaner checkpoint's file name inside a partition dir.
pub const CLEANER_OFFSET_FILE: &str = "cleaner-offset";

fn encode(offset: Offset) -> String {
    format!("0\n{offset}\n")
}

fn decode(text: &str) -> Option<Offset> {
    let mut lines = text.lines();
    if lines.next()? != "0" {
        return None;
    }
    let offset: Offset = lines.next()?.parse().ok().filter(|o| *o >= 0)?;
    lines.next().is_none().then_some(offset)
}

/// The checkpointed offset `file` of a partition dir: `None` when there is none. An unreadable
/// one is ignored with a warning: a log then starts at its first segment (deleted records show
/// again, none are lost), a cleaner cleans it all again.
pub fn load(dir: &Path, file: &str) -> Result<Option<Offset>> {
    let path = dir.join(file);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let offset = (bytes.len() < 64)
                .then(|| std::str::from_utf8(&bytes).ok().and_then(decode))
                .flatten();
            if offset.is_none() {
                tracing::warn!(path = %path.display(), "ignoring an unreadable offset checkpoint");
            }
            Ok(offset)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

/// Writes the checkpoint `file` durably: temp file, fsync, rename, dir sync.
pub(crate) fn store(dir: &Path, file: &str, offset: Offset) -> Result<()> {
    let path = dir.join(file);
    let tmp = dir.join(format!("{file}.tmp"));
    let mut file = std::fs::File::create(&tmp).at(&tmp)?;
    file.write_all(encode(offset).as_bytes()).at(&tmp)?;
    file.sync_data().at(&tmp)?;
    std::fs::rename(&tmp, &path).at(&path)?;
    sync_dir(dir)
}

/// Removes the checkpoint `file`; the caller syncs the dir.
pub(crate) fn remove(dir: &Path, file: &str) -> Result<()> {
    let path = dir.join(file);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).at(path),
    }
}

impl PartitionLog {
    /// Where the cleaner's next pass starts (`None`: never cleaned, all of it is dirty).
    pub fn cleaner_offset(&self) -> Result<Option<Offset>> {
        load(&self.dir, CLEANER_OFFSET_FILE)
    }

    /// Records durably that the log is clean below `offset`.
    pub fn store_cleaner_offset(&self, offset: Offset) -> Result<()> {
        store(&self.dir, CLEANER_OFFSET_FILE, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_garbage_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = LOG_START_FILE;
        assert_eq!(load(dir.path(), f).expect("load"), None);
        store(dir.path(), f, 1234).expect("store");
        assert_eq!(load(dir.path(), f).expect("load"), Some(1234));
        assert_eq!(load(dir.path(), CLEANER_OFFSET_FILE).expect("load"), None);
        for bad in ["", "0\n", "1\n5\n", "0\n-3\n", "0\nx\n", "0\n5\n6\n"] {
            std::fs::write(dir.path().join(f), bad).expect("write");
            assert_eq!(
                load(dir.path(), f).expect("load"),
                None,
                "{bad:?} was accepted"
            );
        }
        remove(dir.path(), f).expect("remove");
        remove(dir.path(), f).expect("removing twice is fine");
        assert_eq!(load(dir.path(), f).expect("load"), None);
    }
}
