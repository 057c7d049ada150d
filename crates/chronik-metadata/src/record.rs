//! Encoding and decoding of metadata records: the opaque bytes of one Raft entry.

use prost::Message;

use crate::Result;
use crate::error::StateError;
use crate::proto::MetadataRecord;
use crate::proto::metadata_record::Record;

/// The record format version this build writes and reads. A record of another version is
/// rejected rather than guessed at.
pub const RECORD_VERSION: u32 = 1;

impl MetadataRecord {
    /// Wraps a payload in an envelope of the current version.
    pub fn new(record: Record) -> Self {
        MetadataRecord {
            version: RECORD_VERSION,
            record: Some(record),
        }
    }

    /// The payload, once the version is known to be one this build reads.
    pub fn payload(&self) -> Result<&Record> {
        if self.version != RECORD_VERSION {
            return Err(StateError::UnsupportedVersion {
                version: self.version,
                supported: RECORD_VERSION,
            });
        }
        self.record.as_ref().ok_or(StateError::EmptyRecord)
    }

    /// The bytes to put in a Raft entry.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Reads a record from a Raft entry. Any input gives a record or an error, never a panic;
    /// prost allocates only for what the input actually contains, and the state's limits
    /// (e.g. partitions per record) are checked when the record is applied.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let record = MetadataRecord::decode(bytes)?;
        record.payload()?;
        Ok(record)
    }
}

impl Record {
    /// A short name of the record type, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::RegisterBroker(_) => "RegisterBroker",
            Record::FenceBroker(_) => "FenceBroker",
            Record::UnfenceBroker(_) => "UnfenceBroker",
            Record::CreateTopic(_) => "CreateTopic",
            Record::DeleteTopic(_) => "DeleteTopic",
            Record::CreatePartitions(_) => "CreatePartitions",
            Record::PartitionChange(_) => "PartitionChange",
            Record::ConfigChange(_) => "ConfigChange",
            Record::AllocateProducerIds(_) => "AllocateProducerIds",
            Record::SetClusterId(_) => "SetClusterId",
            Record::DecommissionBroker(_) => "DecommissionBroker",
            Record::ClientQuotaChange(_) => "ClientQuotaChange",
            Record::BrokerConfigChange(_) => "BrokerConfigChange",
            Record::ScramCredentialUpsert(_) => "ScramCredentialUpsert",
            Record::ScramCredentialDeletion(_) => "ScramCredentialDeletion",
            Record::CreateAcl(_) => "CreateAcl",
            Record::DeleteAcl(_) => "DeleteAcl",
            Record::RemoteSegmentChange(_) => "RemoteSegmentChange",
            Record::RemoteLogStartChange(_) => "RemoteLogStartChange",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetadataState;
    use crate::proto::{FenceBroker, SetClusterId};
    use proptest::prelude::*;

    #[test]
    fn records_round_trip_through_bytes() {
        let record = MetadataRecord::new(Record::FenceBroker(FenceBroker { broker_id: 7 }));
        let back = MetadataRecord::from_bytes(&record.to_bytes()).expect("decodes");
        assert_eq!(back, record);
        assert_eq!(back.payload().expect("payload").kind(), "FenceBroker");
    }

    #[test]
    fn unknown_version_is_rejected() {
        let mut record = MetadataRecord::new(Record::SetClusterId(SetClusterId {
            cluster_id: "c".into(),
        }));
        record.version = 2;
        let err = MetadataRecord::from_bytes(&record.to_bytes()).expect_err("version 2");
        assert_eq!(
            err,
            StateError::UnsupportedVersion {
                version: 2,
                supported: RECORD_VERSION
            }
        );
        assert!(err.to_string().contains("version 2"));
    }

    #[test]
    fn empty_envelope_is_rejected() {
        let record = MetadataRecord {
            version: RECORD_VERSION,
            record: None,
        };
        assert_eq!(
            MetadataRecord::from_bytes(&record.to_bytes()),
            Err(StateError::EmptyRecord)
        );
    }

    #[test]
    fn truncated_bytes_are_a_decode_error() {
        let record = MetadataRecord::new(Record::SetClusterId(SetClusterId {
            cluster_id: "a-cluster".into(),
        }));
        let bytes = record.to_bytes();
        let err = MetadataRecord::from_bytes(&bytes[..bytes.len() - 1]).expect_err("truncated");
        assert!(matches!(err, StateError::Decode(_)), "{err}");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = MetadataRecord::from_bytes(&bytes);
        }

        #[test]
        fn mutated_records_never_panic(
            which in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
        ) {
            let samples = crate::testing::sample_records();
            let mut bytes = samples[which.index(samples.len())].to_bytes();
            for (index, value) in flips {
                let at = index.index(bytes.len());
                bytes[at] = value;
            }
            if let Ok(record) = MetadataRecord::from_bytes(&bytes) {
                let mut state = crate::testing::populated_state();
                let before = state.to_snapshot_bytes();
                let applied = state.apply(&record);
                let after = state.to_snapshot_bytes();
                if applied.is_err() {
                    prop_assert_eq!(&after, &before);
                }
                // Whatever apply accepted still satisfies every invariant a snapshot checks.
                let restored = MetadataState::from_snapshot_bytes(&after);
                prop_assert!(restored.is_ok(), "{:?} after {:?}", restored, record);
            }
        }
    }
}
