//! Many partitions in one Produce request. Batches bound for one broker queue up; a drain task
//! writes them in as few requests as it can, each holding every queued partition (as the Java
//! client sends all of a broker's ready partitions together). No batch waits for another
//! batch: the task starts when the first batch arrives, and what queues while it writes one
//! request goes in the next. Like the Java client's `max.in.flight.requests.per.connection`,
//! at most `max_in_flight` requests await their answers per broker: while they do, batches
//! queue, and the next request takes them all. Without that cap a busy producer sends a
//! request per batch or two, and with many partitions the broker serves (and syncs) a request
//! per partition instead of one for hundreds.
//!
//! Order is kept: requests go out in the order their batches were queued, and a partition
//! appears at most once in a request (its next batch starts the next request), so batches of
//! one partition reach the broker in the order they were submitted.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::worker::{Ctx, written};
use super::{Acks, Written};
use crate::{ClientError, Result};

/// Record bytes one combined request carries at most (Kafka's `max.request.size` default); a
/// larger batch goes alone.
const MAX_REQUEST_BATCH_BYTES: usize = 1024 * 1024;

/// One batch waiting for its request.
pub(super) struct Queued {
    pub topic: Arc<str>,
    pub partition: i32,
    pub batch: Bytes,
    pub reply: oneshot::Sender<Result<Written>>,
}

/// The queue of one broker: its batches, and whether a drain task is writing them.
#[derive(Default)]
struct BrokerQueue {
    batches: VecDeque<Queued>,
    draining: bool,
}

/// One broker's queue and the requests it may have awaiting answers.
struct Broker {
    queue: Mutex<BrokerQueue>,
    /// A permit per request written and not yet answered.
    requests: Arc<Semaphore>,
}

/// The producer's queues, one per broker address.
#[derive(Default)]
pub(crate) struct Combiner {
    brokers: Mutex<HashMap<SocketAddr, Arc<Broker>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Combiner {
    /// Queues `queued` for the broker at `addr`, starting its drain task unless one runs.
    pub(super) fn submit(&self, ctx: &Arc<Ctx>, addr: SocketAddr, queued: Queued) {
        let broker = lock(&self.brokers)
            .entry(addr)
            .or_insert_with(|| {
                Arc::new(Broker {
                    queue: Mutex::default(),
                    requests: Arc::new(Semaphore::new(ctx.cfg.max_in_flight.max(1))),
                })
            })
            .clone();
        let start = {
            let mut q = lock(&broker.queue);
            q.batches.push_back(queued);
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            tokio::spawn(drain(ctx.clone(), addr, broker));
        }
    }
}

/// Writes the queue's batches in combined requests until it is empty.
async fn drain(ctx: Arc<Ctx>, addr: SocketAddr, broker: Arc<Broker>) {
    loop {
        // A request slot first: while none is free the batches keep queuing for the next one.
        let Ok(slot) = broker.requests.clone().acquire_owned().await else {
            return;
        };
        let next = {
            let mut q = lock(&broker.queue);
            let next = take_request(&mut q.batches, MAX_REQUEST_BATCH_BYTES);
            // Cleared under the same lock a submitter pushes under: no batch is left behind.
            q.draining = !next.is_empty();
            next
        };
        if next.is_empty() {
            return;
        }
        send(&ctx, addr, next, slot).await;
    }
}

/// The batches for the next request, from the front of `queue`: as many as fit in `max_bytes`
/// (at least one), stopping before a partition already taken.
fn take_request(queue: &mut VecDeque<Queued>, max_bytes: usize) -> Vec<Queued> {
    let mut taken: Vec<Queued> = Vec::new();
    let mut partitions = HashSet::new();
    let mut bytes = 0;
    while let Some(front) = queue.front() {
        let fits = taken.is_empty() || bytes + front.batch.len() <= max_bytes;
        if !fits || !partitions.insert((front.topic.clone(), front.partition)) {
            break;
        }
        bytes += front.batch.len();
        taken.extend(queue.pop_front());
    }
    taken
}

/// Writes one request holding `batches` and hands each its partition's answer once it comes
/// (with acks=0, none comes: each is [`Written::Unacknowledged`] once written); `slot` is
/// given back when the request is done with.
async fn send(ctx: &Ctx, addr: SocketAddr, batches: Vec<Queued>, slot: OwnedSemaphorePermit) {
    let answer = async {
        let conn = ctx.client.conn(addr).await?;
        let req = request(ctx, &batches);
        if ctx.cfg.acks == Acks::None {
            conn.send_only(&req, ctx.client.client_id()).await?;
            return Ok(None);
        }
        let version = conn.version(ApiKey::Produce)?;
        (conn.submit(&req, version, ctx.client.client_id()).await).map(Some)
    }
    .await;
    let answer = match answer {
        Ok(Some(answer)) => answer,
        Ok(None) => {
            for b in batches {
                let _ = b.reply.send(Ok(Written::Unacknowledged));
            }
            return;
        }
        Err(e) => return fail_all(batches, &e),
    };
    tokio::spawn(async move {
        let answer = answer.await;
        drop(slot);
        match answer {
            Ok(resp) => hand_out(resp, batches, addr),
            Err(e) => fail_all(batches, &e),
        }
    });
}

fn request(ctx: &Ctx, batches: &[Queued]) -> ProduceRequest {
    let mut topics: Vec<TopicProduceData> = Vec::new();
    for b in batches {
        let data = PartitionProduceData::default()
            .with_index(b.partition)
            .with_records(Some(b.batch.clone()));
        match topics.iter_mut().find(|t| *t.name.0 == *b.topic) {
            Some(t) => t.partition_data.push(data),
            None => topics.push(
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(b.topic.to_string())))
                    .with_partition_data(vec![data]),
            ),
        }
    }
    let server_timeout = ctx.client.config().request_timeout * 3 / 4;
    let txn_id = (ctx.cfg.transactional_id.as_ref())
        .map(|id| kafka_protocol::messages::TransactionalId(StrBytes::from_string(id.clone())));
    ProduceRequest::default()
        .with_transactional_id(txn_id)
        .with_acks(ctx.cfg.acks.wire())
        .with_timeout_ms(i32::try_from(server_timeout.as_millis()).unwrap_or(i32::MAX))
        .with_topic_data(topics)
}

/// Each batch gets its partition's answer; a partition the broker did not answer fails.
fn hand_out(resp: ProduceResponse, batches: Vec<Queued>, addr: SocketAddr) {
    let mut answers: HashMap<(&str, i32), &PartitionProduceResponse> = HashMap::new();
    for t in &resp.responses {
        for p in &t.partition_responses {
            answers.insert((t.name.0.as_str(), p.index), p);
        }
    }
    for b in batches {
        let answer = answers.get(&(&*b.topic, b.partition)).copied();
        let _ = b.reply.send(written(answer, &b.topic, b.partition, addr));
    }
}

fn fail_all(batches: Vec<Queued>, e: &ClientError) {
    for b in batches {
        let _ = b.reply.send(Err(e.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queued batch of `len` bytes and the receiver of its answer.
    fn queued_with_reply(
        topic: &str,
        partition: i32,
        len: usize,
    ) -> (Queued, oneshot::Receiver<Result<Written>>) {
        let (reply, rx) = oneshot::channel();
        let batch = Bytes::from(vec![0; len]);
        let topic = topic.into();
        (
            Queued {
                topic,
                partition,
                batch,
                reply,
            },
            rx,
        )
    }

    /// A queue of batches given as (topic, partition, bytes).
    fn queue_of(batches: &[(&str, i32, usize)]) -> VecDeque<Queued> {
        (batches.iter())
            .map(|&(topic, partition, len)| queued_with_reply(topic, partition, len).0)
            .collect()
    }

    fn taken(queue: &mut VecDeque<Queued>, max: usize) -> Vec<(String, i32)> {
        (take_request(queue, max).into_iter())
            .map(|q| (q.topic.to_string(), q.partition))
            .collect()
    }

    #[test]
    fn a_request_takes_queued_partitions_in_order_each_once() {
        let mut queue = queue_of(&[
            ("a", 0, 10),
            ("b", 0, 10),
            ("a", 1, 10),
            ("a", 0, 10),
            ("b", 1, 10),
        ]);
        let first = taken(&mut queue, 1 << 20);
        assert_eq!(first, [("a".into(), 0), ("b".into(), 0), ("a".into(), 1)]);
        // The second batch of a-0 starts the next request, with what queued behind it.
        let second = taken(&mut queue, 1 << 20);
        assert_eq!(second, [("a".into(), 0), ("b".into(), 1)]);
        assert!(take_request(&mut queue, 1 << 20).is_empty());
    }

    #[test]
    fn each_batch_gets_its_own_partitions_answer() {
        use kafka_protocol::messages::produce_response::TopicProduceResponse;
        let resp = ProduceResponse::default().with_responses(vec![
            TopicProduceResponse::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partition_responses(vec![
                    PartitionProduceResponse::default()
                        .with_index(0)
                        .with_base_offset(7),
                    PartitionProduceResponse::default()
                        .with_index(1)
                        .with_error_code(6)
                        .with_base_offset(-1),
                ]),
        ]);
        let (batches, replies): (Vec<_>, Vec<_>) = [("t", 0), ("t", 1), ("u", 0)]
            .into_iter()
            .map(|(topic, partition)| queued_with_reply(topic, partition, 0))
            .unzip();
        hand_out(resp, batches, "127.0.0.1:9".parse().unwrap());
        let got: Vec<_> = replies
            .into_iter()
            .map(|mut r| r.try_recv().unwrap())
            .collect();
        assert_eq!(got[0].as_ref().unwrap(), &Written::At(7));
        assert_eq!(got[1].as_ref().unwrap_err().name(), "NotLeaderOrFollower");
        assert_eq!(
            got[2].as_ref().unwrap_err().name(),
            "InvalidResponse",
            "no answer for u-0"
        );
    }

    #[test]
    fn a_request_stops_at_its_size_but_always_takes_one_batch() {
        let mut queue = queue_of(&[("a", 0, 600), ("a", 1, 600), ("a", 2, 300)]);
        assert_eq!(taken(&mut queue, 1000), [("a".into(), 0)]);
        assert_eq!(taken(&mut queue, 1000), [("a".into(), 1), ("a".into(), 2)]);
        let mut big = queue_of(&[("a", 0, 5000)]);
        assert_eq!(taken(&mut big, 1000), [("a".into(), 0)]);
    }
}
