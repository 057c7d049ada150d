//! Every advertised version of every served API gets a response (an encoder that refuses a
//! field for an old version would close the connection instead).

mod common;

use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::Decodable;
use chronik_wal::batch::build_batch;
use common::BrokerProc;
use common::ops::*;

fn answer<Resp: Decodable>(c: &mut common::Client, key: ApiKey, v: i16, correlation: i32) -> Resp {
    c.recv(key, v, correlation)
}

#[test]
fn every_advertised_version_is_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "v", 1), 0);
    for &(key, min, max) in chronik_kafka::SUPPORTED {
        if !chronik_broker::IMPLEMENTED.contains(&key) {
            continue;
        }
        for v in min..=max {
            match key {
                ApiKey::ApiVersions => {
                    let id = c.send(key, v, &ApiVersionsRequest::default());
                    let r: ApiVersionsResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.error_code, 0, "ApiVersions v{v}");
                }
                ApiKey::Metadata => {
                    let req = MetadataRequest::default().with_topics(Some(Vec::new()));
                    let id = c.send(key, v, &req);
                    let r: MetadataResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.brokers.len(), 1, "Metadata v{v}");
                }
                ApiKey::Produce => {
                    let req = produce_request("v", 0, 1, build_batch(&[b"x"], 1));
                    let id = c.send(key, v, &req);
                    let r: ProduceResponse = answer(&mut c, key, v, id);
                    assert_eq!(
                        r.responses[0].partition_responses[0].error_code, 0,
                        "Produce v{v}"
                    );
                }
                ApiKey::Fetch => {
                    let id = c.send(key, v, &fetch_request("v", 0, 0, 0));
                    let r: FetchResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.responses[0].partitions[0].error_code, 0, "Fetch v{v}");
                }
                ApiKey::ListOffsets => {
                    let (code, offset) = list_offset_at(&mut c, v);
                    assert_eq!(code, 0, "ListOffsets v{v}");
                    assert!(offset > 0);
                }
                ApiKey::CreateTopics => {
                    let req = CreateTopicsRequest::default().with_topics(vec![
                        create_topics_request::CreatableTopic::default()
                            .with_name(topic(&format!("c{v}")))
                            .with_num_partitions(1)
                            .with_replication_factor(1),
                    ]);
                    let id = c.send(key, v, &req);
                    let r: CreateTopicsResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.topics[0].error_code, 0, "CreateTopics v{v}");
                }
                ApiKey::DeleteTopics => {
                    assert_eq!(create_topic(&mut c, &format!("d{v}"), 1), 0);
                    let name = topic(&format!("d{v}"));
                    let req = if v >= 6 {
                        DeleteTopicsRequest::default().with_topics(vec![
                            delete_topics_request::DeleteTopicState::default()
                                .with_name(Some(name)),
                        ])
                    } else {
                        DeleteTopicsRequest::default().with_topic_names(vec![name])
                    };
                    let id = c.send(key, v, &req);
                    let r: DeleteTopicsResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.responses[0].error_code, 0, "DeleteTopics v{v}");
                }
                other => panic!("{other:?} is served but not covered here"),
            }
        }
    }
}

fn list_offset_at(c: &mut common::Client, v: i16) -> (i16, i64) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic("v"))
                .with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-1),
                ]),
        ]);
    let id = c.send(ApiKey::ListOffsets, v, &req);
    let r: ListOffsetsResponse = c.recv(ApiKey::ListOffsets, v, id);
    (
        r.topics[0].partitions[0].error_code,
        r.topics[0].partitions[0].offset,
    )
}
