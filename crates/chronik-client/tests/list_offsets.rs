//! ListOffsets against a scripted broker: retriable refusals (a partition its leader has not
//! opened yet, right after the topic's creation) are retried, the others are not.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use chronik_client::{Client, ClientConfig, list_offset};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, ListOffsetsResponse, MetadataResponse, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

mod scripted;

/// A one-broker cluster (node 0) holding topic `t` with one partition, whose ListOffsets
/// answers the codes in `refusals` first and then offset 42. Returns its address and how many
/// ListOffsets it answered.
async fn scripted_broker(refusals: Vec<ResponseError>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (count, refusals) = (count.clone(), refusals.clone());
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                while let Some(req) = scripted::next_request(&mut socket, &mut buf).await {
                    let header = (req.api_key, req.api_version, req.correlation_id);
                    let body = answer(req.request, addr.port(), &count, &refusals);
                    if socket
                        .write_all(&scripted::answer_to(header, body))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr.to_string(), asked)
}

fn answer(
    req: RequestKind,
    port: u16,
    asked: &AtomicUsize,
    refusals: &[ResponseError],
) -> ResponseKind {
    match req {
        RequestKind::ApiVersions(_) => {
            ResponseKind::ApiVersions(chronik_kafka::api_versions_response(&[
                ApiKey::ApiVersions,
                ApiKey::Metadata,
                ApiKey::ListOffsets,
            ]))
        }
        RequestKind::Metadata(_) => ResponseKind::Metadata(metadata(port)),
        RequestKind::ListOffsets(_) => {
            let n = asked.fetch_add(1, Ordering::SeqCst);
            let part = match refusals.get(n) {
                Some(e) => ListOffsetsPartitionResponse::default().with_error_code(e.code()),
                None => ListOffsetsPartitionResponse::default().with_offset(42),
            };
            ResponseKind::ListOffsets(ListOffsetsResponse::default().with_topics(vec![
                ListOffsetsTopicResponse::default()
                    .with_name(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(vec![part.with_partition_index(0)]),
            ]))
        }
        other => panic!("unexpected request {other:?}"),
    }
}

fn metadata(port: u16) -> MetadataResponse {
    MetadataResponse::default()
        .with_brokers(scripted::node_0(port))
        .with_topics(vec![
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                .with_partitions(vec![
                    MetadataResponsePartition::default()
                        .with_partition_index(0)
                        .with_leader_id(BrokerId(0))
                        .with_replica_nodes(vec![BrokerId(0)])
                        .with_isr_nodes(vec![BrokerId(0)]),
                ]),
        ])
}

async fn client(bootstrap: String) -> Client {
    Client::connect(ClientConfig {
        request_timeout: Duration::from_secs(10),
        ..ClientConfig::new(&bootstrap)
    })
    .await
    .expect("connect to the scripted broker")
}

#[tokio::test]
async fn retriable_refusals_are_retried_until_the_partition_answers() {
    let refusals = vec![ResponseError::NotLeaderOrFollower; 3];
    let (addr, asked) = scripted_broker(refusals).await;
    let offset = list_offset(&client(addr).await, "t", 0, -1).await;
    assert_eq!(offset.expect("an offset once the leader opened it"), 42);
    assert_eq!(asked.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn other_refusals_fail_at_once() {
    let (addr, asked) = scripted_broker(vec![ResponseError::InvalidRequest]).await;
    let refused = list_offset(&client(addr).await, "t", 0, -1).await;
    assert!(refused.is_err());
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}
