//! Every served version of every API gets a response (an encoder that refuses a field for an
//! old version would close the connection instead). Produce is served from v3, although
//! ApiVersions lists it from v0 for librdkafka's compression check.

mod admin_support;
mod common;
mod ops_support;
mod txn_support;

use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::Decodable;
use chronik_records::build_batch;
use common::BrokerProc;
use common::ops::*;

/// What a listener without SASL answers SaslHandshake and SaslAuthenticate with.
const ILLEGAL_SASL_STATE: i16 = 34;

fn answer<Resp: Decodable>(c: &mut common::Client, key: ApiKey, v: i16, correlation: i32) -> Resp {
    c.recv(key, v, correlation)
}

#[test]
fn every_advertised_version_is_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "v", 1), 0);
    let mut producer = txn_support::producer(&mut c);
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
                ApiKey::DeleteRecords => {
                    let name = format!("r{v}");
                    assert_eq!(create_topic(&mut c, &name, 1), 0);
                    let req = DeleteRecordsRequest::default()
                        .with_timeout_ms(10_000)
                        .with_topics(vec![
                            delete_records_request::DeleteRecordsTopic::default()
                                .with_name(topic(&name))
                                .with_partitions(vec![
                                    delete_records_request::DeleteRecordsPartition::default()
                                        .with_partition_index(0)
                                        .with_offset(-1),
                                ]),
                        ]);
                    let id = c.send(key, v, &req);
                    let r: DeleteRecordsResponse = answer(&mut c, key, v, id);
                    let p = &r.topics[0].partitions[0];
                    assert_eq!(
                        (p.error_code, p.low_watermark),
                        (0, 0),
                        "DeleteRecords v{v}"
                    );
                }
                ApiKey::InitProducerId => {
                    let req = InitProducerIdRequest::default()
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1);
                    let id = c.send(key, v, &req);
                    let r: InitProducerIdResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.error_code, 0, "InitProducerId v{v}");
                    assert!(r.producer_id.0 >= 0, "InitProducerId v{v}");
                }
                ApiKey::SaslHandshake => {
                    let req = SaslHandshakeRequest::default().with_mechanism("PLAIN".into());
                    let id = c.send(key, v, &req);
                    let r: SaslHandshakeResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.error_code, ILLEGAL_SASL_STATE, "SaslHandshake v{v}");
                }
                ApiKey::SaslAuthenticate => {
                    let id = c.send(key, v, &SaslAuthenticateRequest::default());
                    let r: SaslAuthenticateResponse = answer(&mut c, key, v, id);
                    assert_eq!(r.error_code, ILLEGAL_SASL_STATE, "SaslAuthenticate v{v}");
                }
                key if group_api(key) => group_api_at(&mut c, key, v),
                key if admin_support::admin_api(key) => admin_support::admin_api_at(&mut c, key, v),
                key if ops_support::ops_api(key) => ops_support::ops_api_at(&mut c, key, v),
                key if txn_support::txn_api(key) => {
                    producer = txn_support::txn_api_at(&mut c, key, v, producer)
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

fn group_api(key: ApiKey) -> bool {
    use ApiKey::*;
    matches!(
        key,
        FindCoordinator
            | JoinGroup
            | SyncGroup
            | Heartbeat
            | LeaveGroup
            | OffsetCommit
            | OffsetFetch
            | DescribeGroups
            | ListGroups
            | DeleteGroups
            | ConsumerGroupHeartbeat
            | ConsumerGroupDescribe
    )
}

/// Sends `req` until the coordinator has loaded; returns the error code `code` reads.
fn group_call<Req, Resp>(
    c: &mut common::Client,
    key: ApiKey,
    v: i16,
    req: &Req,
    code: impl Fn(&Resp) -> i16,
) -> i16
where
    Req: chronik_kafka::kafka_protocol::protocol::Encodable,
    Resp: Decodable,
{
    const LOADING: [i16; 2] = [14, 15];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let id = c.send(key, v, req);
        let r: Resp = answer(c, key, v, id);
        let got = code(&r);
        if !LOADING.contains(&got) || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// One request of a group API at version `v`, and the error code it must get.
fn group_api_at(c: &mut common::Client, key: ApiKey, v: i16) {
    use chronik_kafka::kafka_protocol::protocol::StrBytes;
    let s = |t: &str| StrBytes::from_string(t.to_owned());
    let group = |t: &str| GroupId(s(t));
    let (code, want) = match key {
        ApiKey::FindCoordinator if v >= 4 => {
            let req = FindCoordinatorRequest::default().with_coordinator_keys(vec![s("vg")]);
            let code = group_call(c, key, v, &req, |r: &FindCoordinatorResponse| {
                r.coordinators[0].error_code
            });
            (code, 0)
        }
        ApiKey::FindCoordinator => {
            let req = FindCoordinatorRequest::default().with_key(s("vg"));
            (
                group_call(c, key, v, &req, |r: &FindCoordinatorResponse| r.error_code),
                0,
            )
        }
        ApiKey::JoinGroup => {
            let req = JoinGroupRequest::default()
                .with_group_id(group(&format!("vg-{v}")))
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(if v >= 1 { 10_000 } else { -1 })
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![
                    join_group_request::JoinGroupRequestProtocol::default().with_name(s("range")),
                ]);
            let code = group_call(c, key, v, &req, |r: &JoinGroupResponse| r.error_code);
            (code, if v >= 4 { 79 } else { 0 })
        }
        ApiKey::SyncGroup => {
            let req = SyncGroupRequest::default()
                .with_group_id(group("vc"))
                .with_generation_id(1)
                .with_member_id(s("m"));
            (
                group_call(c, key, v, &req, |r: &SyncGroupResponse| r.error_code),
                25,
            )
        }
        ApiKey::Heartbeat => {
            let req = HeartbeatRequest::default()
                .with_group_id(group("vc"))
                .with_generation_id(1)
                .with_member_id(s("m"));
            (
                group_call(c, key, v, &req, |r: &HeartbeatResponse| r.error_code),
                25,
            )
        }
        ApiKey::LeaveGroup if v >= 3 => {
            let member = leave_group_request::MemberIdentity::default().with_member_id(s("m"));
            let req = LeaveGroupRequest::default()
                .with_group_id(group("vc"))
                .with_members(vec![member]);
            let code = group_call(c, key, v, &req, |r: &LeaveGroupResponse| {
                r.members.first().map_or(r.error_code, |m| m.error_code)
            });
            (code, 25)
        }
        ApiKey::LeaveGroup => {
            let req = LeaveGroupRequest::default()
                .with_group_id(group("vc"))
                .with_member_id(s("m"));
            (
                group_call(c, key, v, &req, |r: &LeaveGroupResponse| r.error_code),
                25,
            )
        }
        ApiKey::OffsetCommit => {
            let part = offset_commit_request::OffsetCommitRequestPartition::default()
                .with_committed_offset(1);
            let req = OffsetCommitRequest::default()
                .with_group_id(group("vc"))
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic("v"))
                        .with_partitions(vec![part]),
                ]);
            let code = group_call(c, key, v, &req, |r: &OffsetCommitResponse| {
                r.topics[0].partitions[0].error_code
            });
            (code, 0)
        }
        ApiKey::OffsetFetch if v >= 8 => {
            let g = offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(group("vc"))
                .with_topics(None);
            let req = OffsetFetchRequest::default().with_groups(vec![g]);
            let code = group_call(c, key, v, &req, |r: &OffsetFetchResponse| {
                r.groups[0].error_code
            });
            (code, 0)
        }
        ApiKey::OffsetFetch => {
            let t = offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(topic("v"))
                .with_partition_indexes(vec![0]);
            let req = OffsetFetchRequest::default()
                .with_group_id(group("vc"))
                .with_topics(Some(vec![t]));
            let code = group_call(c, key, v, &req, |r: &OffsetFetchResponse| {
                r.error_code.max(r.topics[0].partitions[0].error_code)
            });
            (code, 0)
        }
        ApiKey::DescribeGroups => {
            let req = DescribeGroupsRequest::default().with_groups(vec![group("vc")]);
            let code = group_call(c, key, v, &req, |r: &DescribeGroupsResponse| {
                r.groups[0].error_code
            });
            (code, 0)
        }
        ApiKey::ListGroups => {
            let req = ListGroupsRequest::default();
            (
                group_call(c, key, v, &req, |r: &ListGroupsResponse| r.error_code),
                0,
            )
        }
        ApiKey::DeleteGroups => {
            let req = DeleteGroupsRequest::default().with_groups_names(vec![group("absent")]);
            let code = group_call(c, key, v, &req, |r: &DeleteGroupsResponse| {
                r.results[0].error_code
            });
            (code, 69)
        }
        ApiKey::ConsumerGroupHeartbeat => {
            let subscribed = Some(vec![topic("v")]);
            let req = ConsumerGroupHeartbeatRequest::default()
                .with_group_id(group(&format!("vk-{v}")))
                .with_member_id(s(&format!("member-{v}")))
                .with_rebalance_timeout_ms(10_000)
                .with_subscribed_topic_names(subscribed)
                .with_topic_partitions(Some(Vec::new()));
            let code = group_call(c, key, v, &req, |r: &ConsumerGroupHeartbeatResponse| {
                assert!(
                    r.assignment.is_some(),
                    "a joining member gets its assignment"
                );
                r.error_code
            });
            (code, 0)
        }
        ApiKey::ConsumerGroupDescribe => {
            let req = ConsumerGroupDescribeRequest::default()
                .with_group_ids(vec![group("vk-0"), group("vc")]);
            let code = group_call(c, key, v, &req, |r: &ConsumerGroupDescribeResponse| {
                let codes: Vec<i16> = r.groups.iter().map(|g| g.error_code).collect();
                // vk-0 joined above; vc is no consumer-protocol group.
                match codes.as_slice() {
                    [0, 69] => 0,
                    [first, ..] if *first != 0 => *first,
                    _ => -1,
                }
            });
            (code, 0)
        }
        other => panic!("{other:?} is not a group API"),
    };
    assert_eq!(code, want, "{key:?} v{v}");
}
