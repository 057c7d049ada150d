//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup: translate between the wire types and the
//! coordinator, and wait for held answers.

use bytes::Bytes;
use chronik_kafka::kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use chronik_kafka::kafka_protocol::messages::leave_group_response::MemberResponse;
use chronik_kafka::kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;

use crate::groups::{
    Answer, GroupError, JoinRequest, JoinResult, Leaving, Protocol, SyncResult, new_member_id,
};
use crate::handlers::str_bytes;
use crate::services::Services;

use super::{caller, error_code};

/// JoinGroup v4 introduced MEMBER_ID_REQUIRED for first joins.
const MEMBER_ID_REQUIRED_VERSION: i16 = 4;
/// JoinGroup/SyncGroup fields that appeared in later versions.
const JOIN_PROTOCOL_TYPE_VERSION: i16 = 7;
const JOIN_INSTANCE_ID_VERSION: i16 = 5;
const JOIN_SKIP_ASSIGNMENT_VERSION: i16 = 9;
const SYNC_PROTOCOL_VERSION: i16 = 5;
const LEAVE_BATCH_VERSION: i16 = 3;

/// A held answer, or `gone()` when the group went away while the request waited.
async fn settle<T>(answer: Answer<T>, gone: impl FnOnce() -> T) -> T {
    match answer {
        Answer::Now(result) => result,
        Answer::Later(rx) => rx.await.unwrap_or_else(|_| gone()),
    }
}

/// Applies the join now, in request order; the returned future answers once the group does
/// (after the rebalance it may start).
pub(crate) fn join(
    services: &Services,
    req: JoinGroupRequest,
    version: i16,
    client_id: Option<StrBytes>,
) -> impl Future<Output = JoinGroupResponse> + Send + 'static {
    let client_id = client_id.map(|c| c.to_string()).unwrap_or_default();
    let instance_id = req.group_instance_id.map(|i| i.to_string());
    let prefix = instance_id.as_deref().unwrap_or(&client_id);
    let join = JoinRequest {
        member_id: req.member_id.to_string(),
        fresh_member_id: new_member_id(prefix),
        instance_id,
        client_host: String::new(),
        session_timeout_ms: req.session_timeout_ms,
        // v0 had no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if version == 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: (req.protocols.into_iter())
            .map(|p| Protocol {
                name: p.name.to_string(),
                metadata: p.metadata,
            })
            .collect(),
        require_known_member_id: version >= MEMBER_ID_REQUIRED_VERSION,
        client_id,
    };
    let group = req.group_id.0.to_string();
    tracing::debug!(group, member = %join.member_id, version, "JoinGroup");
    let member_id = join.member_id.clone();
    let applied = services.groups.join(&group, join);
    async move {
        let result = match applied {
            Ok(answer) => {
                let gone = || JoinResult::error(GroupError::GroupUnavailable, &member_id);
                settle(answer, gone).await
            }
            Err(e) => JoinResult::error(e, &member_id),
        };
        if let Some(e) = &result.error {
            tracing::debug!(group, member = %result.member_id, error = %e, "JoinGroup refused");
        }
        join_response(result, version)
    }
}

fn join_response(r: JoinResult, version: i16) -> JoinGroupResponse {
    let members = (r.members.into_iter())
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(str_bytes(&m.member_id))
                .with_group_instance_id(
                    m.instance_id
                        .filter(|_| version >= JOIN_INSTANCE_ID_VERSION)
                        .map(|i| str_bytes(&i)),
                )
                .with_metadata(m.metadata)
        })
        .collect();
    let modern = version >= JOIN_PROTOCOL_TYPE_VERSION;
    JoinGroupResponse::default()
        .with_error_code(error_code(r.error.as_ref()))
        .with_generation_id(r.generation)
        .with_protocol_type(r.protocol_type.filter(|_| modern).map(|t| str_bytes(&t)))
        .with_protocol_name(match (modern, r.protocol_name) {
            (true, name) => name.map(|n| str_bytes(&n)),
            (false, name) => Some(str_bytes(&name.unwrap_or_default())),
        })
        .with_leader(str_bytes(&r.leader))
        .with_skip_assignment(r.skip_assignment && version >= JOIN_SKIP_ASSIGNMENT_VERSION)
        .with_member_id(str_bytes(&r.member_id))
        .with_members(members)
}

/// Applies the sync now, in request order; the returned future answers once the leader's
/// assignment is durable and has reached this member.
pub(crate) fn sync(
    services: &Services,
    req: SyncGroupRequest,
    version: i16,
) -> impl Future<Output = SyncGroupResponse> + Send + 'static {
    let group = req.group_id.0.as_str();
    let instance = req.group_instance_id.as_ref().map(|i| i.as_str());
    let who = caller(req.member_id.as_str(), instance, req.generation_id);
    let protocol = (
        req.protocol_type.as_ref().map(|t| t.as_str()),
        req.protocol_name.as_ref().map(|n| n.as_str()),
    );
    let assignments: Vec<(String, Bytes)> = (req.assignments.iter())
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    tracing::debug!(group, member = %req.member_id, generation = req.generation_id, "SyncGroup");
    let applied = services.groups.sync(group, who, protocol, assignments);
    let group = group.to_owned();
    async move {
        let result = match applied {
            Ok((answer, durable)) => {
                if let Some(d) = durable
                    && let Err(e) = d.wait_async().await
                {
                    tracing::error!(group, error = %e, "group record not made durable");
                }
                settle(answer, || SyncResult::error(GroupError::GroupUnavailable)).await
            }
            Err(e) => SyncResult::error(e),
        };
        if let Some(e) = &result.error {
            tracing::debug!(group, error = %e, "SyncGroup refused");
        }
        sync_response(result, version)
    }
}

fn sync_response(result: SyncResult, version: i16) -> SyncGroupResponse {
    let modern = version >= SYNC_PROTOCOL_VERSION;
    SyncGroupResponse::default()
        .with_error_code(error_code(result.error.as_ref()))
        .with_protocol_type(
            result
                .protocol_type
                .filter(|_| modern)
                .map(|t| str_bytes(&t)),
        )
        .with_protocol_name(
            result
                .protocol_name
                .filter(|_| modern)
                .map(|n| str_bytes(&n)),
        )
        .with_assignment(result.assignment)
}

pub(crate) fn heartbeat(services: &Services, req: HeartbeatRequest) -> HeartbeatResponse {
    let instance = req.group_instance_id.as_ref().map(|i| i.as_str());
    let who = caller(req.member_id.as_str(), instance, req.generation_id);
    let outcome = services.groups.heartbeat(req.group_id.0.as_str(), who);
    let refused = outcome.as_ref().err();
    let error = refused.map(tracing::field::display);
    tracing::debug!(group = %req.group_id.0, member = %req.member_id, error, "Heartbeat");
    HeartbeatResponse::default().with_error_code(error_code(refused))
}

pub(crate) fn leave(
    services: &Services,
    req: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let group = req.group_id.0.as_str();
    let leaving: Vec<Leaving> = if version >= LEAVE_BATCH_VERSION {
        (req.members.iter())
            .map(|m| Leaving {
                member_id: m.member_id.to_string(),
                instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
            })
            .collect()
    } else {
        vec![Leaving {
            member_id: req.member_id.to_string(),
            instance_id: None,
        }]
    };
    tracing::debug!(group, members = leaving.len(), "LeaveGroup");
    let outcomes = match services.groups.leave(group, &leaving) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            tracing::debug!(group, error = %e, "LeaveGroup refused");
            return LeaveGroupResponse::default().with_error_code(error_code(Some(&e)));
        }
    };
    if version < LEAVE_BATCH_VERSION {
        let first = outcomes.first().and_then(|o| o.as_ref().err());
        return LeaveGroupResponse::default().with_error_code(error_code(first));
    }
    let members = (leaving.into_iter().zip(outcomes))
        .map(|(who, outcome)| {
            MemberResponse::default()
                .with_member_id(str_bytes(&who.member_id))
                .with_group_instance_id(who.instance_id.map(|i| str_bytes(&i)))
                .with_error_code(error_code(outcome.err().as_ref()))
        })
        .collect();
    LeaveGroupResponse::default().with_members(members)
}
