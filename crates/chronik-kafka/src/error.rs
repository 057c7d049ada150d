//! The one error type of the protocol layer. Every variant knows the Kafka error code a broker
//! should answer with (when an answer is possible at all) and says what the client or operator
//! can do about it.

use kafka_protocol::error::ResponseError;

/// Result alias for this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

/// Everything that can go wrong while framing, decoding, encoding or validating Kafka traffic.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The 4-byte size prefix announced a frame larger than the broker accepts.
    #[error(
        "request of {len} bytes exceeds the limit of {max} bytes: the client must send smaller \
         requests (lower its batch/fetch sizes) or the operator must raise --max-request-bytes"
    )]
    FrameTooLarge { len: u64, max: usize },

    /// The size prefix was negative: the peer is not speaking the Kafka protocol.
    #[error(
        "request size prefix is negative ({len}): the peer is not speaking the Kafka protocol; \
         close the connection"
    )]
    NegativeFrameLength { len: i32 },

    /// The request is too short to hold even the api key, version and correlation id.
    #[error(
        "request of {len} bytes is too short for a request header: the peer is not speaking the \
         Kafka protocol; close the connection"
    )]
    TruncatedHeader { len: usize },

    /// The api key is not one Chronik serves. Answerable: the correlation id is known.
    #[error(
        "api key {api_key} is not supported by this broker (correlation id {correlation_id}); \
         the client should consult ApiVersions and use only advertised APIs"
    )]
    UnsupportedApiKey { api_key: i16, correlation_id: i32 },

    /// The api version is outside the supported range. Answerable: the correlation id is known.
    #[error(
        "version {api_version} of {api_key:?} is not supported (supported {min}..={max}, \
         correlation id {correlation_id}); the client should negotiate versions via ApiVersions"
    )]
    UnsupportedVersion {
        api_key: kafka_protocol::messages::ApiKey,
        api_version: i16,
        min: i16,
        max: i16,
        correlation_id: i32,
    },

    /// The header or body could not be decoded (truncated, garbage, or an impossible length).
    #[error(
        "malformed {api_key:?} v{api_version} request (correlation id {correlation_id}): \
         {reason}; this is a client bug or a corrupted connection, close it"
    )]
    MalformedRequest {
        api_key: kafka_protocol::messages::ApiKey,
        api_version: i16,
        correlation_id: i32,
        reason: String,
    },

    /// kafka-protocol refused to encode a response (a field not valid at that version).
    #[error(
        "cannot encode {api_key:?} v{api_version} response: {reason}; this is a broker bug, \
         report it with the request that triggered it"
    )]
    Encode {
        api_key: kafka_protocol::messages::ApiKey,
        api_version: i16,
        reason: String,
    },

    /// A record batch in a Produce request failed validation.
    #[error(
        "record batch at byte {position} rejected ({code}): {reason}; the producer should \
         resend valid batches{hint}"
    )]
    InvalidBatch {
        position: usize,
        code: ResponseError,
        reason: String,
        hint: &'static str,
    },
}

impl ProtocolError {
    /// The Kafka error code a response should carry for this failure, when the broker can answer.
    ///
    /// Like Kafka, a broker answers only unsupported ApiVersions requests (with
    /// [`crate::unsupported_api_versions_response`]) and batch rejections (per partition); for
    /// other unsupported or malformed requests it logs the error and closes the connection.
    pub fn error_code(&self) -> ResponseError {
        match self {
            Self::UnsupportedApiKey { .. } | Self::UnsupportedVersion { .. } => {
                ResponseError::UnsupportedVersion
            }
            Self::InvalidBatch { code, .. } => *code,
            _ => ResponseError::InvalidRequest,
        }
    }

    /// The correlation id to answer with, for errors the broker can still answer.
    pub fn correlation_id(&self) -> Option<i32> {
        match self {
            Self::UnsupportedApiKey { correlation_id, .. }
            | Self::UnsupportedVersion { correlation_id, .. }
            | Self::MalformedRequest { correlation_id, .. } => Some(*correlation_id),
            _ => None,
        }
    }
}
