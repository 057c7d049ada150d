//! The one place metadata errors become Kafka errors. The metadata crates know nothing of
//! Kafka: they classify refusals by [`ErrorKind`] (`ControllerError::kind`,
//! [`NodeError::kind`]), and handlers answer clients with what these functions make of it.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_metadata::ErrorKind;
use chronik_metadata::node::NodeError;

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

#[cfg(test)]
mod tests {
    use chronik_metadata::ErrorKind;

    use super::from_kind;

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
}
