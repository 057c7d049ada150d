//! The `kafka_request` and `record_batches` fuzz targets' entry points on stable: the committed
//! corpus, saved regressions and a fixed-seed pseudo-random pass (see docs/fuzzing.md).

#[path = "../../../fuzz/harness/kafka_request.rs"]
mod kafka_request;
#[path = "../../../fuzz/harness/record_batches.rs"]
mod record_batches;
#[path = "../../../fuzz/harness/replay.rs"]
mod replay;

use bytes::{BufMut, Bytes, BytesMut};
use chronik_kafka::SUPPORTED;
use chronik_kafka::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use chronik_kafka::kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use chronik_kafka::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use chronik_kafka::kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponseTopic,
};
use chronik_kafka::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::{Encodable, StrBytes};
use chronik_records::{BATCH_HEADER_LEN, BatchHeader, build_batch, recompute_crc, set_producer};
use replay::{PSEUDO_RANDOM_INPUTS, check_seed_files, pseudo_random_inputs, replay_saved, run_one};

fn topic(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// A request frame as a client sends it, without the size prefix.
fn frame(key: ApiKey, version: i16, body: RequestKind) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("fuzz-seed")))
        .encode(&mut buf, key.request_header_version(version))
        .expect("header encodes");
    body.encode(&mut buf, version).expect("body encodes");
    buf.to_vec()
}

fn produce(version: i16) -> Vec<u8> {
    let records = Bytes::from(build_batch(&[b"k", b"value"], 1_700_000_000_000));
    let body = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(topic("orders"))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records)),
                ]),
        ]);
    frame(ApiKey::Produce, version, RequestKind::Produce(body))
}

fn metadata(version: i16) -> Vec<u8> {
    let body = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(topic("orders"))),
        MetadataRequestTopic::default().with_name(Some(topic("payments"))),
    ]));
    frame(ApiKey::Metadata, version, RequestKind::Metadata(body))
}

fn fetch(version: i16) -> Vec<u8> {
    let body = FetchRequest::default()
        .with_max_wait_ms(500)
        .with_max_bytes(1 << 20)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(topic("orders"))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(42)
                        .with_partition_max_bytes(65_536),
                ]),
        ]);
    frame(ApiKey::Fetch, version, RequestKind::Fetch(body))
}

/// A consumer's subscription, the way group members embed it (version prefix, then body).
fn subscription() -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    ConsumerProtocolSubscription::default()
        .with_topics(vec![StrBytes::from_static_str("orders")])
        .encode(&mut buf, 0)
        .expect("subscription encodes");
    buf.freeze()
}

fn join_group(version: i16) -> Vec<u8> {
    let body = JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("group")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(30_000)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(subscription()),
        ]);
    frame(ApiKey::JoinGroup, version, RequestKind::JoinGroup(body))
}

/// A response body input: byte 0 picks `key`'s response type, byte 1 the version.
fn metadata_response(version: i16) -> Vec<u8> {
    let pick = SUPPORTED.iter().position(|(k, ..)| *k == ApiKey::Metadata);
    let (_, min, _) = SUPPORTED[pick.expect("Metadata is supported")];
    let mut input = vec![pick.unwrap() as u8, (version - min) as u8];
    let body = MetadataResponse::default()
        .with_brokers(vec![
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("localhost"))
                .with_port(9092),
        ])
        .with_topics(vec![
            MetadataResponseTopic::default().with_name(Some(topic("orders"))),
        ]);
    let mut buf = BytesMut::new();
    body.encode(&mut buf, version).expect("response encodes");
    input.extend_from_slice(&buf);
    input
}

/// The committed `kafka_request` seeds: requests of the hot APIs at old and flexible versions.
fn request_seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("produce-v3", produce(3)),
        ("produce-v9", produce(9)),
        ("metadata-v12", metadata(12)),
        ("fetch-v12", fetch(12)),
        ("join-group-v5", join_group(5)),
        ("metadata-response-v1", metadata_response(1)),
    ]
}

/// More valid inputs to mutate: an empty body of every supported API at both ends of its range.
fn request_bases() -> Vec<Vec<u8>> {
    let mut bases: Vec<Vec<u8>> = request_seeds().into_iter().map(|(_, b)| b).collect();
    bases.extend([metadata(0), fetch(4), join_group(9), metadata_response(12)]);
    for &(key, min, max) in SUPPORTED {
        for version in [min, max] {
            bases.push(frame(
                key,
                version,
                chronik_kafka::default_request(key).expect("a supported API"),
            ));
        }
    }
    bases
}

/// The committed `record_batches` seeds.
fn batch_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let one = build_batch(&[b"a", b"bb", b"ccc"], 1_700_000_000_000);
    let mut two = build_batch(&[b"first"], 1_000);
    two.extend(build_batch(&[b"second", b"third"], 2_000));
    let mut idempotent = build_batch(&[b"x".as_slice(); 5], 5_000);
    set_producer(&mut idempotent, 4242, 3, 17);
    vec![
        ("one-batch", one),
        ("two-batches", two),
        ("idempotent", idempotent),
    ]
}

#[test]
fn seed_corpus_matches_the_helpers() {
    let requests = request_seeds();
    check_seed_files("kafka_request", &requests);
    for (name, input) in &requests {
        let outcome = kafka_request::run(input);
        let decoded = outcome.requests_decoded + outcome.bodies_decoded;
        assert!(decoded > 0, "{name} is a valid input: {outcome:?}");
    }
    let batches = batch_seeds();
    check_seed_files("record_batches", &batches);
    for (name, input) in &batches {
        assert!(record_batches::run(input).accepted, "{name}");
    }
}

#[test]
fn kafka_request_corpus_and_regressions_replay() {
    replay_saved("kafka_request", kafka_request::run);
}

#[test]
fn record_batches_corpus_and_regressions_replay() {
    replay_saved("record_batches", record_batches::run);
}

#[test]
fn kafka_request_survives_pseudo_random_input() {
    let mut total = kafka_request::Outcome::default();
    for input in pseudo_random_inputs(&request_bases(), PSEUDO_RANDOM_INPUTS, 1) {
        let outcome = run_one("kafka_request", &input, kafka_request::run);
        total.requests_decoded += outcome.requests_decoded;
        total.requests_rejected += outcome.requests_rejected;
        total.bodies_decoded += outcome.bodies_decoded;
        total.bodies_rejected += outcome.bodies_rejected;
    }
    // The pass means something only if it reached both sides of every decoder.
    assert!(
        total.requests_decoded > 100 && total.requests_rejected > 100,
        "{total:?}"
    );
    assert!(
        total.bodies_decoded > 10 && total.bodies_rejected > 100,
        "{total:?}"
    );
}

#[test]
fn record_batches_survive_pseudo_random_input() {
    let bases: Vec<Vec<u8>> = batch_seeds().into_iter().map(|(_, b)| b).collect();
    let (mut accepted, mut rejected, mut single) = (0, 0, 0);
    let inputs = pseudo_random_inputs(&bases, PSEUDO_RANDOM_INPUTS, 2);
    for (i, mut input) in inputs.into_iter().enumerate() {
        // A mutated batch almost never keeps a matching CRC-32C, which hides every later
        // check; every other input gets its first batch's CRC recomputed.
        if i % 2 == 0
            && let Ok(header) = BatchHeader::parse(&input)
        {
            let end = header.total_len().clamp(BATCH_HEADER_LEN, input.len());
            recompute_crc(&mut input[..end]);
        }
        let outcome = run_one("record_batches", &input, record_batches::run);
        if outcome.accepted {
            accepted += 1;
        } else {
            rejected += 1;
        }
        single += usize::from(outcome.batch_valid);
    }
    assert!(
        accepted > 10 && rejected > 1000 && single > 10,
        "{accepted} / {rejected} / {single}"
    );
}
