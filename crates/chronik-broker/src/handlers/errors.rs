//! The protocol edge of the partition layer: each [`PartitionError`] as the Kafka error code
//! a client acts on (retry, refresh metadata, reset its offset, or give up).

use chronik_kafka::kafka_protocol::error::ResponseError;

use crate::partition::PartitionError;
use crate::producers::SequenceError;

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
        PartitionError::InternalTopic(_) => ResponseError::InvalidTopicException,
        PartitionError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
        PartitionError::MissingRecords => ResponseError::InvalidRecord,
        PartitionError::InvalidRecords(e) => chronik_kafka::records_error_code(&e.error),
        PartitionError::Sequence(SequenceError::StaleEpoch { .. }) => {
            ResponseError::InvalidProducerEpoch
        }
        PartitionError::Sequence(SequenceError::OutOfOrder { .. }) => {
            ResponseError::OutOfOrderSequenceNumber
        }
        PartitionError::Storage(_) => ResponseError::KafkaStorageError,
        PartitionError::TimedOut => ResponseError::RequestTimedOut,
        PartitionError::InvalidTimestamp(_) => ResponseError::InvalidRequest,
    };
    error.code()
}

#[cfg(test)]
mod tests {
    use chronik_types::TopicPartition;

    use super::partition_error_code;
    use crate::partition::{PartitionError, check_epoch};
    use crate::producers::SequenceError;

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
    fn leader_epoch_checks_follow_kafka() {
        let code = |r, c| check_epoch(r, c).err().map(|e| partition_error_code(&e));
        assert_eq!(code(-1, 7), None, "unchecked");
        assert_eq!(code(7, 7), None);
        assert_eq!(code(6, 7), Some(74), "FENCED_LEADER_EPOCH");
        assert_eq!(code(8, 7), Some(75), "UNKNOWN_LEADER_EPOCH");
    }
}
