//! The group coordinator's APIs (classic protocol), each built for the version negotiated with
//! the coordinator's broker: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! OffsetFetch and OffsetCommit.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, HeartbeatRequest,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, OffsetCommitRequest,
    OffsetFetchRequest, SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};

use crate::cluster::Client;
use crate::conn::Connection;
use crate::{ClientError, Result};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

/// The broker coordinating `group`: FindCoordinator, answered by any broker.
pub(crate) async fn find_coordinator(client: &Client, group: &str) -> Result<SocketAddr> {
    find_coordinator_of(client, group, 0).await
}

/// The broker coordinating `key` of `key_type` (0: a group, 1: a transactional id).
pub(crate) async fn find_coordinator_of(
    client: &Client,
    group: &str,
    key_type: i8,
) -> Result<SocketAddr> {
    let conn = client.any_conn().await?;
    let version = conn.version(ApiKey::FindCoordinator)?;
    let req = if version >= 4 {
        FindCoordinatorRequest::default().with_coordinator_keys(vec![s(group)])
    } else {
        FindCoordinatorRequest::default().with_key(s(group))
    }
    .with_key_type(key_type);
    let resp: FindCoordinatorResponse = conn.call_at(&req, version, client.client_id()).await?;
    let (code, host, port) = match resp.coordinators.first() {
        Some(c) if version >= 4 => (c.error_code, c.host.to_string(), c.port),
        None if version >= 4 => {
            return Err(ClientError::Protocol {
                addr: conn.addr(),
                reason: format!("FindCoordinator answered nothing for {group}"),
            });
        }
        _ => (resp.error_code, resp.host.to_string(), resp.port),
    };
    ClientError::check(code, || format!("find the coordinator of {group}"))?;
    let port = u16::try_from(port).map_err(|_| ClientError::Protocol {
        addr: conn.addr(),
        reason: format!("coordinator port {port} for group {group}"),
    })?;
    tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            ClientError::network(format!("{host}:{port}"), "cannot resolve the coordinator")
        })
}

/// What JoinGroup answered.
pub(crate) struct Joined {
    pub generation: i32,
    pub member_id: String,
    pub leader: String,
    pub protocol: Option<String>,
    /// Every member's id and subscription metadata; only the leader gets them.
    pub members: Vec<(String, Bytes)>,
}

/// Talks to one group's coordinator.
pub(crate) struct Coordinator {
    pub client: Client,
    pub addr: SocketAddr,
    pub group: String,
}

impl Coordinator {
    async fn conn(&self, key: ApiKey) -> Result<(Arc<Connection>, i16)> {
        let conn = self.client.conn(self.addr).await?;
        let version = conn.version(key)?;
        Ok((conn, version))
    }

    async fn call<R: Request>(
        &self,
        key: ApiKey,
        req: impl FnOnce(i16) -> R,
    ) -> Result<R::Response> {
        let (conn, version) = self.conn(key).await?;
        conn.call_at(&req(version), version, self.client.client_id())
            .await
    }

    fn context(&self, what: &str) -> String {
        format!("{what} in group {}", self.group)
    }

    /// One JoinGroup round; the broker holds the answer until the group's members have joined.
    /// Errors (MEMBER_ID_REQUIRED included) come back as the response's code, for the caller.
    pub async fn join(
        &self,
        member_id: &str,
        session_ms: i32,
        rebalance_ms: i32,
        metadata: Bytes,
    ) -> Result<(i16, Joined)> {
        let resp: JoinGroupResponse = self
            .call(ApiKey::JoinGroup, |_| {
                JoinGroupRequest::default()
                    .with_group_id(GroupId(s(&self.group)))
                    .with_session_timeout_ms(session_ms)
                    .with_rebalance_timeout_ms(rebalance_ms)
                    .with_member_id(s(member_id))
                    .with_protocol_type(s(super::wire::PROTOCOL_TYPE))
                    .with_protocols(vec![
                        JoinGroupRequestProtocol::default()
                            .with_name(s(super::wire::RANGE))
                            .with_metadata(metadata),
                    ])
            })
            .await?;
        let joined = Joined {
            generation: resp.generation_id,
            member_id: resp.member_id.to_string(),
            leader: resp.leader.to_string(),
            protocol: resp.protocol_name.map(|p| p.to_string()),
            members: (resp.members.into_iter())
                .map(|m| (m.member_id.to_string(), m.metadata))
                .collect(),
        };
        Ok((resp.error_code, joined))
    }

    /// SyncGroup: the leader sends every member's assignment; everyone gets their own back.
    pub async fn sync(
        &self,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<(i16, Bytes)> {
        let resp = self
            .call(ApiKey::SyncGroup, |v| {
                let req = SyncGroupRequest::default()
                    .with_group_id(GroupId(s(&self.group)))
                    .with_generation_id(generation)
                    .with_member_id(s(member_id))
                    .with_assignments(
                        (assignments.into_iter())
                            .map(|(m, a)| {
                                SyncGroupRequestAssignment::default()
                                    .with_member_id(s(&m))
                                    .with_assignment(a)
                            })
                            .collect(),
                    );
                if v >= 5 {
                    req.with_protocol_type(Some(s(super::wire::PROTOCOL_TYPE)))
                        .with_protocol_name(Some(s(super::wire::RANGE)))
                } else {
                    req
                }
            })
            .await?;
        Ok((resp.error_code, resp.assignment))
    }

    /// Heartbeat: the answer's error code (REBALANCE_IN_PROGRESS means rejoin).
    pub async fn heartbeat(&self, generation: i32, member_id: &str) -> Result<i16> {
        let resp = self
            .call(ApiKey::Heartbeat, |_| {
                HeartbeatRequest::default()
                    .with_group_id(GroupId(s(&self.group)))
                    .with_generation_id(generation)
                    .with_member_id(s(member_id))
            })
            .await?;
        Ok(resp.error_code)
    }

    pub async fn leave(&self, member_id: &str) -> Result<()> {
        let resp = self
            .call(ApiKey::LeaveGroup, |v| {
                let req = LeaveGroupRequest::default().with_group_id(GroupId(s(&self.group)));
                if v >= 3 {
                    req.with_members(vec![MemberIdentity::default().with_member_id(s(member_id))])
                } else {
                    req.with_member_id(s(member_id))
                }
            })
            .await?;
        ClientError::check(resp.error_code, || self.context("leave"))?;
        for m in &resp.members {
            ClientError::check(m.error_code, || self.context("leave"))?;
        }
        Ok(())
    }

    /// Committed offsets of `partitions` of `topic`; partitions without one are absent.
    pub async fn fetch_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, i64>> {
        let resp = self
            .call(ApiKey::OffsetFetch, |_| {
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(s(&self.group)))
                    .with_topics(Some(vec![
                        OffsetFetchRequestTopic::default()
                            .with_name(TopicName(s(topic)))
                            .with_partition_indexes(partitions.to_vec()),
                    ]))
            })
            .await?;
        ClientError::check(resp.error_code, || self.context("fetch committed offsets"))?;
        let mut out = BTreeMap::new();
        for t in resp.topics.iter().filter(|t| t.name.0.as_str() == topic) {
            for p in &t.partitions {
                ClientError::check(p.error_code, || {
                    self.context(&format!(
                        "fetch the committed offset of {topic}-{}",
                        p.partition_index
                    ))
                })?;
                if p.committed_offset >= 0 && partitions.contains(&p.partition_index) {
                    out.insert(p.partition_index, p.committed_offset);
                }
            }
        }
        Ok(out)
    }

    /// Commits `offsets` (the next offset to read, per partition) as member `member_id` of
    /// `generation`.
    pub async fn commit(
        &self,
        generation: i32,
        member_id: &str,
        topic: &str,
        offsets: &BTreeMap<i32, i64>,
    ) -> Result<()> {
        let resp = self
            .call(ApiKey::OffsetCommit, |_| {
                OffsetCommitRequest::default()
                    .with_group_id(GroupId(s(&self.group)))
                    .with_generation_id_or_member_epoch(generation)
                    .with_member_id(s(member_id))
                    .with_topics(vec![
                        OffsetCommitRequestTopic::default()
                            .with_name(TopicName(s(topic)))
                            .with_partitions(
                                (offsets.iter())
                                    .map(|(&p, &o)| {
                                        OffsetCommitRequestPartition::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(o)
                                    })
                                    .collect(),
                            ),
                    ])
            })
            .await?;
        for t in &resp.topics {
            for p in &t.partitions {
                ClientError::check(p.error_code, || {
                    self.context(&format!(
                        "commit the offset of {topic}-{}",
                        p.partition_index
                    ))
                })?;
            }
        }
        Ok(())
    }
}
