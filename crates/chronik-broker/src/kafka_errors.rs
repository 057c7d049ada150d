//! The one place the broker's typed errors become Kafka errors: metadata refusals (the
//! metadata crates know nothing of Kafka: they classify refusals by [`ErrorKind`],
//! `ControllerError::kind` and [`NodeError::kind`]), partition-layer errors, group
//! coordinator refusals and topic-config refusals. Handlers answer clients with what these
//! functions make of them.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_metadata::ErrorKind;
use chronik_metadata::node::NodeError;

use crate::groups::GroupError;
use crate::partition::{PartitionError, SequenceError};
use crate::topic_config::ConfigError;
use crate::transactions::{CoordError, TxnError};

/// A refusal as a handler answers it: the Kafka error and a message saying what failed.
pub(crate) type Refusal = (ResponseError, String);

/// The Kafka error that tells a client what a metadata refusal of `kind` means.
pub(crate) fn from_kind(kind: ErrorKind) -> ResponseError {
    match kind {
        ErrorKind::UnknownTopic => ResponseError::UnknownTopicOrPartition,
        ErrorKind::UnknownTopicId => ResponseError::UnknownTopicId,
        ErrorKind::InvalidTopicName => ResponseError::InvalidTopicException,
        ErrorKind::TopicExists => ResponseError::TopicAlreadyExists,
        ErrorKind::InvalidPartitions => ResponseError::InvalidPartitions,
        ErrorKind::InvalidReplicationFactor => ResponseError::InvalidReplicationFactor,
        ErrorKind::InvalidConfig => ResponseError::InvalidConfig,
        // Retriable: what a client sees when every recomputation lost the race.
        ErrorKind::ConfigsChanged => ResponseError::RequestTimedOut,
        ErrorKind::InvalidRequest | ErrorKind::InvalidIsr => ResponseError::InvalidRequest,
        ErrorKind::BrokerNotLive | ErrorKind::StaleIncarnation => ResponseError::BrokerNotAvailable,
        ErrorKind::NotPartitionLeader => ResponseError::NotLeaderOrFollower,
        ErrorKind::FencedLeaderEpoch => ResponseError::FencedLeaderEpoch,
        ErrorKind::StalePartitionEpoch => ResponseError::InvalidUpdateVersion,
        ErrorKind::IneligibleReplica => ResponseError::IneligibleReplica,
        ErrorKind::InvalidReplicaAssignment => ResponseError::InvalidReplicaAssignment,
        ErrorKind::NoReassignment => ResponseError::NoReassignmentInProgress,
        ErrorKind::ResourceNotFound => ResponseError::ResourceNotFound,
        ErrorKind::UnsupportedSaslMechanism => ResponseError::UnsupportedSaslMechanism,
        ErrorKind::UnacceptableCredential => ResponseError::UnacceptableCredential,
        ErrorKind::NotController => ResponseError::NotController,
        ErrorKind::DuplicateRegistration => ResponseError::DuplicateBrokerRegistration,
        // The quorum could not be reached or did not decide in time: retriable.
        ErrorKind::Unavailable => ResponseError::RequestTimedOut,
        ErrorKind::ProducerIdsExhausted | ErrorKind::Internal | ErrorKind::None => {
            ResponseError::UnknownServerError
        }
    }
}

pub(crate) fn node_error(e: &NodeError) -> ResponseError {
    from_kind(e.kind())
}

/// A metadata-node failure as a handler answers it.
pub(crate) fn node_refusal(e: &NodeError) -> Refusal {
    (node_error(e), e.to_string())
}

/// The Kafka error code for `e`.
pub(crate) fn partition_error_code(e: &PartitionError) -> i16 {
    let error = match e {
        PartitionError::UnknownPartition(_) => ResponseError::UnknownTopicOrPartition,
        PartitionError::NotLeader(_) | PartitionError::LeadershipLost => {
            ResponseError::NotLeaderOrFollower
        }
        PartitionError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch,
        PartitionError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch,
        PartitionError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        PartitionError::OffsetMovedToTieredStorage { .. } => {
            ResponseError::OffsetMovedToTieredStorage
        }
        PartitionError::InternalTopic(_) => ResponseError::InvalidTopicException,
        PartitionError::CompactOnly(_) => ResponseError::PolicyViolation,
        PartitionError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
        PartitionError::NotEnoughReplicasAfterAppend { .. } => {
            ResponseError::NotEnoughReplicasAfterAppend
        }
        PartitionError::MissingRecords | PartitionError::UnkeyedRecords { .. } => {
            ResponseError::InvalidRecord
        }
        PartitionError::UnreadableRecords(_) => ResponseError::CorruptMessage,
        PartitionError::InvalidRecords(e) => chronik_kafka::records_error_code(&e.error),
        PartitionError::Sequence(SequenceError::StaleEpoch { .. }) => {
            ResponseError::InvalidProducerEpoch
        }
        PartitionError::Sequence(SequenceError::OutOfOrder { .. }) => {
            ResponseError::OutOfOrderSequenceNumber
        }
        PartitionError::Sequence(SequenceError::StaleCoordinator { .. }) => {
            ResponseError::TransactionCoordinatorFenced
        }
        PartitionError::Storage(_) => ResponseError::KafkaStorageError,
        PartitionError::TimedOut => ResponseError::RequestTimedOut,
        PartitionError::InvalidTimestamp(_) => ResponseError::InvalidRequest,
        PartitionError::TimestampOutOfBounds { .. } => ResponseError::InvalidTimestamp,
        PartitionError::NotInTransaction(_) => ResponseError::InvalidTxnState,
        PartitionError::FencedProducer(_) => ResponseError::InvalidProducerEpoch,
        // Retriable, as Kafka answers a produce whose verification could not complete.
        PartitionError::TxnUnverified(_) => ResponseError::NotEnoughReplicas,
    };
    error.code()
}

/// The Kafka error code for a group coordinator refusal. The coordinator's own unavailability
/// (no offsets topic, a full coordinator, a group gone while a request waited) is the
/// retriable COORDINATOR_NOT_AVAILABLE: clients look the coordinator up again and retry.
pub(crate) fn group_error_code(e: &GroupError) -> i16 {
    let error = match e {
        GroupError::NoOffsetsTopic
        | GroupError::TooManyGroups { .. }
        | GroupError::GroupUnavailable => ResponseError::CoordinatorNotAvailable,
        GroupError::NotCoordinator { .. } => ResponseError::NotCoordinator,
        GroupError::LoadInProgress { .. } => ResponseError::CoordinatorLoadInProgress,
        GroupError::InvalidGroupId => ResponseError::InvalidGroupId,
        GroupError::UnknownMember => ResponseError::UnknownMemberId,
        GroupError::IllegalGeneration { .. } => ResponseError::IllegalGeneration,
        GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        GroupError::InconsistentProtocol => ResponseError::InconsistentGroupProtocol,
        GroupError::FencedInstance => ResponseError::FencedInstanceId,
        GroupError::GroupFull { .. } => ResponseError::GroupMaxSizeReached,
        GroupError::MemberIdRequired => ResponseError::MemberIdRequired,
        GroupError::InvalidSessionTimeout { .. } => ResponseError::InvalidSessionTimeout,
        GroupError::InvalidRequest(_) => ResponseError::InvalidRequest,
        GroupError::Storage(_) => ResponseError::KafkaStorageError,
        GroupError::GroupIdNotFound => ResponseError::GroupIdNotFound,
        GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup,
        GroupError::SubscribedToTopic => ResponseError::GroupSubscribedToTopic,
        GroupError::FencedProducer => ResponseError::InvalidProducerEpoch,
        GroupError::FencedMemberEpoch { .. } => ResponseError::FencedMemberEpoch,
        GroupError::StaleMemberEpoch { .. } => ResponseError::StaleMemberEpoch,
        GroupError::UnreleasedInstanceId => ResponseError::UnreleasedInstanceId,
        GroupError::UnsupportedAssignor(_) => ResponseError::UnsupportedAssignor,
        GroupError::OtherProtocol { .. } => ResponseError::GroupIdNotFound,
        GroupError::OffsetCommitTooOld => ResponseError::UnsupportedVersion,
    };
    error.code()
}

/// The Kafka error for a transaction coordinator refusal. `fenced` is what this request's
/// version calls a fenced producer: PRODUCER_FENCED for the versions after KIP-588,
/// INVALID_PRODUCER_EPOCH before.
pub(crate) fn coord_error(e: &CoordError, fenced: ResponseError) -> ResponseError {
    match e {
        CoordError::NotCoordinator => ResponseError::NotCoordinator,
        CoordError::LoadInProgress => ResponseError::CoordinatorLoadInProgress,
        CoordError::NotAvailable(_) => ResponseError::CoordinatorNotAvailable,
        CoordError::Txn(TxnError::Concurrent) => ResponseError::ConcurrentTransactions,
        CoordError::Txn(TxnError::InvalidState(_)) => ResponseError::InvalidTxnState,
        CoordError::Txn(TxnError::Fenced { .. }) => fenced,
        CoordError::Txn(TxnError::WrongProducerId) => ResponseError::InvalidProducerIdMapping,
        CoordError::Txn(TxnError::InvalidTimeout { .. }) => {
            ResponseError::InvalidTransactionTimeout
        }
    }
}

/// INVALID_CONFIG for bad keys and values, INVALID_REQUEST for malformed requests.
pub(crate) fn from_config_error(e: &ConfigError) -> ResponseError {
    match e.is_invalid_config() {
        true => ResponseError::InvalidConfig,
        false => ResponseError::InvalidRequest,
    }
}

#[cfg(test)]
mod tests {
    use crate::partition::{PartitionError, SequenceError, check_epoch};
    use chronik_metadata::ErrorKind;
    use chronik_types::TopicPartition;

    use crate::groups::GroupError;

    use super::{from_kind, group_error_code, partition_error_code};

    /// Every kind maps to an error (never to "no error"), and the retriable ones stay
    /// retriable for clients.
    #[test]
    fn every_kind_is_an_error_and_retriable_kinds_stay_retriable() {
        for n in 0..64 {
            let Ok(kind) = ErrorKind::try_from(n) else {
                continue;
            };
            assert_ne!(from_kind(kind).code(), 0, "{kind:?}");
        }
        for kind in [ErrorKind::ConfigsChanged, ErrorKind::Unavailable] {
            assert!(from_kind(kind).is_retriable(), "{kind:?}");
        }
    }

    #[test]
    fn partition_errors_answer_with_the_codes_kafka_clients_act_on() {
        let tp = TopicPartition::new("t", 0);
        let cases = [
            (PartitionError::UnknownPartition(tp.clone()), 3),
            (PartitionError::NotLeader(tp.clone()), 6),
            (PartitionError::LeadershipLost, 6),
            (PartitionError::InternalTopic(tp.clone()), 17),
            (
                PartitionError::NotEnoughReplicas {
                    partition: tp.clone(),
                    isr: 1,
                    min: 2,
                },
                19,
            ),
            (
                PartitionError::NotEnoughReplicasAfterAppend {
                    partition: tp.clone(),
                    isr: 1,
                    min: 2,
                },
                20,
            ),
            (PartitionError::MissingRecords, 87),
            (PartitionError::Storage(tp), 56),
            (PartitionError::TimedOut, 7),
            (
                PartitionError::Sequence(SequenceError::OutOfOrder {
                    got: 3,
                    expected: 1,
                }),
                45,
            ),
            (
                PartitionError::Sequence(SequenceError::StaleEpoch {
                    epoch: 0,
                    current: 1,
                }),
                47,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(partition_error_code(&e), code, "{e}");
        }
    }

    #[test]
    fn group_errors_answer_with_the_codes_kafka_clients_act_on() {
        let cases = [
            (GroupError::NoOffsetsTopic, 15),
            (GroupError::TooManyGroups { limit: 1 }, 15),
            (GroupError::GroupUnavailable, 15),
            (GroupError::NotCoordinator { partition: 0 }, 16),
            (GroupError::LoadInProgress { partition: 0 }, 14),
            (GroupError::InvalidGroupId, 24),
            (GroupError::UnknownMember, 25),
            (GroupError::IllegalGeneration { requested: 1 }, 22),
            (GroupError::RebalanceInProgress, 27),
            (GroupError::InconsistentProtocol, 23),
            (GroupError::FencedInstance, 82),
            (GroupError::GroupFull { limit: 1 }, 81),
            (GroupError::MemberIdRequired, 79),
            (GroupError::InvalidSessionTimeout { timeout_ms: 0 }, 26),
            (GroupError::InvalidRequest("x".into()), 42),
            (GroupError::Storage("x".into()), 56),
            (GroupError::GroupIdNotFound, 69),
            (GroupError::NonEmptyGroup, 68),
            (GroupError::SubscribedToTopic, 86),
            (GroupError::FencedProducer, 47),
        ];
        for (e, code) in cases {
            assert_eq!(group_error_code(&e), code, "{e}");
        }
    }

    #[test]
    fn leader_epoch_checks_follow_kafka() {
        let code = |r, c| check_epoch(r, c).err().map(|e| partition_error_code(&e));
        assert_eq!(code(-1, 7), None, "unchecked");
        assert_eq!(code(7, 7), None);
        assert_eq!(code(6, 7), Some(74), "FENCED_LEADER_EPOCH");
        assert_eq!(code(8, 7), Some(75), "UNKNOWN_LEADER_EPOCH");
    }
}
