//! Identifiers used by metadata records, and the size limits every record is checked against.

use std::fmt;

use crate::error::StateError;

/// A broker's id (Kafka's `node.id`); never negative.
pub type BrokerId = i32;

/// The `leader` value of a partition that has no leader (Kafka uses -1 on the wire too).
pub const NO_LEADER: BrokerId = -1;

/// Most partitions one topic may have (and so one record may carry): bounds what a record can
/// make the state allocate.
pub const MAX_PARTITIONS_PER_TOPIC: usize = 1_000_000;
/// Most replicas of one partition.
pub const MAX_REPLICAS: usize = 256;
/// Most config entries one topic may hold or one change may carry.
pub const MAX_CONFIG_ENTRIES: usize = 1_000;
/// Longest config key.
pub const MAX_CONFIG_KEY_LEN: usize = 255;
/// Longest config value (Kafka's longest real values are class lists, well under this).
pub const MAX_CONFIG_VALUE_LEN: usize = 32 * 1024;
/// Longest host name, rack name or cluster id.
pub const MAX_NAME_LEN: usize = 255;
/// Most listeners one broker may register (Kafka sets no limit; real brokers have a handful).
pub const MAX_ENDPOINTS: usize = 32;
/// Most producer ids one allocation may hand out.
pub const MAX_PRODUCER_ID_BLOCK: i32 = 1_000_000;

/// A 16-byte UUID: topic ids and broker incarnation ids. All zeros means "no id" and is never
/// a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

/// A topic's id: tells a re-created topic from a deleted one of the same name.
pub type TopicId = Uuid;

impl Uuid {
    /// The "no id" value.
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// Reads an id from a record field: exactly 16 bytes, not all zeros.
    pub fn from_field(field: &'static str, bytes: &[u8]) -> Result<Uuid, StateError> {
        let array: [u8; 16] = bytes.try_into().map_err(|_| StateError::InvalidId {
            field,
            len: bytes.len(),
        })?;
        let id = Uuid(array);
        if id == Uuid::ZERO {
            return Err(StateError::ZeroId { field });
        }
        Ok(id)
    }

    /// The bytes as a record field holds them.
    pub fn to_vec(self) -> Vec<u8> {
        self.0.to_vec()
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_sixteen_non_zero_bytes() {
        assert!(Uuid::from_field("topic_id", &[1; 16]).is_ok());
        assert!(matches!(
            Uuid::from_field("topic_id", &[1; 15]),
            Err(StateError::InvalidId { len: 15, .. })
        ));
        assert!(matches!(
            Uuid::from_field("topic_id", &[0; 16]),
            Err(StateError::ZeroId { .. })
        ));
        assert_eq!(Uuid([0xab; 16]).to_string(), "ab".repeat(16));
    }
}
