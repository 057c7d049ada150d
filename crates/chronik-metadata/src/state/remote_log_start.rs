//! The log start offset over both tiers of a partition with remote copies (DeleteRecords
//! there): applying RemoteLogStartChange records. Kept on the partition, so it goes with its
//! topic and is in every snapshot.

use crate::Result;
use crate::error::StateError;
use crate::ids::Uuid;
use crate::proto::RemoteLogStartChange;
use crate::state::MetadataState;

impl MetadataState {
    pub(crate) fn move_remote_log_start(&mut self, r: &RemoteLogStartChange) -> Result<()> {
        self.check_remote_log_start(r)?;
        let topic_id = Uuid::from_field("topic_id", &r.topic_id)?;
        let partition = (self.topics.get_mut(&topic_id))
            .and_then(|t| t.partitions.get_mut(usize::try_from(r.partition).ok()?));
        if let Some(p) = partition {
            p.remote_log_start = r.log_start_offset;
        }
        Ok(())
    }

    /// Whether the record would apply: the partition exists, `r` comes from its leader epoch
    /// and moves its log start forward.
    pub fn check_remote_log_start(&self, r: &RemoteLogStartChange) -> Result<()> {
        let topic_id = Uuid::from_field("topic_id", &r.topic_id)?;
        let (topic, partition) = self.topic_partition(topic_id, r.partition)?;
        let invalid = |reason: String| StateError::InvalidPartition {
            topic: topic.name.clone(),
            partition: r.partition,
            reason,
        };
        if r.leader_epoch != partition.leader_epoch {
            return Err(invalid(format!(
                "log start moved at leader epoch {}, but the partition's leader epoch is {}",
                r.leader_epoch, partition.leader_epoch
            )));
        }
        if r.log_start_offset <= partition.remote_log_start {
            return Err(invalid(format!(
                "the log start over both tiers moves only forward: {} is not past {}",
                r.log_start_offset, partition.remote_log_start
            )));
        }
        Ok(())
    }

    /// Whether the state shows `r` applied (or a later move).
    pub fn shows_remote_log_start(&self, r: &RemoteLogStartChange) -> bool {
        let Ok(topic_id) = Uuid::from_field("topic_id", &r.topic_id) else {
            return false;
        };
        (self.topics.get(&topic_id))
            .and_then(|t| t.partition(r.partition))
            .is_some_and(|p| p.remote_log_start >= r.log_start_offset)
    }
}
