//! Raft messages over gRPC.
//!
//! Outbound: [`GrpcTransport`] only enqueues (per-peer bounded, ordered queues from
//! `chronik-raft`), and one long-lived task per peer drains its queue onto one client stream,
//! reconnecting with backoff when the stream breaks. The Ready loop never waits on a peer.
//!
//! Inbound: [`RaftPeerService`] checks each envelope's cluster id (a stranger gets
//! PERMISSION_DENIED and nothing of its stream is used) and size, decodes it and steps it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chronik_raft::{Message, NodeHandle, PeerReceiver, QueueTransport, Transport};
use protobuf::Message as _;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::pb::raft_peer_client::RaftPeerClient;
use super::pb::raft_peer_server::RaftPeer;
use super::pb::{RaftAck, RaftEnvelope};
use super::tls::{self, ClusterTls};

/// Largest Raft message accepted or sent (snapshots of the metadata state included).
pub const MAX_RAFT_MESSAGE: usize = 64 << 20;
/// Messages waiting per peer before the oldest are dropped (Raft resends what matters).
const QUEUE_CAPACITY: usize = 4096;
/// Envelopes buffered between a peer task and its gRPC stream.
const STREAM_BUFFER: usize = 256;
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

struct Shared {
    cluster_id: String,
    local: u64,
    addresses: Mutex<BTreeMap<u64, String>>,
    unreachable: mpsc::UnboundedSender<u64>,
    /// Where peer streams run; `set_peer` may be called from the Raft driver's own thread.
    runtime: tokio::runtime::Handle,
    /// This node's certificate and the cluster CA, when peers speak TLS.
    tls: Option<ClusterTls>,
}

/// A [`Transport`] that carries Raft messages to peers over gRPC streams. Cloning shares the
/// peer table, so addresses can change while the driver owns a clone.
#[derive(Clone)]
pub struct GrpcTransport {
    shared: Arc<Shared>,
    queues: QueueTransport,
}

impl GrpcTransport {
    /// A transport for node `local` of cluster `cluster_id`, whose peer streams run on the
    /// current tokio runtime (call it from inside one), over TLS when `tls` is given. The
    /// receiver yields peers whose stream broke, to report to Raft as unreachable.
    pub fn new(
        cluster_id: &str,
        local: u64,
        tls: Option<ClusterTls>,
    ) -> (Self, mpsc::UnboundedReceiver<u64>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            cluster_id: cluster_id.to_owned(),
            local,
            addresses: Mutex::new(BTreeMap::new()),
            unreachable: tx,
            runtime: tokio::runtime::Handle::current(),
            tls,
        });
        let transport = GrpcTransport {
            shared,
            queues: QueueTransport::new(QUEUE_CAPACITY),
        };
        (transport, rx)
    }

    fn addresses(&self) -> MutexGuard<'_, BTreeMap<u64, String>> {
        (self.shared.addresses.lock()).unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Routes messages for `peer` to `address` (host:port); an empty address forgets the peer.
    /// A changed address replaces the peer's queue and stream. Needs a tokio runtime.
    pub fn set_peer(&self, peer: u64, address: &str) {
        if peer == self.shared.local {
            return;
        }
        let mut addresses = self.addresses();
        if addresses.get(&peer).map(String::as_str) == Some(address) {
            return;
        }
        if address.is_empty() {
            addresses.remove(&peer);
            self.queues.remove_peer(peer);
            return;
        }
        addresses.insert(peer, address.to_owned());
        let receiver = self.queues.add_peer(peer);
        let link = PeerLink {
            shared: Arc::clone(&self.shared),
            peer,
            address: address.to_owned(),
        };
        // The runtime the transport was made on: this may run on the Raft driver's thread.
        self.shared.runtime.spawn(link.run(receiver));
    }

    /// Known peer addresses.
    pub fn peers(&self) -> BTreeMap<u64, String> {
        self.addresses().clone()
    }
}

impl Transport for GrpcTransport {
    fn send(&mut self, msg: Message) {
        self.queues.send(msg);
    }
}

/// The task that owns one peer's queue and stream.
struct PeerLink {
    shared: Arc<Shared>,
    peer: u64,
    address: String,
}

impl PeerLink {
    async fn run(self, mut queue: PeerReceiver) {
        let mut backoff = MIN_BACKOFF;
        // Connect lazily, when there is something to send; end when the queue is closed.
        while let Some(first) = queue.recv().await {
            match self.stream(first, &mut queue, &mut backoff).await {
                Ok(()) => break,
                Err(reason) => {
                    tracing::debug!(peer = self.peer, address = %self.address, %reason, "raft stream to peer broke");
                    let _ = self.shared.unreachable.send(self.peer);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        tracing::debug!(peer = self.peer, "raft peer queue closed");
    }

    /// Sends `first` and then the queue's messages on one stream until it breaks (`Err`) or
    /// the queue closes (`Ok`).
    async fn stream(
        &self,
        first: Message,
        queue: &mut PeerReceiver,
        backoff: &mut Duration,
    ) -> Result<(), String> {
        let endpoint = tls::endpoint(&self.address, self.shared.tls.as_ref())?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
        *backoff = MIN_BACKOFF;
        let mut client = RaftPeerClient::new(channel).max_encoding_message_size(MAX_RAFT_MESSAGE);
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let call = client.stream(ReceiverStream::new(rx));
        tokio::pin!(call);
        let mut next = Some(first);
        loop {
            let msg = match next.take() {
                Some(msg) => msg,
                None => tokio::select! {
                    ended = &mut call => return Err(ended_reason(ended)),
                    msg = queue.recv() => match msg {
                        Some(msg) => msg,
                        None => return Ok(()),
                    },
                },
            };
            let Some(envelope) = self.envelope(&msg) else {
                continue;
            };
            tokio::select! {
                ended = &mut call => return Err(ended_reason(ended)),
                sent = tx.send(envelope) => if sent.is_err() {
                    return Err("stream closed".into());
                },
            }
        }
    }

    fn envelope(&self, msg: &Message) -> Option<RaftEnvelope> {
        let bytes = match msg.write_to_bytes() {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(peer = self.peer, error = %e, "raft message does not encode; dropped");
                return None;
            }
        };
        if bytes.len() > MAX_RAFT_MESSAGE - 1024 {
            tracing::warn!(
                peer = self.peer,
                len = bytes.len(),
                "raft message too large; dropped"
            );
            return None;
        }
        Some(RaftEnvelope {
            cluster_id: self.shared.cluster_id.clone(),
            from: msg.from,
            to: msg.to,
            message: bytes,
        })
    }
}

fn ended_reason(ended: Result<Response<RaftAck>, Status>) -> String {
    match ended {
        Ok(_) => "the peer ended the stream".into(),
        Err(status) => format!("{}: {}", status.code(), status.message()),
    }
}

/// Receives Raft messages from peers and steps them into the local node.
pub struct RaftPeerService {
    cluster_id: String,
    local: u64,
    node: NodeHandle,
    /// Becomes true when the node stops: inbound streams end then, so shutdown need not wait
    /// for peers to hang up.
    stop: watch::Receiver<bool>,
}

impl RaftPeerService {
    pub fn new(
        cluster_id: &str,
        local: u64,
        node: NodeHandle,
        stop: watch::Receiver<bool>,
    ) -> Self {
        RaftPeerService {
            cluster_id: cluster_id.to_owned(),
            local,
            node,
            stop,
        }
    }

    fn check(&self, envelope: &RaftEnvelope) -> Result<Message, Status> {
        if envelope.cluster_id != self.cluster_id {
            tracing::warn!(from = envelope.from, their = %envelope.cluster_id, "raft peer of another cluster refused");
            return Err(Status::permission_denied(format!(
                "this node belongs to cluster '{}', not '{}'",
                self.cluster_id, envelope.cluster_id
            )));
        }
        if envelope.to != self.local {
            return Err(Status::invalid_argument(format!(
                "message for node {} reached node {}; check the peer addresses",
                envelope.to, self.local
            )));
        }
        if envelope.message.len() > MAX_RAFT_MESSAGE {
            return Err(Status::resource_exhausted("raft message too large"));
        }
        let msg = Message::parse_from_bytes(&envelope.message)
            .map_err(|e| Status::invalid_argument(format!("raft message does not decode: {e}")))?;
        if msg.from != envelope.from || msg.to != envelope.to {
            return Err(Status::invalid_argument(
                "envelope and message disagree on the route",
            ));
        }
        Ok(msg)
    }
}

#[tonic::async_trait]
impl RaftPeer for RaftPeerService {
    async fn stream(
        &self,
        request: Request<Streaming<RaftEnvelope>>,
    ) -> Result<Response<RaftAck>, Status> {
        let mut inbound = request.into_inner();
        let mut stop = self.stop.clone();
        loop {
            let envelope = tokio::select! {
                next = inbound.message() => match next? {
                    Some(envelope) => envelope,
                    None => break,
                },
                _ = stop.wait_for(|stop| *stop) => {
                    return Err(Status::unavailable("the meta node is stopping"));
                }
            };
            let msg = self.check(&envelope)?;
            self.node
                .step(msg)
                .await
                .map_err(|_| Status::unavailable("the raft node has stopped"))?;
        }
        Ok(Response::new(RaftAck {}))
    }
}
