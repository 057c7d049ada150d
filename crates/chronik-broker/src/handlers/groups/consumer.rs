//! ConsumerGroupHeartbeat and ConsumerGroupDescribe (KIP-848): validate the request as Kafka
//! does, translate topic ids and answer once the group's records are committed.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::consumer_group_describe_response::{
    self as describe_response, DescribedGroup, Member,
};
use chronik_kafka::kafka_protocol::messages::consumer_group_heartbeat_response;
use chronik_kafka::kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse, TopicName,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_metadata::Uuid;

use crate::groups::consumer::{Assignment, Heartbeat, HeartbeatAnswer, topic_regex};
use crate::groups::{GroupError, random_member_id};
use crate::handlers::{NONE, str_bytes};
use crate::kafka_errors::group_error_code;
use crate::services::Services;

/// ConsumerGroupHeartbeat v1: the client makes its member id (KIP-1082) and may subscribe
/// with a regular expression.
const CLIENT_MEMBER_ID_VERSION: i16 = 1;
/// ConsumerGroupDescribe v1 added each member's type.
const MEMBER_TYPE_VERSION: i16 = 1;
/// The member type ConsumerGroupDescribe v1 reports for a consumer-protocol member.
const CONSUMER_MEMBER_TYPE: i8 = 1;

/// Why a heartbeat is malformed, in Kafka's words (INVALID_REQUEST).
fn invalid(req: &ConsumerGroupHeartbeatRequest, version: i16) -> Option<&'static str> {
    let blank = |s: &StrBytes| s.trim().is_empty();
    let epoch = req.member_epoch;
    let no_member_id = blank(&req.member_id);
    let regex = req
        .subscribed_topic_regex
        .as_ref()
        .filter(|r| !r.is_empty());
    if blank(&req.group_id.0) {
        return Some("GroupId can't be empty.");
    }
    if req.instance_id.as_ref().is_some_and(blank) {
        return Some("InstanceId can't be empty.");
    }
    if req.rack_id.as_ref().is_some_and(blank) {
        return Some("RackId can't be empty.");
    }
    if no_member_id && (version >= CLIENT_MEMBER_ID_VERSION || epoch > 0 || epoch == -1) {
        return Some("MemberId can't be empty.");
    }
    match epoch {
        0 => {
            if req.rebalance_timeout_ms == -1 {
                return Some("RebalanceTimeoutMs must be provided in first request.");
            }
            if req.topic_partitions.as_ref().is_none_or(|t| !t.is_empty()) {
                return Some("TopicPartitions must be empty when (re-)joining.");
            }
            let names = req.subscribed_topic_names.as_ref();
            let missing = match version >= CLIENT_MEMBER_ID_VERSION {
                true => names.is_none() && regex.is_none(),
                false => names.is_none_or(Vec::is_empty),
            };
            if missing {
                return Some("SubscribedTopicNames must be set in first request.");
            }
        }
        -2 if no_member_id || req.instance_id.is_none() => {
            return Some("InstanceId can't be null.");
        }
        e if e < -2 => return Some("MemberEpoch is invalid."),
        _ => {}
    }
    None
}

/// A topic regular expression that does not compile: INVALID_REGULAR_EXPRESSION.
fn invalid_regex(req: &ConsumerGroupHeartbeatRequest) -> Option<(i16, String)> {
    let pattern = req
        .subscribed_topic_regex
        .as_ref()
        .filter(|r| !r.is_empty())?;
    let e = topic_regex(pattern).err()?;
    let code = ResponseError::InvalidRegularExpression.code();
    Some((
        code,
        format!(
            "SubscribedTopicRegex {:?} is invalid: {e}",
            pattern.as_str()
        ),
    ))
}

/// The request as the coordinator sees it.
fn heartbeat_of(req: ConsumerGroupHeartbeatRequest, client_id: String) -> Heartbeat {
    let owned = req.topic_partitions.map(|topics| {
        Assignment::from_pairs(topics.into_iter().flat_map(|t| {
            let id = Uuid(*t.topic_id.as_bytes());
            t.partitions.into_iter().map(move |p| (id, p))
        }))
    });
    Heartbeat {
        fresh_member_id: random_member_id(),
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.map(|i| i.to_string()),
        rack_id: req.rack_id.map(|r| r.to_string()),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topics: (req.subscribed_topic_names)
            .map(|names| names.into_iter().map(|n| n.0.to_string()).collect()),
        subscribed_regex: req.subscribed_topic_regex.map(|r| r.to_string()),
        server_assignor: req.server_assignor.map(|a| a.to_string()),
        owned,
        client_id,
        client_host: String::new(),
    }
}

/// Applies the heartbeat now, in request order; the returned future answers once what it
/// changed is committed.
pub(crate) fn heartbeat(
    services: &Services,
    req: ConsumerGroupHeartbeatRequest,
    version: i16,
    client_id: Option<StrBytes>,
) -> impl Future<Output = ConsumerGroupHeartbeatResponse> + Send + 'static {
    let group = req.group_id.0.to_string();
    let refused = (invalid(&req, version))
        .map(|why| (ResponseError::InvalidRequest.code(), why.to_owned()))
        .or_else(|| invalid_regex(&req));
    let applied = match refused {
        Some(r) => Err(r),
        None => {
            let client_id = client_id.map(|c| c.to_string()).unwrap_or_default();
            let hb = heartbeat_of(req, client_id);
            tracing::debug!(group, member = %hb.member_id, epoch = hb.member_epoch, "ConsumerGroupHeartbeat");
            services
                .groups
                .consumer_heartbeat(&group, hb)
                .map_err(|e| refusal(&e))
        }
    };
    async move {
        let answer = match applied {
            Ok((answer, None)) => Ok(answer),
            Ok((answer, Some(durable))) => match durable.wait_async().await {
                Ok(()) => Ok(answer),
                Err(e) => {
                    tracing::warn!(group, error = %e, "consumer group records not committed");
                    Err(refusal(&e))
                }
            },
            Err(r) => Err(r),
        };
        match answer {
            Ok(a) => heartbeat_response(a),
            Err((code, message)) => {
                tracing::debug!(group, code, message, "ConsumerGroupHeartbeat refused");
                ConsumerGroupHeartbeatResponse::default()
                    .with_error_code(code)
                    .with_error_message(Some(str_bytes(&message)))
            }
        }
    }
}

/// A refusal's code and message. A write that did not commit sends the member to find the
/// coordinator again (Kafka's NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE), never a code the
/// client treats as fatal.
fn refusal(e: &GroupError) -> (i16, String) {
    let code = match e {
        GroupError::Storage(_) => ResponseError::CoordinatorNotAvailable.code(),
        GroupError::InvalidGroupId => ResponseError::InvalidRequest.code(),
        other => group_error_code(other),
    };
    (code, e.to_string())
}

fn heartbeat_response(a: HeartbeatAnswer) -> ConsumerGroupHeartbeatResponse {
    let assignment = a.assignment.map(|given| {
        let topics = (given.0.iter())
            .map(|(topic, partitions)| {
                consumer_group_heartbeat_response::TopicPartitions::default()
                    .with_topic_id(uuid::Uuid::from_bytes(topic.0))
                    .with_partitions(partitions.iter().copied().collect())
            })
            .collect();
        consumer_group_heartbeat_response::Assignment::default().with_topic_partitions(topics)
    });
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(NONE)
        .with_member_id(Some(str_bytes(&a.member_id)))
        .with_member_epoch(a.member_epoch)
        .with_heartbeat_interval_ms(a.heartbeat_interval_ms)
        .with_assignment(assignment)
}

pub(crate) fn describe(
    services: &Services,
    req: ConsumerGroupDescribeRequest,
    version: i16,
) -> ConsumerGroupDescribeResponse {
    let groups = (req.group_ids.into_iter())
        .map(|id| {
            let described = DescribedGroup::default().with_group_id(id.clone());
            if id.0.trim().is_empty() {
                return described.with_error_code(ResponseError::InvalidGroupId.code());
            }
            match services.groups.consumer_describe(id.0.as_str()) {
                Ok(Some(view)) => {
                    let members = (view.members.into_iter())
                        .map(|(m, target)| {
                            let member = Member::default()
                                .with_member_id(str_bytes(&m.id))
                                .with_instance_id(m.instance_id.as_deref().map(str_bytes))
                                .with_rack_id(m.rack_id.as_deref().map(str_bytes))
                                .with_member_epoch(m.epoch)
                                .with_client_id(str_bytes(&m.client_id))
                                .with_client_host(str_bytes(&m.client_host))
                                .with_subscribed_topic_names(
                                    (m.subscribed_topics.iter())
                                        .map(|t| TopicName(str_bytes(t)))
                                        .collect(),
                                )
                                .with_subscribed_topic_regex(
                                    m.subscribed_regex.as_deref().map(str_bytes),
                                )
                                .with_assignment(described_assignment(services, &m.assigned))
                                .with_target_assignment(described_assignment(services, &target));
                            match version >= MEMBER_TYPE_VERSION {
                                true => member.with_member_type(CONSUMER_MEMBER_TYPE),
                                false => member,
                            }
                        })
                        .collect();
                    described
                        .with_error_code(NONE)
                        .with_group_state(str_bytes(view.state))
                        .with_group_epoch(view.epoch)
                        .with_assignment_epoch(view.assignment_epoch)
                        .with_assignor_name(str_bytes(view.assignor))
                        .with_members(members)
                }
                Ok(None) => described
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(str_bytes(&format!(
                        "Group {} is not a consumer group.",
                        id.0
                    )))),
                Err(e) => described.with_error_code(group_error_code(&e)),
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

/// Partitions by topic id and name; topics no longer in the metadata are left out.
fn described_assignment(services: &Services, a: &Assignment) -> describe_response::Assignment {
    let topics = services.cluster.metadata(|s| {
        (a.0.iter())
            .filter_map(|(id, partitions)| {
                let name = s.topic(id)?.name.clone();
                Some(
                    describe_response::TopicPartitions::default()
                        .with_topic_id(uuid::Uuid::from_bytes(id.0))
                        .with_topic_name(TopicName(str_bytes(&name)))
                        .with_partitions(partitions.iter().copied().collect()),
                )
            })
            .collect()
    });
    describe_response::Assignment::default().with_topic_partitions(topics)
}
