//! The log start offset checkpoint: where a log begins when that lies inside its first segment
//! (DeleteRecords moved it there, or a follower followed its leader's). Without it a restart
//! would bring deleted records back. Kafka keeps the same fact in `log-start-offset-checkpoint`.
//!
//! File format (Kafka's checkpoint style): a version line `0`, then the offset.

use std::io::Write;
use std::path::Path;

use chronik_types::Offset;

use crate::Result;
use crate::epoch::sync_dir;
use crate::error::IoContext;

/// The checkpoint's file name inside a partition dir.
pub const LOG_START_FILE: &str = "log-start-offset";

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

/// The checkpointed log start of a partition dir: `None` when there is none. An unreadable one
/// is ignored with a warning: the log then starts at its first segment, which shows deleted
/// records again but loses nothing.
pub(crate) fn load(dir: &Path) -> Result<Option<Offset>> {
    let path = dir.join(LOG_START_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let offset = (bytes.len() < 64)
                .then(|| std::str::from_utf8(&bytes).ok().and_then(decode))
                .flatten();
            if offset.is_none() {
                tracing::warn!(path = %path.display(),
                    "ignoring an unreadable log start checkpoint; the log starts at its first segment");
            }
            Ok(offset)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

/// Writes the checkpoint durably: temp file, fsync, rename, dir sync.
pub(crate) fn store(dir: &Path, offset: Offset) -> Result<()> {
    let path = dir.join(LOG_START_FILE);
    let tmp = dir.join(format!("{LOG_START_FILE}.tmp"));
    let mut file = std::fs::File::create(&tmp).at(&tmp)?;
    file.write_all(encode(offset).as_bytes()).at(&tmp)?;
    file.sync_data().at(&tmp)?;
    std::fs::rename(&tmp, &path).at(&path)?;
    sync_dir(dir)
}

/// Removes the checkpoint (the log restarts at its first segment's base); the caller syncs
/// the dir.
pub(crate) fn remove(dir: &Path) -> Result<()> {
    let path = dir.join(LOG_START_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).at(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_garbage_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(dir.path()).expect("load"), None);
        store(dir.path(), 1234).expect("store");
        assert_eq!(load(dir.path()).expect("load"), Some(1234));
        for bad in ["", "0\n", "1\n5\n", "0\n-3\n", "0\nx\n", "0\n5\n6\n"] {
            std::fs::write(dir.path().join(LOG_START_FILE), bad).expect("write");
            assert_eq!(
                load(dir.path()).expect("load"),
                None,
                "{bad:?} was accepted"
            );
        }
        remove(dir.path()).expect("remove");
        remove(dir.path()).expect("removing twice is fine");
        assert_eq!(load(dir.path()).expect("load"), None);
    }
}
