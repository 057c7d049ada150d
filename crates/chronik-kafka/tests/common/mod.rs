//! Helpers shared by the integration tests: framing requests the way a client would.

#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use chronik_kafka::kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use chronik_kafka::kafka_protocol::protocol::{Encodable, StrBytes};

/// A default (empty) body for every supported API.
pub fn default_body(key: ApiKey) -> RequestKind {
    chronik_kafka::default_request(key).expect("a supported API")
}

/// Encodes a request header (right header version) followed by `body`, without size prefix.
pub fn request_frame(key: ApiKey, version: i16, correlation_id: i32, body: &RequestKind) -> Bytes {
    let mut buf = BytesMut::new();
    header_bytes(&mut buf, key as i16, version, correlation_id);
    body.encode(&mut buf, version).unwrap();
    buf.freeze()
}

/// Encodes just a request header for an arbitrary key and version.
pub fn header_bytes(buf: &mut BytesMut, key: i16, version: i16, correlation_id: i32) {
    let header_version = ApiKey::try_from(key)
        .map(|k| k.request_header_version(version))
        .unwrap_or(1);
    RequestHeader::default()
        .with_request_api_key(key)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("chronik-test")))
        .encode(buf, header_version)
        .unwrap();
}
