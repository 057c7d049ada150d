//! Decoding one request frame into its header fields and typed body.
//!
//! The api key, version and correlation id are read by hand first (fixed offsets in every header
//! version) so that an unknown key or unsupported version can still be answered with the right
//! correlation id; everything else goes through kafka-protocol's decoders. Decoding never panics:
//! every failure becomes a [`ProtocolError`].

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::guard::{GuardedBuf, decode_through_guard};
use crate::versions::{supported_range, with_supported_kinds};
use crate::{ProtocolError, Result};

/// Bytes every request header starts with: api key, api version, correlation id.
const FIXED_HEADER_LEN: usize = 8;

/// A decoded request: the header fields a broker routes on and the typed body.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRequest {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    /// Absent for clients that send a null client id.
    pub client_id: Option<StrBytes>,
    /// The request body as kafka-protocol decoded it.
    pub request: RequestKind,
}

/// The api key, version and correlation id, read before anything is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawHeader {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// Reads the fixed start of a request header without validating it.
pub fn peek_header(frame: &[u8]) -> Result<RawHeader> {
    let Some(fixed) = frame.first_chunk::<FIXED_HEADER_LEN>() else {
        return Err(ProtocolError::TruncatedHeader { len: frame.len() });
    };
    let mut fixed = &fixed[..];
    Ok(RawHeader {
        api_key: fixed.get_i16(),
        api_version: fixed.get_i16(),
        correlation_id: fixed.get_i32(),
    })
}

/// Checks the api key and version against [`crate::SUPPORTED`].
fn check_supported(raw: RawHeader) -> Result<ApiKey> {
    let unsupported_key = ProtocolError::UnsupportedApiKey {
        api_key: raw.api_key,
        correlation_id: raw.correlation_id,
    };
    let Ok(api_key) = ApiKey::try_from(raw.api_key) else {
        return Err(unsupported_key);
    };
    let Some((min, max)) = supported_range(api_key) else {
        return Err(unsupported_key);
    };
    if !(min..=max).contains(&raw.api_version) {
        return Err(ProtocolError::UnsupportedVersion {
            api_key,
            api_version: raw.api_version,
            min,
            max,
            correlation_id: raw.correlation_id,
        });
    }
    Ok(api_key)
}

/// Decodes one frame (as returned by [`crate::try_split_frame`]) into a [`DecodedRequest`].
///
/// An unknown api key or unsupported version yields an error carrying the correlation id (see
/// [`ProtocolError::correlation_id`]); for ApiVersions the broker should then send
/// [`crate::unsupported_api_versions_response`]. Truncated or garbage input, including element
/// counts larger than the frame (see the `guard` module), yields [`ProtocolError::MalformedRequest`]
/// or [`ProtocolError::TruncatedHeader`].
pub fn decode_request(frame: Bytes) -> Result<DecodedRequest> {
    let raw = peek_header(&frame)?;
    let api_key = check_supported(raw)?;
    let malformed = |reason: String| ProtocolError::MalformedRequest {
        api_key,
        api_version: raw.api_version,
        correlation_id: raw.correlation_id,
        reason,
    };
    let flexible = api_key.request_header_version(raw.api_version) >= 2;
    let (header, request) = decode_through_guard(frame, flexible, |buf| {
        decode_header_and_body(buf, api_key, raw.api_version)
    })
    .map_err(malformed)?;
    Ok(DecodedRequest {
        api_key,
        api_version: raw.api_version,
        correlation_id: raw.correlation_id,
        client_id: header.client_id,
        request,
    })
}

/// Decodes header and body through the guarded reader.
fn decode_header_and_body(
    buf: &mut GuardedBuf,
    api_key: ApiKey,
    version: i16,
) -> std::result::Result<(RequestHeader, RequestKind), String> {
    let header_version = api_key.request_header_version(version);
    let header =
        RequestHeader::decode(buf, header_version).map_err(|e| format!("request header: {e}"))?;
    let body = decode_body(buf, api_key, version).map_err(|e| format!("request body: {e}"))?;
    Ok((header, body))
}

/// Decodes the body of a supported request; kafka-protocol's own `RequestKind::decode` only
/// accepts `Bytes`, not the guarded reader.
fn decode_body(
    buf: &mut GuardedBuf,
    key: ApiKey,
    v: i16,
) -> std::result::Result<RequestKind, String> {
    macro_rules! body {
        ($($kind:ident),* $(,)?) => {
            match key {
                $(ApiKey::$kind => Decodable::decode(buf, v).map(RequestKind::$kind),)*
                other => return Err(format!("{other:?} has no decoder in the protocol layer")),
            }
        };
    }
    let decoded = with_supported_kinds!(body);
    decoded.map_err(|e| e.to_string())
}
