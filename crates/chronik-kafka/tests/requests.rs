//! Request decoding: round trips, version checks, hostile and truncated input.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use chronik_kafka::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use chronik_kafka::kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, FetchRequest, MetadataRequest, OffsetForLeaderEpochRequest, RequestKind, TopicName,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_kafka::{ProtocolError, SUPPORTED, decode_request};
use common::{default_body, header_bytes, request_frame};
use proptest::prelude::*;

#[test]
fn every_supported_api_round_trips_at_min_and_max_versions() {
    for &(key, min, max) in SUPPORTED {
        for version in [min, max] {
            let body = default_body(key);
            let frame = request_frame(key, version, 4242, &body);
            let decoded =
                decode_request(frame).unwrap_or_else(|e| panic!("{key:?} v{version}: {e}"));
            assert_eq!(decoded.api_key, key);
            assert_eq!(decoded.api_version, version);
            assert_eq!(decoded.correlation_id, 4242);
            assert_eq!(decoded.client_id.as_deref(), Some("chronik-test"));
            assert_eq!(decoded.request, body, "{key:?} v{version}");
        }
    }
}

#[test]
fn flexible_versions_use_header_two_and_others_header_one() {
    // Metadata v9 is the first flexible version; ApiVersions v3 likewise uses header v2.
    assert_eq!(ApiKey::Metadata.request_header_version(8), 1);
    assert_eq!(ApiKey::Metadata.request_header_version(9), 2);
    assert_eq!(ApiKey::ApiVersions.request_header_version(3), 2);
    // A header v2 frame decoded as v1 would misplace the body: prove both decode here.
    for version in [8, 9] {
        let body = RequestKind::Metadata(metadata_with_topics(3));
        let decoded = decode_request(request_frame(ApiKey::Metadata, version, 1, &body)).unwrap();
        assert_eq!(decoded.request, body, "v{version}");
    }
}

#[test]
fn unknown_api_keys_are_reported_with_the_correlation_id() {
    for key in [
        999i16,
        -1,
        ApiKey::DescribeDelegationToken as i16,
        ApiKey::RenewDelegationToken as i16,
    ] {
        let mut buf = BytesMut::new();
        buf.put_i16(key);
        buf.put_i16(0);
        buf.put_i32(77);
        buf.put_i16(-1);
        let err = decode_request(buf.freeze()).unwrap_err();
        assert_eq!(
            err,
            ProtocolError::UnsupportedApiKey {
                api_key: key,
                correlation_id: 77
            }
        );
        assert_eq!(err.correlation_id(), Some(77));
        assert_eq!(err.error_code().code(), 35);
    }
}

#[test]
fn versions_outside_the_table_are_reported_with_the_correlation_id() {
    let cases = [
        (ApiKey::Produce, 2),
        (ApiKey::Fetch, 13),
        (ApiKey::ApiVersions, 4),
    ];
    for (key, version) in cases {
        let mut buf = BytesMut::new();
        header_bytes(&mut buf, key as i16, version, 9001);
        let err = decode_request(buf.freeze()).unwrap_err();
        match &err {
            ProtocolError::UnsupportedVersion {
                api_key,
                api_version,
                correlation_id,
                ..
            } => {
                assert_eq!(
                    (*api_key, *api_version, *correlation_id),
                    (key, version, 9001)
                );
            }
            other => panic!("{key:?} v{version}: unexpected {other}"),
        }
        assert_eq!(err.error_code().code(), 35);
    }
}

#[test]
fn truncated_requests_fail_at_every_length_without_panicking() {
    let bodies = [
        (
            ApiKey::Metadata,
            1,
            RequestKind::Metadata(metadata_with_topics(2)),
        ),
        (
            ApiKey::Metadata,
            12,
            RequestKind::Metadata(metadata_with_topics(2)),
        ),
        (ApiKey::Fetch, 12, RequestKind::Fetch(busy_fetch())),
    ];
    for (key, version, body) in bodies {
        let frame = request_frame(key, version, 5, &body);
        for cut in 0..frame.len() {
            assert!(
                decode_request(frame.slice(..cut)).is_err(),
                "{key:?} v{version} cut {cut}"
            );
        }
    }
    for &(key, min, max) in SUPPORTED {
        for version in [min, max] {
            let frame = request_frame(key, version, 5, &default_body(key));
            for cut in 0..frame.len() {
                let _ = decode_request(frame.slice(..cut));
            }
        }
    }
}

#[test]
fn an_array_count_beyond_the_frame_is_rejected_before_allocation() {
    // Metadata v1: topics is an i32-counted array. 2^31 - 1 topics would ask for >100 GiB.
    let mut buf = BytesMut::new();
    header_bytes(&mut buf, ApiKey::Metadata as i16, 1, 3);
    buf.put_i32(i32::MAX);
    assert_malformed(decode_request(buf.freeze()));

    // Metadata v12: topics is a varint-counted compact array (u32::MAX - 1 elements).
    let mut buf = BytesMut::new();
    header_bytes(&mut buf, ApiKey::Metadata as i16, 12, 3);
    buf.put_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
    assert_malformed(decode_request(buf.freeze()));

    // The same inside a nested array: Fetch v4, one topic announcing 2^30 partitions.
    let mut buf = BytesMut::new();
    header_bytes(&mut buf, ApiKey::Fetch as i16, 4, 3);
    buf.put_i32(-1); // replica id
    buf.put_i32(500); // max wait: a plain field above the bytes left, must not be mistaken
    buf.put_i32(1); // min bytes
    buf.put_i32(52_428_800); // max bytes
    buf.put_i8(0); // isolation level
    buf.put_i32(1); // one topic
    buf.put_i16(1);
    buf.put_u8(b't');
    buf.put_i32(1 << 30);
    assert_malformed(decode_request(buf.freeze()));
}

/// OffsetForLeaderEpoch v4 for one partition, its topic carrying an unknown tagged field.
fn offsets_for_epoch_with_tag(tag: i32) -> RequestKind {
    let topic = OffsetForLeaderTopic::default()
        .with_topic(TopicName(StrBytes::from_static_str("t")))
        .with_partitions(vec![OffsetForLeaderPartition::default()])
        .with_unknown_tagged_field(tag, Bytes::from_static(&[1]));
    RequestKind::OffsetForLeaderEpoch(
        OffsetForLeaderEpochRequest::default().with_topics(vec![topic]),
    )
}

#[test]
fn tag_numbers_above_the_bytes_left_decode_whatever_follows_the_request() {
    // KIP-482 tags are 31-bit numbers, unrelated to the message's size: whether tag 169 (or
    // 2^31 - 1) decodes must not depend on bytes after the request.
    for tag in [169, 1 << 20, i32::MAX] {
        let body = offsets_for_epoch_with_tag(tag);
        let frame = request_frame(ApiKey::OffsetForLeaderEpoch, 4, 3, &body);
        let mut padded = BytesMut::from(&frame[..]);
        padded.put_bytes(0xF2, 300);
        for input in [frame, padded.freeze()] {
            let decoded = decode_request(input).unwrap_or_else(|e| panic!("tag {tag}: {e}"));
            assert_eq!(decoded.request, body, "tag {tag}");
        }
    }
}

#[test]
fn tag_numbers_beyond_31_bits_are_rejected() {
    // kafka-protocol would keep tag 2^31 as key -2^31 and re-encode a message that announces
    // the field without writing it.
    let frame = request_frame(
        ApiKey::OffsetForLeaderEpoch,
        4,
        3,
        &offsets_for_epoch_with_tag(1),
    );
    let mut bytes = frame.to_vec();
    let at = bytes.len() - 5; // the topic's tags: count 1, tag 1, size 1, 0x01; then the request's 0
    assert_eq!(&bytes[at..], &[1, 1, 1, 1, 0]);
    bytes.splice(at + 1..at + 2, [0x80, 0x80, 0x80, 0x80, 0x08]);
    let err = decode_request(Bytes::from(bytes)).unwrap_err();
    assert!(err.to_string().contains("not a 31-bit tag"), "{err}");
    assert_eq!(err.correlation_id(), Some(3));
}

#[test]
fn counts_followed_by_what_a_tagged_field_looks_like_are_still_rejected() {
    // OffsetForLeaderEpoch v4: replica id, then 2^32 - 2 topics, the first named "ab": a varint
    // and bytes, as an unknown tagged field would be, but one byte fewer than the varint says.
    let mut buf = BytesMut::new();
    header_bytes(&mut buf, ApiKey::OffsetForLeaderEpoch as i16, 4, 3);
    buf.put_i32(-1);
    buf.put_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
    buf.put_slice(&[3, b'a', b'b', 1, 0]);
    assert_malformed(decode_request(buf.freeze()));
}

fn assert_malformed(result: chronik_kafka::Result<chronik_kafka::DecodedRequest>) {
    match result {
        Err(e @ ProtocolError::MalformedRequest { .. }) => assert_eq!(e.correlation_id(), Some(3)),
        other => panic!("expected a malformed-request error, got {other:?}"),
    }
}

#[test]
fn plain_fields_larger_than_the_frame_still_decode() {
    // max_wait_ms, max_bytes and the session epoch exceed the few bytes of this request.
    for version in [4, 12] {
        let body = RequestKind::Fetch(busy_fetch());
        let decoded = decode_request(request_frame(ApiKey::Fetch, version, 8, &body)).unwrap();
        assert_eq!(decoded.request, body, "v{version}");
    }
}

#[test]
fn compact_arrays_of_more_than_127_elements_decode() {
    let body = RequestKind::Metadata(metadata_with_topics(300));
    for version in [1, 12] {
        let decoded = decode_request(request_frame(ApiKey::Metadata, version, 8, &body)).unwrap();
        assert_eq!(decoded.request, body, "v{version}");
    }
}

fn metadata_with_topics(n: usize) -> MetadataRequest {
    let topics = (0..n)
        .map(|i| {
            MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(format!("topic-{i}")))))
        })
        .collect();
    MetadataRequest::default().with_topics(Some(topics))
}

fn busy_fetch() -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(52_428_800)
        .with_session_epoch(-1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_request(Bytes::from(bytes));
    }

    #[test]
    fn random_bodies_behind_a_valid_header_never_panic(
        index in 0..SUPPORTED.len(),
        pick_max in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let (key, min, max) = SUPPORTED[index];
        let version = if pick_max { max } else { min };
        let mut buf = BytesMut::new();
        header_bytes(&mut buf, key as i16, version, 1);
        buf.put_slice(&body);
        let _ = decode_request(buf.freeze());
    }
}
