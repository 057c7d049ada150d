//! Under `--authorizer acl` with no ACL and no super user, an anonymous client is refused
//! everything but ApiVersions, at every version of each API, with Kafka's error codes: every
//! refusal encodes (an encoder that refuses a field would close the connection instead), and
//! the refused requests change nothing.

mod common;

use chronik_kafka::SUPPORTED;
use chronik_kafka::kafka_protocol::messages::*;
use chronik_records::build_batch;
use common::BrokerProc;
use common::ops::*;

const TOPIC_DENIED: i16 = 29;
const GROUP_DENIED: i16 = 30;
const CLUSTER_DENIED: i16 = 31;
const TXN_ID_DENIED: i16 = 53;

fn versions(key: ApiKey) -> std::ops::RangeInclusive<i16> {
    let (_, min, max) = SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .expect("served");
    *min..=*max
}

#[test]
fn an_anonymous_client_without_acls_is_refused_at_every_version_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &["--fsync", "never", "--authorizer", "acl"]);
    let mut c = broker.client();

    for v in versions(ApiKey::Produce) {
        let records = build_batch(&[b"v"], 1);
        let r: ProduceResponse = c.call(ApiKey::Produce, v, &produce_request("t", 0, -1, records));
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(p.error_code, TOPIC_DENIED, "Produce v{v}");
    }
    for v in versions(ApiKey::Fetch) {
        let r: FetchResponse = c.call(ApiKey::Fetch, v, &fetch_request("t", 0, 0, 0));
        assert_eq!(
            r.responses[0].partitions[0].error_code, TOPIC_DENIED,
            "Fetch v{v}"
        );
        let follower = fetch_request("t", 0, 0, 0).with_replica_id(BrokerId(2));
        let r: FetchResponse = c.call(ApiKey::Fetch, v, &follower);
        let code = r.responses[0].partitions[0].error_code;
        assert_eq!(code, TOPIC_DENIED, "follower Fetch v{v}");
    }
    for v in versions(ApiKey::Metadata) {
        let r = metadata_at(&mut c, v);
        assert_eq!(r.topics.len(), 1, "Metadata v{v}");
        assert_eq!(r.topics[0].error_code, TOPIC_DENIED, "Metadata v{v}");
    }
    for v in versions(ApiKey::CreateTopics) {
        let req = create_topic_request("t", &[], false);
        let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, v, &req);
        assert_eq!(r.topics[0].error_code, TOPIC_DENIED, "CreateTopics v{v}");
    }
    for v in versions(ApiKey::JoinGroup) {
        let req = JoinGroupRequest::default()
            .with_group_id(GroupId("g".into()))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type("consumer".into());
        let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, v, &req);
        assert_eq!(r.error_code, GROUP_DENIED, "JoinGroup v{v}");
    }
    for v in versions(ApiKey::FindCoordinator) {
        let req = if v < 4 {
            FindCoordinatorRequest::default().with_key("g".into())
        } else {
            FindCoordinatorRequest::default().with_coordinator_keys(vec!["g".into()])
        };
        let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &req);
        let code = r
            .coordinators
            .first()
            .map_or(r.error_code, |c| c.error_code);
        assert_eq!(code, GROUP_DENIED, "FindCoordinator v{v}");
    }
    for v in versions(ApiKey::InitProducerId) {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId("tx".into())))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, v, &req);
        assert_eq!(r.error_code, TXN_ID_DENIED, "InitProducerId v{v}");
        let idempotent = req.with_transactional_id(None);
        let r: InitProducerIdResponse = c.call(ApiKey::InitProducerId, v, &idempotent);
        assert_eq!(
            r.error_code, CLUSTER_DENIED,
            "idempotent InitProducerId v{v}"
        );
    }
    for v in versions(ApiKey::WriteTxnMarkers) {
        let marker = write_txn_markers_request::WritableTxnMarker::default()
            .with_producer_id(ProducerId(1))
            .with_transaction_result(true)
            .with_topics(vec![
                write_txn_markers_request::WritableTxnMarkerTopic::default()
                    .with_name(topic("t"))
                    .with_partition_indexes(vec![0]),
            ]);
        let req = WriteTxnMarkersRequest::default().with_markers(vec![marker]);
        let r: WriteTxnMarkersResponse = c.call(ApiKey::WriteTxnMarkers, v, &req);
        let code = r.markers[0].topics[0].partitions[0].error_code;
        assert_eq!(code, CLUSTER_DENIED, "WriteTxnMarkers v{v}");
    }
    for v in versions(ApiKey::ElectLeaders) {
        let req = ElectLeadersRequest::default().with_topic_partitions(Some(vec![
            elect_leaders_request::TopicPartitions::default()
                .with_topic(topic("t"))
                .with_partitions(vec![0]),
        ]));
        let r: ElectLeadersResponse = c.call(ApiKey::ElectLeaders, v, &req);
        let code = r.replica_election_results[0].partition_result[0].error_code;
        assert_eq!(code, CLUSTER_DENIED, "ElectLeaders v{v}");
    }
    for v in versions(ApiKey::DescribeLogDirs) {
        let r: DescribeLogDirsResponse = c.call(
            ApiKey::DescribeLogDirs,
            v,
            &DescribeLogDirsRequest::default(),
        );
        let code = if v >= 3 { CLUSTER_DENIED } else { 0 };
        assert_eq!(
            (r.error_code, r.results.len()),
            (code, 0),
            "DescribeLogDirs v{v}"
        );
    }
    for v in versions(ApiKey::OffsetFetch) {
        let partitions = vec![0];
        let req = if v < 8 {
            OffsetFetchRequest::default()
                .with_group_id(GroupId("g".into()))
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(topic("t"))
                        .with_partition_indexes(partitions),
                ]))
        } else {
            OffsetFetchRequest::default().with_groups(vec![
                offset_fetch_request::OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId("g".into())),
            ])
        };
        let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, v, &req);
        let code = match r.groups.first() {
            Some(g) => g.error_code,
            None => r.topics[0].partitions[0].error_code,
        };
        assert_eq!(code, GROUP_DENIED, "OffsetFetch v{v}");
    }
    for v in versions(ApiKey::DescribeCluster) {
        let r: DescribeClusterResponse = c.call(
            ApiKey::DescribeCluster,
            v,
            &DescribeClusterRequest::default(),
        );
        assert_eq!(r.error_code, CLUSTER_DENIED, "DescribeCluster v{v}");
    }
    // Nothing was created: no log of topic t exists.
    drop(c);
    let status = broker.terminate();
    assert!(status.success(), "the broker exited with {status}");
    let log = dir.path().join("data").join("partitions").join("t-0");
    assert!(!log.exists(), "a refused request created {}", log.display());
}

fn metadata_at(c: &mut common::Client, v: i16) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic("t"))),
        ]))
        .with_allow_auto_topic_creation(true);
    c.call(ApiKey::Metadata, v, &req)
}
