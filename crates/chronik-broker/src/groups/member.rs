//! Group members and the request/answer types of the state machine.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::error::GroupError;

/// Milliseconds on the coordinator's monotonic clock (passed in, so tests control time).
pub(crate) type Ms = u64;

/// A group's lifecycle state, named as Kafka names them in DescribeGroups and ListGroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// One protocol a member supports (e.g. the "range" assignor) with its subscription metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Protocol {
    pub name: String,
    pub metadata: Bytes,
}

/// A JoinGroup as the state machine sees it.
#[derive(Debug, Clone)]
pub(crate) struct JoinRequest {
    /// Empty for a member joining for the first time.
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<Protocol>,
    /// JoinGroup v4+: a first join is answered MEMBER_ID_REQUIRED with an id to rejoin with.
    pub require_known_member_id: bool,
    /// The id a new member gets (`<client_id>-<uuid>`), made by the caller so this module
    /// stays deterministic.
    pub fresh_member_id: String,
}

#[cfg(test)]
impl JoinRequest {
    /// A first join (v4+) of client "c" offering one protocol, "range", with `metadata`.
    pub(crate) fn for_test(protocol_type: &str, metadata: Bytes) -> JoinRequest {
        JoinRequest {
            member_id: String::new(),
            instance_id: None,
            client_id: "c".into(),
            client_host: String::new(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocol_type: protocol_type.into(),
            protocols: vec![Protocol {
                name: "range".into(),
                metadata,
            }],
            require_known_member_id: true,
            fresh_member_id: "c-1".into(),
        }
    }
}

/// One member in the leader's JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinedMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub metadata: Bytes,
}

/// The JoinGroup answer; a refused join still names the member (MEMBER_ID_REQUIRED carries
/// the id to rejoin with).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JoinResult {
    pub error: Option<GroupError>,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    pub skip_assignment: bool,
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    pub fn error(error: GroupError, member_id: &str) -> JoinResult {
        JoinResult {
            error: Some(error),
            generation: -1,
            member_id: member_id.to_owned(),
            ..JoinResult::default()
        }
    }
}

/// The SyncGroup answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SyncResult {
    pub error: Option<GroupError>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(error: GroupError) -> SyncResult {
        SyncResult {
            error: Some(error),
            ..SyncResult::default()
        }
    }
}

/// An answer now, or one that comes when the rebalance phase completes.
#[derive(Debug)]
pub(crate) enum Answer<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

/// A member of a group.
#[derive(Debug)]
pub(crate) struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<Protocol>,
    pub assignment: Bytes,
    /// Order of arrival; the earliest member becomes leader when the leader leaves.
    pub joined: u64,
    /// When the session ends unless a heartbeat (or join/sync) arrives.
    pub session_deadline: Ms,
    pub awaiting_join: Option<oneshot::Sender<JoinResult>>,
    pub awaiting_sync: Option<oneshot::Sender<SyncResult>>,
}

impl Member {
    pub fn from_join(req: &JoinRequest, id: String, joined: u64, now: Ms) -> Member {
        Member {
            id,
            instance_id: req.instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            session_timeout_ms: req.session_timeout_ms,
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols.clone(),
            assignment: Bytes::new(),
            joined,
            session_deadline: now + ms(req.session_timeout_ms),
            awaiting_join: None,
            awaiting_sync: None,
        }
    }

    /// Takes the protocols and timeouts of a rejoin.
    pub fn update(&mut self, req: &JoinRequest) {
        self.protocols = req.protocols.clone();
        self.session_timeout_ms = req.session_timeout_ms;
        self.rebalance_timeout_ms = req.rebalance_timeout_ms;
        self.client_id = req.client_id.clone();
        self.client_host = req.client_host.clone();
    }

    pub fn heartbeat(&mut self, now: Ms) {
        self.session_deadline = now + ms(self.session_timeout_ms);
    }

    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        (self.protocols.iter())
            .find(|p| p.name == protocol)
            .map(|p| p.metadata.clone())
            .unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|p| p.name == protocol)
    }

    /// A member waiting in a rebalance phase is kept alive: its session is not checked.
    pub fn is_waiting(&self) -> bool {
        self.awaiting_join.is_some() || self.awaiting_sync.is_some()
    }

    /// Fails a held JoinGroup or SyncGroup with `error` (e.g. the member was removed).
    pub fn fail_waiting(&mut self, error: &GroupError) {
        if let Some(tx) = self.awaiting_join.take() {
            let _ = tx.send(JoinResult::error(error.clone(), &self.id));
        }
        if let Some(tx) = self.awaiting_sync.take() {
            let _ = tx.send(SyncResult::error(error.clone()));
        }
    }
}

/// A non-negative millisecond count from a Kafka timeout field.
pub(crate) fn ms(timeout: i32) -> Ms {
    u64::try_from(timeout).unwrap_or(0)
}
