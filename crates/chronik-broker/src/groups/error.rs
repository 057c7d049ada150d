//! Why the group coordinator refused a request. Protocol-free: `kafka_errors::group_error_code`
//! gives each case the Kafka error code a client acts on.

use super::{MAX_SESSION_TIMEOUT_MS, MAX_STRING_BYTES, MIN_SESSION_TIMEOUT_MS, OFFSETS_TOPIC};

/// Why a group request was refused (for the whole group, or for one member of a LeaveGroup).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GroupError {
    #[error(
        "a newer epoch of this producer wrote to the group's partition: the producer is fenced"
    )]
    FencedProducer,
    #[error("{OFFSETS_TOPIC} or its partition's leader does not exist yet; retry shortly")]
    NoOffsetsTopic,
    #[error("this broker holds {limit} groups, its limit; retry once empty groups expire")]
    TooManyGroups { limit: usize },
    #[error("the group was removed or unloaded; find its coordinator again and retry")]
    GroupUnavailable,
    #[error(
        "this broker does not lead {OFFSETS_TOPIC} partition {partition}; \
         find the group's coordinator again"
    )]
    NotCoordinator { partition: i32 },
    #[error("{OFFSETS_TOPIC} partition {partition} is still loading; retry shortly")]
    LoadInProgress { partition: i32 },
    #[error("the group id is empty or longer than {MAX_STRING_BYTES} bytes; use another")]
    InvalidGroupId,
    #[error("the member id is not a member of the group; rejoin with an empty member id")]
    UnknownMember,
    #[error("generation {requested} is not the group's current generation; rejoin the group")]
    IllegalGeneration { requested: i32 },
    #[error("the group is rebalancing; rejoin it to get a new assignment")]
    RebalanceInProgress,
    #[error(
        "the protocol type or protocols do not match the group's; \
         offer the group's protocol type and a protocol every member supports"
    )]
    InconsistentProtocol,
    #[error(
        "another member holds this group.instance.id; a newer instance of this static member \
         took over, so this one must stop"
    )]
    FencedInstance,
    #[error("the group has {limit} members, its limit; this member cannot join")]
    GroupFull { limit: usize },
    #[error("a first join needs a member id: rejoin with the one in this answer")]
    MemberIdRequired,
    #[error(
        "session timeout {timeout_ms} ms is outside {MIN_SESSION_TIMEOUT_MS}..={MAX_SESSION_TIMEOUT_MS} ms; \
         configure the consumer's session.timeout.ms within it"
    )]
    InvalidSessionTimeout { timeout_ms: i32 },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("the group's records were not committed ({0}); retry, and see the broker log")]
    Storage(String),
    #[error("the group does not exist on its coordinator")]
    GroupIdNotFound,
    #[error("the group still has members; stop its consumers before deleting it")]
    NonEmptyGroup,
    #[error(
        "the group's members consume this topic; stop them (or change their subscription) \
         before deleting its offsets"
    )]
    SubscribedToTopic,
    #[error(
        "member epoch {requested} does not match the coordinator's {current}: the member must \
         give up its partitions and rejoin with epoch 0"
    )]
    FencedMemberEpoch { requested: i32, current: i32 },
    #[error(
        "member epoch {requested} is not the member's current epoch {current}; retry with the \
         epoch of the latest heartbeat"
    )]
    StaleMemberEpoch { requested: i32, current: i32 },
    #[error(
        "another member still holds this group.instance.id; it must leave (or its session \
         expire) before this one joins"
    )]
    UnreleasedInstanceId,
    #[error("the assignor {0:?} is not offered by this coordinator; use uniform or range")]
    UnsupportedAssignor(String),
    #[error(
        "the group uses the {current} protocol and has members; stop them or use the same \
         group.protocol"
    )]
    OtherProtocol { current: &'static str },
    #[error(
        "members of a consumer-protocol group commit offsets with OffsetCommit version 9 or \
         later; upgrade the client"
    )]
    OffsetCommitTooOld,
}
