//! The core Kafka APIs against a real broker process.

mod common;

use std::time::{Duration, Instant};

use chronik_kafka::kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use chronik_records::build_batch;
use common::BrokerProc;
use common::ops::*;
use common::prom;

#[test]
fn api_versions_advertises_exactly_the_served_apis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    let req = ApiVersionsRequest::default()
        .with_client_software_name("test".into())
        .with_client_software_version("1".into());
    let resp: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &req);
    assert_eq!(resp.error_code, 0);
    let mut keys: Vec<i16> = resp.api_keys.iter().map(|k| k.api_key).collect();
    keys.sort_unstable();
    // Every API the protocol layer decodes is served now, so all of them are advertised.
    let mut supported: Vec<i16> = (chronik_kafka::SUPPORTED.iter())
        .map(|(key, _, _)| *key as i16)
        .collect();
    supported.sort_unstable();
    assert_eq!(keys, supported);
}

#[test]
fn topics_produce_fetch_and_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "orders", 2), 0);
    assert_eq!(
        create_topic(&mut c, "orders", 2),
        36,
        "TOPIC_ALREADY_EXISTS"
    );
    let md = metadata(&mut c, Some(&["orders"]), false);
    assert_eq!(md.brokers.len(), 1);
    assert_eq!(md.brokers[0].port, i32::from(broker.addr.port()));
    let t = &md.topics[0];
    assert_eq!((t.error_code, t.partitions.len()), (0, 2));
    assert_eq!(t.partitions[0].leader_id.0, 1);
    let epoch = t.partitions[0].leader_epoch;

    let first = build_batch(&[b"a", b"bb", b"ccc"], 1_000);
    let second = build_batch(&[b"dddd", b"e"], 2_000);
    let p = produce(&mut c, "orders", 0, first.clone());
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let p = produce(&mut c, "orders", 0, second.clone());
    assert_eq!((p.error_code, p.base_offset), (0, 3));

    let f = fetch(&mut c, "orders", 0, 0, 0);
    assert_eq!((f.error_code, f.high_watermark), (0, 5));
    let mut expected = stored(&first, 0, epoch);
    expected.extend(stored(&second, 3, epoch));
    assert_eq!(
        f.records.as_deref(),
        Some(&expected[..]),
        "exact stored bytes"
    );
    chronik_records::validate_batch(&expected[..first.len()]).expect("CRC still valid");

    let f = fetch(&mut c, "orders", 0, 99, 0);
    assert_eq!(f.error_code, 1, "OFFSET_OUT_OF_RANGE");
    let f = fetch(&mut c, "nope", 0, 0, 0);
    assert_eq!(f.error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");

    assert_eq!(list_offset(&mut c, "orders", 0, -2), (0, 0));
    assert_eq!(list_offset(&mut c, "orders", 0, -1), (0, 5));
    assert_eq!(list_offset(&mut c, "orders", 0, 1_500), (0, 3));
    assert_eq!(list_offset(&mut c, "orders", 0, 9_000), (0, -1));
    assert_eq!(list_offset(&mut c, "orders", 1, -1), (0, 0));
    assert_eq!(
        list_offset(&mut c, "orders", 1, -3),
        (0, -1),
        "MAX_TIMESTAMP, empty"
    );
    assert_eq!(
        list_offset(&mut c, "orders", 0, -3),
        (0, 3),
        "MAX_TIMESTAMP"
    );
    // The largest timestamp need not be the last: MAX_TIMESTAMP names its first record.
    for (records, ts) in [(&[&b"x"[..], b"y"][..], 5_000), (&[&b"z"[..]][..], 3_000)] {
        assert_eq!(
            produce(&mut c, "orders", 1, build_batch(records, ts)).error_code,
            0
        );
    }
    assert_eq!(list_offset(&mut c, "orders", 1, -3), (0, 0));

    let bad = produce(&mut c, "orders", 0, vec![0u8; 70]);
    assert_ne!(bad.error_code, 0, "garbage records are rejected");
    assert_eq!(delete_topic(&mut c, "orders"), 0);
    let md = metadata(&mut c, Some(&["orders"]), false);
    assert_eq!(md.topics[0].error_code, 3);
    assert!(
        !dir.path().join("data/partitions/orders-0").exists(),
        "log removed"
    );
}

#[test]
fn fetch_long_poll_is_woken_by_a_produce() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics = format!("127.0.0.1:{}", common::free_port());
    let broker = BrokerProc::start(
        dir.path(),
        &["--fsync", "never", "--metrics-addr", &metrics],
    );
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "poll", 1), 0);
    let started = Instant::now();
    let empty = fetch(&mut c, "poll", 0, 0, 300);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "waited max_wait"
    );
    assert_eq!(empty.records.map(|r| r.len()), Some(0));

    let addr = broker.addr;
    let waiter = std::thread::spawn(move || {
        let mut c = common::Client::connect(addr);
        let started = Instant::now();
        let f = fetch(&mut c, "poll", 0, 0, 20_000);
        (f, started.elapsed())
    });
    // The produce must come while the fetch waits at the broker, not before it arrives.
    let parked = "chronik_broker_fetches_parked{kind=\"consumer\"}";
    prom::scrape_until(&metrics, Duration::from_secs(10), |m| {
        m.samples.get(parked) == Some(&1.0)
    });
    let p = produce(&mut c, "poll", 0, build_batch(&[b"wake"], 1));
    assert_eq!(p.error_code, 0);
    let (f, waited) = waiter.join().expect("fetch thread");
    assert!(f.records.is_some_and(|r| !r.is_empty()), "data arrived");
    assert!(
        waited < Duration::from_secs(10),
        "woken by the append, not the timeout"
    );
}

#[test]
fn auto_creation_follows_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--num-partitions", "3"]);
    let mut c = broker.client();
    let md = metadata(&mut c, Some(&["auto"]), true);
    assert_eq!(
        (md.topics[0].error_code, md.topics[0].partitions.len()),
        (0, 3)
    );
    let p = produce(&mut c, "auto-by-produce", 0, build_batch(&[b"x"], 1));
    assert_eq!(p.error_code, 0);
    drop(broker);

    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--auto-create-topics", "false"]);
    let mut c = broker.client();
    let md = metadata(&mut c, Some(&["auto"]), true);
    assert_eq!(md.topics[0].error_code, 3);
    let p = produce(&mut c, "auto", 0, build_batch(&[b"x"], 1));
    assert_eq!(p.error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
}

#[test]
fn pipelined_requests_are_answered_in_order_and_acks_zero_gets_nothing() {
    use chronik_kafka::kafka_protocol::messages::ProduceResponse;
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "pipe", 1), 0);
    let silent = produce_request("pipe", 0, 0, build_batch(&[b"silent"], 1));
    c.send(ApiKey::Produce, 9, &silent);
    let sent: Vec<i32> = (0..20)
        .map(|i| {
            let req = produce_request("pipe", 0, -1, build_batch(&[format!("{i}").as_bytes()], 1));
            c.send(ApiKey::Produce, 9, &req)
        })
        .collect();
    for (i, correlation) in sent.into_iter().enumerate() {
        let resp: ProduceResponse = c.recv(ApiKey::Produce, 9, correlation);
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, i as i64 + 1));
    }
}

/// One Fetch of partitions 0..3 of `name` from `offsets`, with the response and partition
/// limits given; returns the record bytes of each partition.
fn fetch_sizes(
    c: &mut common::Client,
    name: &str,
    offsets: [i64; 3],
    max_bytes: i32,
    partition_max_bytes: i32,
) -> Vec<usize> {
    use chronik_kafka::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use chronik_kafka::kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};
    let partitions = (0..3)
        .map(|p| {
            FetchPartition::default()
                .with_partition(p)
                .with_fetch_offset(offsets[p as usize])
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(partition_max_bytes)
        })
        .collect();
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_session_epoch(-1)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(topic(name))
                .with_partitions(partitions),
        ]);
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &req);
    (resp.responses[0].partitions.iter())
        .map(|p| {
            assert_eq!(p.error_code, 0);
            p.records.as_ref().map_or(0, |r| r.len())
        })
        .collect()
}

/// KIP-74, as librdkafka's fetch.max.bytes test relies on: only the first batch of the first
/// non-empty partition may exceed the response's or a partition's limit; later partitions
/// get only batches that fit in what is left (librdkafka drops a connection whose response
/// is larger than it allows).
#[test]
fn a_fetch_exceeds_its_limits_by_at_most_one_first_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "large", 3), 0);
    let value = vec![9u8; 900 * 1024];
    let small = b"small".to_vec();
    for partition in 0..3 {
        let p = produce(&mut c, "large", partition, build_batch(&[&value], 1));
        assert_eq!(p.error_code, 0);
        let p = produce(&mut c, "large", partition, build_batch(&[&small], 2));
        assert_eq!(p.error_code, 0);
    }
    let batch = build_batch(&[&value], 1).len();
    let small_batch = build_batch(&[&small], 2).len();

    let sizes = fetch_sizes(&mut c, "large", [0, 0, 0], 1_000_000, 20_000_000);
    assert_eq!(
        sizes,
        vec![batch + small_batch, 0, 0],
        "one large batch fills the 1,000,000-byte response; only the small one fits after it"
    );
    let sizes = fetch_sizes(&mut c, "large", [2, 0, 0], 1_000_000, 20_000_000);
    assert_eq!(
        sizes,
        vec![0, batch + small_batch, 0],
        "the first non-empty partition gets its oversized first batch"
    );
    let sizes = fetch_sizes(&mut c, "large", [0, 0, 0], 50_000_000, 1_000);
    assert_eq!(
        sizes,
        vec![batch, 0, 0],
        "the partition limit binds every partition after the first non-empty one"
    );
    let sizes = fetch_sizes(&mut c, "large", [1, 1, 1], 1_000_000, 20_000_000);
    assert_eq!(sizes, vec![small_batch; 3], "small batches all fit");
}

/// One v2 batch whose records have the given keys (`None`: no key).
fn batch_with_keys(keys: &[Option<&str>]) -> Vec<u8> {
    let records: Vec<_> = (keys.iter())
        .map(|k| (k.map(str::as_bytes), Some(&b"value"[..])))
        .collect();
    let none = chronik_kafka::kafka_protocol::records::Compression::None;
    keyed_batch(&records, 1_000, none)
}

/// A compacted topic refuses records without a key with INVALID_RECORD; from Produce v8 the
/// answer names them (record_errors), so a client fails only those records (librdkafka's
/// 0011 test counts them) and the others with "a different record was invalid".
#[test]
fn a_compacted_topic_names_the_unkeyed_records_it_refuses() {
    use chronik_kafka::kafka_protocol::messages::ProduceResponse;
    const INVALID_RECORD: i16 = 87;
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(
        create_topic_with(&mut c, "keyed", &[("cleanup.policy", "compact")]),
        0
    );
    let records = batch_with_keys(&[Some("a"), None, Some("b"), None]);
    let req = produce_request("keyed", 0, 1, records);
    let v9: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    let answer = &v9.responses[0].partition_responses[0];
    assert_eq!(answer.error_code, INVALID_RECORD);
    let positions: Vec<i32> = answer.record_errors.iter().map(|r| r.batch_index).collect();
    assert_eq!(positions, vec![1, 3], "the unkeyed records, by position");
    assert!(
        answer
            .error_message
            .as_ref()
            .is_some_and(|m| m.contains("key"))
    );
    let v7: ProduceResponse = c.call(ApiKey::Produce, 7, &req);
    let answer = &v7.responses[0].partition_responses[0];
    assert_eq!(answer.error_code, INVALID_RECORD, "v7 has no record errors");
    let keyed = batch_with_keys(&[Some("a"), Some("b")]);
    assert_eq!(produce(&mut c, "keyed", 0, keyed).error_code, 0);
}

/// Metadata v10+ may name a topic by id alone (a KIP-848 consumer resolving its assignment):
/// the topic comes back with its name; an unknown id gets UNKNOWN_TOPIC_ID.
#[test]
fn metadata_answers_topics_asked_by_id() {
    use chronik_kafka::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use chronik_kafka::kafka_protocol::messages::{MetadataRequest, MetadataResponse};
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "by-id", 2), 0);
    let id = metadata(&mut c, Some(&["by-id"]), false).topics[0].topic_id;
    let unknown = uuid::Uuid::from_bytes([7; 16]);
    let req = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(id),
        MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(unknown),
    ]));
    let r: MetadataResponse = c.call(ApiKey::Metadata, 12, &req);
    let found: Vec<(Option<String>, i16, usize)> = (r.topics.iter())
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.0.to_string()),
                t.error_code,
                t.partitions.len(),
            )
        })
        .collect();
    assert_eq!(found, vec![(Some("by-id".into()), 0, 2), (None, 100, 0)]);
    assert_eq!(r.topics[1].topic_id, unknown);
}
