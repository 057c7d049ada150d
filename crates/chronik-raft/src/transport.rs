//! Outbound message plumbing that never makes the Ready loop wait on the network.
//!
//! The driver hands each message to [`Transport::send`], which only enqueues. A network task
//! per peer (a long-lived gRPC stream, say) drains that peer's [`PeerReceiver`] in order. A
//! slow or dead peer fills its own queue and loses its oldest messages; Raft tolerates lost
//! messages (it retries on heartbeats) but not a stalled leader.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use raft::eraftpb::Message;
use tokio::sync::Notify;

/// Where the driver puts outbound messages.
pub trait Transport: Send + 'static {
    /// Enqueues `msg` for `msg.to`. Must return at once: never block or await the network.
    /// Messages to one peer must leave in the order they were given.
    fn send(&mut self, msg: Message);
}

struct QueueState {
    messages: VecDeque<Message>,
    closed: bool,
}

struct Shared {
    state: Mutex<QueueState>,
    notify: Notify,
    capacity: usize,
    dropped: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // The queue holds plain data; a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }
}

/// The sending side of one peer's bounded, ordered queue. Dropping it closes the queue.
pub struct PeerQueue {
    shared: Arc<Shared>,
}

/// The receiving side, owned by the task that talks to the peer.
pub struct PeerReceiver {
    shared: Arc<Shared>,
}

impl PeerQueue {
    /// A queue holding at most `capacity` messages (at least 1).
    pub fn new(capacity: usize) -> (PeerQueue, PeerReceiver) {
        let shared = Arc::new(Shared {
            state: Mutex::new(QueueState {
                messages: VecDeque::new(),
                closed: false,
            }),
            notify: Notify::new(),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
        });
        let receiver = PeerReceiver {
            shared: Arc::clone(&shared),
        };
        (PeerQueue { shared }, receiver)
    }

    /// Enqueues without waiting; when full, the oldest message is dropped and counted.
    pub fn push(&self, msg: Message) {
        let mut state = self.shared.lock();
        if state.closed {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if state.messages.len() >= self.shared.capacity {
            state.messages.pop_front();
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        state.messages.push_back(msg);
        drop(state);
        self.shared.notify.notify_one();
    }

    /// Messages dropped so far (queue full, or the receiver gone).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Messages waiting to be sent.
    pub fn len(&self) -> usize {
        self.shared.lock().messages.len()
    }

    /// True when nothing waits to be sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for PeerQueue {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl PeerReceiver {
    /// The next message in order; `None` once the queue is closed and empty.
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            {
                let mut state = self.shared.lock();
                if let Some(msg) = state.messages.pop_front() {
                    return Some(msg);
                }
                if state.closed {
                    return None;
                }
            }
            self.shared.notify.notified().await;
        }
    }

    /// Up to `max` queued messages in order, without waiting (for batching onto a stream).
    pub fn drain(&mut self, max: usize) -> Vec<Message> {
        let mut state = self.shared.lock();
        let n = max.min(state.messages.len());
        state.messages.drain(..n).collect()
    }

    /// Messages dropped so far on this queue.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for PeerReceiver {
    fn drop(&mut self) {
        // Nobody will send what is queued: free it and refuse more.
        let mut state = self.shared.lock();
        state.closed = true;
        state.messages.clear();
    }
}

/// A [`Transport`] that routes each message into its peer's [`PeerQueue`]. Cloning shares the
/// routing table, so peers can be added or removed while the driver owns a clone.
#[derive(Clone)]
pub struct QueueTransport {
    peers: Arc<Mutex<BTreeMap<u64, PeerQueue>>>,
    capacity: usize,
    unroutable: Arc<AtomicU64>,
}

impl QueueTransport {
    /// A transport whose per-peer queues hold at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        QueueTransport {
            peers: Arc::default(),
            capacity,
            unroutable: Arc::default(),
        }
    }

    fn peers(&self) -> MutexGuard<'_, BTreeMap<u64, PeerQueue>> {
        self.peers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens (or replaces) the queue to `peer` and returns its receiving side.
    pub fn add_peer(&self, peer: u64) -> PeerReceiver {
        let (queue, receiver) = PeerQueue::new(self.capacity);
        self.peers().insert(peer, queue);
        receiver
    }

    /// Closes the queue to `peer`; its receiver drains what is left and then ends.
    pub fn remove_peer(&self, peer: u64) {
        self.peers().remove(&peer);
    }

    /// Messages dropped on the queue to `peer`, if there is one.
    pub fn dropped(&self, peer: u64) -> Option<u64> {
        self.peers().get(&peer).map(PeerQueue::dropped)
    }

    /// Messages addressed to peers with no queue.
    pub fn unroutable(&self) -> u64 {
        self.unroutable.load(Ordering::Relaxed)
    }
}

impl Transport for QueueTransport {
    fn send(&mut self, msg: Message) {
        match self.peers().get(&msg.to) {
            Some(queue) => queue.push(msg),
            None => {
                self.unroutable.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(to = msg.to, "no queue for raft peer; message dropped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(to: u64, index: u64) -> Message {
        Message {
            to,
            index,
            ..Default::default()
        }
    }

    #[test]
    fn full_queue_drops_oldest_and_keeps_order() {
        let (queue, mut rx) = PeerQueue::new(3);
        for i in 1..=5 {
            queue.push(msg(2, i));
        }
        assert_eq!(queue.dropped(), 2);
        let got: Vec<u64> = rx.drain(10).iter().map(|m| m.index).collect();
        assert_eq!(got, vec![3, 4, 5]);
    }

    #[tokio::test]
    async fn receiver_ends_after_close_and_drain() {
        let (queue, mut rx) = PeerQueue::new(8);
        queue.push(msg(2, 1));
        drop(queue);
        assert_eq!(rx.recv().await.map(|m| m.index), Some(1));
        assert!(rx.recv().await.is_none());
    }

    #[test]
    fn transport_routes_by_peer_and_counts_unroutable() {
        let mut transport = QueueTransport::new(4);
        let mut rx2 = transport.add_peer(2);
        transport.send(msg(2, 7));
        transport.send(msg(9, 1));
        assert_eq!(rx2.drain(4).len(), 1);
        assert_eq!(transport.unroutable(), 1);
    }
}
