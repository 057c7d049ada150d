//! Encoding responses into length-prefixed frames with the header version Kafka uses for that
//! api key and version (ApiVersions answers always carry header v0 so that a client that does
//! not yet know the broker's versions can read them).

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::frame::{FRAME_PREFIX_LEN, write_prefix};
use crate::versions::supported_range;
use crate::{ProtocolError, Result};

/// Encodes `body` as the answer to a request with this key, version and correlation id.
///
/// Returns the whole frame, size prefix included, ready to write to the socket. The caller must
/// pass the body variant that belongs to `api_key`; kafka-protocol encodes whatever it is given.
pub fn encode_response(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: ResponseKind,
) -> Result<Bytes> {
    let encode_err = |e: String| ProtocolError::Encode {
        api_key,
        api_version,
        reason: e,
    };
    let mut frame = BytesMut::with_capacity(64);
    frame.resize(FRAME_PREFIX_LEN, 0);
    let header_version = api_key.response_header_version(api_version);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut frame, header_version)
        .map_err(|e| encode_err(format!("response header: {e}")))?;
    body.encode(&mut frame, api_version)
        .map_err(|e| encode_err(format!("response body: {e}")))?;
    write_prefix(&mut frame)?;
    Ok(frame.freeze())
}

/// The answer to an ApiVersions request whose version Chronik does not support.
///
/// Like Kafka, it uses the v0 body (every client can read it) with UNSUPPORTED_VERSION and lists
/// only ApiVersions' own range, so the client retries with a version it can see is supported.
pub fn unsupported_api_versions_response(correlation_id: i32) -> Result<Bytes> {
    let mut api_keys = Vec::new();
    if let Some((min, max)) = supported_range(ApiKey::ApiVersions) {
        api_keys.push(
            ApiVersion::default()
                .with_api_key(ApiKey::ApiVersions as i16)
                .with_min_version(min)
                .with_max_version(max),
        );
    }
    let body = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys);
    encode_response(
        ApiKey::ApiVersions,
        0,
        correlation_id,
        ResponseKind::ApiVersions(body),
    )
}
