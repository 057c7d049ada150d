//! How a producer's batches become Produce requests, against a scripted broker that holds
//! every Produce answer until the test releases them: at most `max_in_flight` requests await answers at once (the
//! batches queued meanwhile share the next request, as with the Java client's
//! `max.in.flight.requests.per.connection`), and the first batches to many partitions of an
//! unknown topic share one metadata request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chronik_client::{Client, ClientConfig, Producer, ProducerConfig};
use kafka_protocol::messages::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, BrokerId, MetadataResponse, ProduceRequest, ProduceResponse, RequestKind, ResponseKind,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

mod scripted;

const PARTITIONS: i32 = 64;
/// What the scripted broker saw, and the gate its Produce answers wait at.
struct Seen {
    produce_requests: AtomicUsize,
    /// Produce requests read and not yet answered, and the most there were at once.
    unanswered: AtomicUsize,
    most_unanswered: AtomicUsize,
    metadata_requests: AtomicUsize,
    /// Produce answers go out once this is true.
    release: watch::Sender<bool>,
}

/// A one-broker cluster (node 0) holding topic `t` with [`PARTITIONS`] partitions. Answers go
/// out in request order, the Produce answers once `Seen::release` is set.
async fn scripted_broker() -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Seen {
        produce_requests: AtomicUsize::new(0),
        unanswered: AtomicUsize::new(0),
        most_unanswered: AtomicUsize::new(0),
        metadata_requests: AtomicUsize::new(0),
        release: watch::Sender::new(false),
    });
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, addr.port(), shared.clone()));
        }
    });
    (addr.to_string(), seen)
}

async fn serve(socket: tokio::net::TcpStream, port: u16, seen: Arc<Seen>) {
    let (mut reader, mut writer) = socket.into_split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(bool, Bytes)>();
    let answered = seen.clone();
    tokio::spawn(async move {
        let mut released = answered.release.subscribe();
        while let Some((produce, out)) = rx.recv().await {
            if produce {
                if released.wait_for(|open| *open).await.is_err() {
                    return;
                }
                answered.unanswered.fetch_sub(1, Ordering::SeqCst);
            }
            if writer.write_all(&out).await.is_err() {
                return;
            }
        }
    });
    let mut buf = BytesMut::new();
    while let Some(req) = scripted::next_request(&mut reader, &mut buf).await {
        let header = (req.api_key, req.api_version, req.correlation_id);
        let (body, produce) = answer(req.request, port, &seen);
        if tx
            .send((produce, scripted::answer_to(header, body)))
            .is_err()
        {
            return;
        }
    }
}

/// The answer to `req`, and whether it is a Produce answer.
fn answer(req: RequestKind, port: u16, seen: &Seen) -> (ResponseKind, bool) {
    match req {
        RequestKind::ApiVersions(_) => (
            ResponseKind::ApiVersions(chronik_kafka::api_versions_response(&[
                ApiKey::ApiVersions,
                ApiKey::Metadata,
                ApiKey::Produce,
            ])),
            false,
        ),
        RequestKind::Metadata(req) => {
            seen.metadata_requests.fetch_add(1, Ordering::SeqCst);
            let asks_for_t = (req.topics.iter().flatten())
                .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "t"));
            (ResponseKind::Metadata(metadata(port, asks_for_t)), false)
        }
        RequestKind::Produce(req) => {
            seen.produce_requests.fetch_add(1, Ordering::SeqCst);
            let now = seen.unanswered.fetch_add(1, Ordering::SeqCst) + 1;
            seen.most_unanswered.fetch_max(now, Ordering::SeqCst);
            (ResponseKind::Produce(produce_answer(&req)), true)
        }
        other => panic!("unexpected request {other:?}"),
    }
}

/// Every partition of `req` written at offset 0.
fn produce_answer(req: &ProduceRequest) -> ProduceResponse {
    ProduceResponse::default().with_responses(
        (req.topic_data.iter())
            .map(|t| {
                TopicProduceResponse::default()
                    .with_name(t.name.clone())
                    .with_partition_responses(
                        (t.partition_data.iter())
                            .map(|p| PartitionProduceResponse::default().with_index(p.index))
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// The broker list, and topic `t` when asked for.
fn metadata(port: u16, with_t: bool) -> MetadataResponse {
    let partitions = (0..PARTITIONS)
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(BrokerId(0))
                .with_replica_nodes(vec![BrokerId(0)])
                .with_isr_nodes(vec![BrokerId(0)])
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(scripted::node_0(port))
        .with_topics(match with_t {
            true => vec![
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                    .with_partitions(partitions),
            ],
            false => Vec::new(),
        })
}

async fn client(addr: &str) -> Client {
    Client::connect(ClientConfig {
        request_timeout: Duration::from_secs(10),
        ..ClientConfig::new(addr)
    })
    .await
    .expect("connect to the scripted broker")
}

fn config() -> ProducerConfig {
    ProducerConfig {
        linger: Duration::ZERO,
        ..ProducerConfig::default()
    }
}

/// Sends one record to each partition, then releases the broker's answers and checks every
/// record is acknowledged at the broker's offset. `pace`: the time between sends, in which a
/// producer that holds nothing back writes each record in a request of its own. (No condition
/// tells when the producer is holding a batch back rather than about to send it, so the test
/// paces the records instead of waiting for one.)
async fn send_to_each_partition(producer: &Producer, seen: &Seen, pace: Option<Duration>) {
    let mut deliveries = Vec::new();
    for p in 0..PARTITIONS {
        let value = Some(Bytes::from_static(b"v"));
        let sent = producer.send("t", p, None, value, None).await;
        deliveries.push(sent.expect("queued"));
        if let Some(pace) = pace {
            tokio::time::sleep(pace).await;
        }
    }
    seen.release.send_replace(true);
    for d in deliveries {
        let written = d.wait().await.expect("acknowledged");
        assert_eq!(written.offset(), Some(0));
    }
}

#[tokio::test]
async fn batches_queued_behind_the_requests_in_flight_share_the_next_request() {
    let (addr, seen) = scripted_broker().await;
    let cfg = config();
    let producer = Producer::new(client(&addr).await, cfg.clone())
        .await
        .expect("producer");
    // Records a little apart: each would go in a request of its own if nothing held it back.
    send_to_each_partition(&producer, &seen, Some(Duration::from_millis(2))).await;
    producer.close().await;

    let most = seen.most_unanswered.load(Ordering::SeqCst);
    assert!(most <= cfg.max_in_flight, "{most} requests awaited answers");
    let requests = seen.produce_requests.load(Ordering::SeqCst);
    assert!(
        requests <= cfg.max_in_flight + 2,
        "{PARTITIONS} batches took {requests} requests"
    );
}

#[tokio::test]
async fn first_batches_to_many_partitions_of_a_new_topic_share_its_lookup() {
    let (addr, seen) = scripted_broker().await;
    let client = client(&addr).await;
    let at_connect = seen.metadata_requests.load(Ordering::SeqCst);
    let producer = Producer::new(client, config()).await.expect("producer");
    send_to_each_partition(&producer, &seen, None).await;
    producer.close().await;
    let lookups = seen.metadata_requests.load(Ordering::SeqCst) - at_connect;
    assert!(
        lookups <= 2,
        "{lookups} metadata requests for one new topic"
    );
}
