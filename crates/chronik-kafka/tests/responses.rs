//! Response encoding: frames, header versions, the ApiVersions special cases.

use bytes::{Buf, Bytes};
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, MetadataResponse, ResponseHeader, ResponseKind,
};
use chronik_kafka::kafka_protocol::protocol::Decodable;
use chronik_kafka::{
    SUPPORTED, api_versions_response, encode_response, unsupported_api_versions_response,
};

/// Strips and checks the size prefix, returning the rest.
fn unframe(frame: Bytes) -> Bytes {
    let mut rest = frame;
    let len = rest.get_i32();
    assert_eq!(len as usize, rest.len(), "size prefix matches the body");
    rest
}

#[test]
fn every_supported_response_round_trips_at_min_and_max_versions() {
    for &(key, min, max) in SUPPORTED {
        for version in [min, max] {
            let body = chronik_kafka::default_response(key).expect("a supported API");
            let frame = encode_response(key, version, 31337, body.clone())
                .unwrap_or_else(|e| panic!("{key:?} v{version}: {e}"));
            let mut rest = unframe(frame);
            let header_version = key.response_header_version(version);
            let header = ResponseHeader::decode(&mut rest, header_version).unwrap();
            assert_eq!(header.correlation_id, 31337);
            let decoded = ResponseKind::decode(key, &mut rest, version).unwrap();
            assert_eq!(decoded, body, "{key:?} v{version}");
            assert!(rest.is_empty(), "{key:?} v{version}: trailing bytes");
        }
    }
}

#[test]
fn api_versions_responses_always_use_header_zero() {
    let resp = api_versions_response(&[ApiKey::ApiVersions]);
    let body = ResponseKind::ApiVersions(resp.clone());
    let mut rest = unframe(encode_response(ApiKey::ApiVersions, 3, 7, body).unwrap());
    assert_eq!(rest.get_i32(), 7);
    // Header v0 has no tagged-field byte: the v3 body starts right after the correlation id.
    assert_eq!(ApiVersionsResponse::decode(&mut rest, 3).unwrap(), resp);
    assert!(rest.is_empty());
}

#[test]
fn flexible_responses_use_header_one() {
    let body = ResponseKind::Metadata(MetadataResponse::default());
    let mut flexible = unframe(encode_response(ApiKey::Metadata, 12, 7, body.clone()).unwrap());
    assert_eq!(flexible.get_i32(), 7);
    assert_eq!(flexible.get_u8(), 0, "empty tagged fields of header v1");
    let mut legacy = unframe(encode_response(ApiKey::Metadata, 8, 7, body).unwrap());
    assert_eq!(legacy.get_i32(), 7);
    assert_eq!(
        MetadataResponse::decode(&mut legacy, 8).unwrap(),
        MetadataResponse::default()
    );
}

#[test]
fn unsupported_api_versions_answer_is_a_v0_body_with_error_35() {
    let mut rest = unframe(unsupported_api_versions_response(99).unwrap());
    assert_eq!(rest.get_i32(), 99);
    let body = ApiVersionsResponse::decode(&mut rest, 0).unwrap();
    assert!(rest.is_empty());
    assert_eq!(body.error_code, 35);
    assert_eq!(body.api_keys.len(), 1);
    let entry = &body.api_keys[0];
    assert_eq!(
        (entry.api_key, entry.min_version, entry.max_version),
        (18, 0, 3)
    );
}

#[test]
fn api_versions_lists_exactly_the_implemented_apis() {
    let implemented: Vec<ApiKey> = SUPPORTED.iter().map(|(k, _, _)| *k).step_by(2).collect();
    let resp = api_versions_response(&implemented);
    let listed: Vec<i16> = resp.api_keys.iter().map(|v| v.api_key).collect();
    let expected: Vec<i16> = implemented.iter().map(|k| *k as i16).collect();
    assert_eq!(listed, expected);
    // Nothing but the api list is set, so old clients (kcat 2.0.2) see no tagged fields.
    let frame = encode_response(ApiKey::ApiVersions, 3, 1, ResponseKind::ApiVersions(resp));
    let mut rest = unframe(frame.unwrap());
    rest.advance(4);
    let decoded = ApiVersionsResponse::decode(&mut rest, 3).unwrap();
    assert!(decoded.unknown_tagged_fields.is_empty());
    assert_eq!(decoded.finalized_features_epoch, -1);
}
