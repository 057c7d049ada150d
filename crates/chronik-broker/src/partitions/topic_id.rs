//! Each partition dir records the id of the topic incarnation it belongs to, so data left by a
//! deleted topic is never served as a new topic of the same name (possible when the topic was
//! deleted and created again on an external quorum while this broker was down).

use std::io::Write;
use std::path::Path;

use chronik_metadata::TopicId;
use chronik_wal::TOPIC_ID_FILE as FILE_NAME;

/// The topic id stored in `partition_dir`, if any.
pub(super) fn stored(partition_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(partition_dir.join(FILE_NAME)).ok()?;
    Some(text.trim().to_owned())
}

/// Records `id` in `partition_dir` (temp file, fsync, rename).
pub(super) fn store(partition_dir: &Path, id: TopicId) -> std::io::Result<()> {
    let tmp = partition_dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    writeln!(file, "{id}")?;
    file.sync_data()?;
    std::fs::rename(&tmp, partition_dir.join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_and_absence_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(stored(dir.path()), None);
        let id = TopicId::from_field("id", &[7; 16]).expect("id");
        store(dir.path(), id).expect("store");
        assert_eq!(stored(dir.path()), Some(id.to_string()));
    }
}
