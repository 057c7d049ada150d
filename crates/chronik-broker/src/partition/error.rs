//! Why the partition layer refused a read or a write. Protocol-free: the handlers map each
//! case to the Kafka error code a client expects (`kafka_errors::partition_error_code`).

use chronik_types::TopicPartition;

/// Why a partition operation failed; nothing was written or changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PartitionError {
    #[error("partition {0} does not exist")]
    UnknownPartition(TopicPartition),
    #[error("this broker does not lead partition {0}; refresh metadata and ask its leader")]
    NotLeader(TopicPartition),
    #[error("leader epoch {requested} is older than the current {current}; refresh metadata")]
    FencedLeaderEpoch { requested: i32, current: i32 },
    #[error("leader epoch {requested} is newer than the current {current}; retry shortly")]
    UnknownLeaderEpoch { requested: i32, current: i32 },
    #[error("offset {offset} is outside the log, which holds {log_start} up to {log_end}")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
        /// What the reader may see (its response still reports it).
        visible_end: i64,
    },
    #[error(
        "offset {offset} is only in the remote tier; a follower starts at the leader's local \
         log start {local_start}"
    )]
    OffsetMovedToTieredStorage { offset: i64, local_start: i64 },
    #[error("the internal topic of {0} takes writes only from its coordinator")]
    InternalTopic(TopicPartition),
    #[error(
        "records of {0} cannot be deleted while its cleanup.policy is compact; add delete to it"
    )]
    CompactOnly(TopicPartition),
    #[error("the ISR of {partition} has {isr} members, fewer than min.insync.replicas={min}")]
    NotEnoughReplicas {
        partition: TopicPartition,
        isr: usize,
        min: i32,
    },
    #[error(
        "the records were written to {partition}, but its ISR shrank to {isr} members, fewer \
         than min.insync.replicas={min}, before they were replicated; retry the produce"
    )]
    NotEnoughReplicasAfterAppend {
        partition: TopicPartition,
        isr: usize,
        min: i32,
    },
    #[error("the produce carried no records")]
    MissingRecords,
    #[error("invalid records: {0}")]
    InvalidRecords(#[from] chronik_records::BatchError),
    /// `positions`: where the unkeyed records sit in their batch (0 for its first record).
    #[error(
        "compacted topic {partition} cannot accept a record without a key; give every record a key"
    )]
    UnkeyedRecords {
        partition: TopicPartition,
        positions: Vec<i32>,
    },
    #[error("the records of a batch cannot be read: {0}")]
    UnreadableRecords(String),
    #[error("idempotent batch refused: {0}")]
    Sequence(#[from] crate::producers::SequenceError),
    #[error("the log of {0} cannot be written or read; see the broker log for the disk error")]
    Storage(TopicPartition),
    #[error("this broker stopped leading the partition before the records were committed")]
    LeadershipLost,
    #[error("the ISR did not confirm the records within the request timeout")]
    TimedOut,
    #[error("timestamp {0} is negative and names no special offset")]
    InvalidTimestamp(i64),
    #[error("{partition} refuses the batch: {reason}")]
    TimestampOutOfBounds {
        partition: TopicPartition,
        reason: String,
    },
    #[error(
        "{0} is not in the producer's ongoing transaction (add it with AddPartitionsToTxn first)"
    )]
    NotInTransaction(TopicPartition),
    #[error("a newer producer with this transactional id took over; {0} refuses this one")]
    FencedProducer(TopicPartition),
    #[error("the transaction coordinator could not confirm the partition: {0}; retry")]
    TxnUnverified(String),
}

/// Result of a partition operation.
pub(crate) type Result<T> = std::result::Result<T, PartitionError>;

/// Checks the leader epoch a client believes current against the partition's; -1 skips the
/// check (clients that do not track epochs).
pub(crate) fn check_epoch(requested: i32, current: i32) -> Result<()> {
    match requested {
        r if r < 0 || r == current => Ok(()),
        r if r < current => Err(PartitionError::FencedLeaderEpoch {
            requested: r,
            current,
        }),
        r => Err(PartitionError::UnknownLeaderEpoch {
            requested: r,
            current,
        }),
    }
}
