//! A controller client that finds the leader by itself: it tries the given addresses in turn
//! and follows NOT_LEADER answers to the leader's address.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tonic::transport::Channel;
use tonic::{Code, Response, Status, Streaming};

use super::pb::controller_client::ControllerClient;
use super::pb::{StatusRequest, StatusResponse, WatchEvent, WatchRequest};
use super::tls::{self, ClusterTls};
use super::{LEADER_ADDRESS_HEADER, NOT_LEADER_MESSAGE};
use crate::{ErrorKind, MetadataRecord, MetadataState, StateError};

/// Why a call to the metadata quorum failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot call meta node: {0}; give host:port and valid TLS files")]
    InvalidAddress(String),
    #[error("cannot reach meta node {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("meta node {0} did not answer in time")]
    Timeout(String),
    #[error("{}: {}", .0.code(), .0.message())]
    Status(Status),
    #[error("no meta node address given")]
    NoAddresses,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A channel to one meta node, connected within `timeout` (over TLS when `tls` is given).
pub async fn connect(
    address: &str,
    tls: Option<&ClusterTls>,
    timeout: Duration,
) -> Result<ControllerClient<Channel>, ClientError> {
    let endpoint = tls::endpoint(address, tls)
        .map_err(ClientError::InvalidAddress)?
        .connect_timeout(timeout.min(CONNECT_TIMEOUT))
        .timeout(timeout);
    let channel = endpoint.connect().await.map_err(|e| ClientError::Connect {
        address: address.to_owned(),
        reason: error_chain(&e),
    })?;
    Ok(ControllerClient::new(channel))
}

/// The status one meta node reports, without following the leader.
pub async fn status_of(
    address: &str,
    tls: Option<&ClusterTls>,
    timeout: Duration,
) -> Result<StatusResponse, ClientError> {
    let mut client = connect(address, tls, timeout).await?;
    match tokio::time::timeout(timeout, client.status(StatusRequest {})).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(ClientError::Status(status)),
        Err(_) => Err(ClientError::Timeout(address.to_owned())),
    }
}

/// Calls the quorum's leader, wherever it is.
pub struct MetaClient {
    addresses: Vec<String>,
    leader: Option<String>,
    /// The address to try next when no leader is known: kept across calls, so a node that
    /// stopped answering is not the first one tried again by every call.
    next: usize,
    call_timeout: Duration,
    total_timeout: Duration,
    /// This client's certificate and the cluster CA, when the quorum speaks TLS.
    tls: Option<ClusterTls>,
}

impl MetaClient {
    /// A client for the nodes at `addresses` (host:port).
    pub fn new(addresses: impl IntoIterator<Item = String>) -> Self {
        MetaClient {
            addresses: addresses.into_iter().collect(),
            leader: None,
            next: 0,
            call_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            tls: None,
        }
    }

    /// Calls the nodes over TLS with this certificate (`None`: in the clear).
    pub fn with_tls(mut self, tls: Option<ClusterTls>) -> Self {
        self.tls = tls;
        self
    }

    /// Sets the limit per attempt and for the whole call including leader changes.
    pub fn with_timeouts(mut self, per_call: Duration, total: Duration) -> Self {
        self.set_timeouts(per_call, total);
        self
    }

    /// As [`MetaClient::with_timeouts`], for a client in use.
    pub fn set_timeouts(&mut self, per_call: Duration, total: Duration) {
        self.call_timeout = per_call;
        self.total_timeout = total;
    }

    /// The leader address last seen.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    /// Runs `call` against the leader: unreachable nodes are skipped, NOT_LEADER answers
    /// followed, and elections waited out until the total timeout. Other errors return at once.
    pub async fn call<R, F, Fut>(&mut self, mut call: F) -> Result<R, ClientError>
    where
        F: FnMut(ControllerClient<Channel>) -> Fut,
        Fut: Future<Output = Result<Response<R>, Status>>,
    {
        if self.addresses.is_empty() {
            return Err(ClientError::NoAddresses);
        }
        let deadline = Instant::now() + self.total_timeout;
        let mut tried = 0usize;
        loop {
            let target = match self.leader.take() {
                Some(leader) => leader,
                None => {
                    self.next %= self.addresses.len();
                    let address = self.addresses[self.next].clone();
                    self.next += 1;
                    tried += 1;
                    if tried.is_multiple_of(self.addresses.len()) {
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                    address
                }
            };
            let error = match connect(&target, self.tls.as_ref(), self.call_timeout).await {
                Err(e) => e,
                Ok(client) => match tokio::time::timeout(self.call_timeout, call(client)).await {
                    Ok(Ok(response)) => {
                        self.leader = Some(target);
                        return Ok(response.into_inner());
                    }
                    Ok(Err(status)) if is_not_leader(&status) => {
                        let hint = (status.metadata().get(LEADER_ADDRESS_HEADER))
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        if hint.is_none() || hint.as_deref() == Some(target.as_str()) {
                            tokio::time::sleep(RETRY_PAUSE).await;
                        }
                        self.leader = hint.filter(|h| *h != target);
                        ClientError::Status(status)
                    }
                    // Unreachable, or a transport timeout on a loaded machine: try again
                    // (a write may then have applied twice; callers check what they get).
                    Ok(Err(status)) if is_transport_failure(&status) => ClientError::Status(status),
                    Ok(Err(status)) => return Err(ClientError::Status(status)),
                    Err(_) => ClientError::Timeout(target),
                },
            };
            if Instant::now() >= deadline {
                return Err(error);
            }
        }
    }
}

impl MetaClient {
    /// Opens a watch of committed records from `from_index` on the first node that answers
    /// (every node serves its applied records). Returns the node's address and the stream.
    pub async fn watch(
        &mut self,
        from_index: u64,
    ) -> Result<(String, Streaming<WatchEvent>), ClientError> {
        let mut last = ClientError::NoAddresses;
        let candidates = (self.leader.iter().chain(self.addresses.iter())).cloned();
        for address in candidates.collect::<Vec<_>>() {
            let mut client = match connect(&address, self.tls.as_ref(), self.call_timeout).await {
                Ok(client) => client,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            match client.watch(WatchRequest { from_index }).await {
                Ok(stream) => return Ok((address, stream.into_inner())),
                Err(status) => last = ClientError::Status(status),
            }
        }
        Err(last)
    }
}

/// Applies one watch event to a local metadata image and returns the `from_index` to resume
/// a broken watch with. A snapshot replaces the image.
pub fn apply_watch_event(image: &mut MetadataState, event: &WatchEvent) -> Result<u64, StateError> {
    if let Some(snapshot) = &event.snapshot {
        *image = MetadataState::from_snapshot_bytes(snapshot)?;
    }
    for bytes in &event.records {
        image.apply(&MetadataRecord::from_bytes(bytes)?)?;
    }
    Ok(event.index + 1)
}

impl ClientError {
    /// The error as a meta node would have reported it in-process: a refusal keeps the kind
    /// the node sent; anything else means the quorum could not be reached.
    pub fn into_node_error(self) -> crate::node::NodeError {
        use crate::node::NodeError;
        match self {
            ClientError::Status(status) => {
                let kind = (status.metadata().get(super::ERROR_KIND_HEADER))
                    .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
                    .and_then(|n| ErrorKind::try_from(n).ok());
                match kind {
                    Some(kind) if kind.is_refusal() && !is_not_leader(&status) => {
                        NodeError::Remote {
                            kind,
                            message: status.message().to_owned(),
                        }
                    }
                    _ => NodeError::Unreachable(format!("{}: {}", status.code(), status.message())),
                }
            }
            other => NodeError::Unreachable(other.to_string()),
        }
    }
}

/// True for a call that failed on the way rather than being answered: the node is down, the
/// connection broke (tonic reports that as UNKNOWN without any answer of ours), or it timed
/// out.
fn is_transport_failure(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded => true,
        Code::Unknown => status.metadata().get(super::ERROR_KIND_HEADER).is_none(),
        _ => false,
    }
}

/// True for a follower's answer to a write.
pub fn is_not_leader(status: &Status) -> bool {
    status.code() == Code::FailedPrecondition && status.message().starts_with(NOT_LEADER_MESSAGE)
}

/// "a: b: c" from an error and its sources, skipping repeats (transport errors nest
/// several layers that say the same thing).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
