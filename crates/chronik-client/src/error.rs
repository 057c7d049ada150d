//! The client's one error type. Every variant says what failed and what to do, and carries a
//! stable short [`ClientError::name`] so callers (the benchmark's error summary) can count them.

use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;

/// Result alias for this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// TCP connect, read or write failed.
    #[error(
        "network error talking to {addr}: {reason}; check that the broker is running and reachable"
    )]
    Network { addr: String, reason: String },

    /// The broker did not answer in time.
    #[error(
        "{api:?} request to {addr} timed out after {after:?}; the broker is overloaded, stuck or gone (raise the timeout or check the broker)"
    )]
    Timeout {
        api: ApiKey,
        addr: String,
        after: Duration,
    },

    /// The peer sent bytes that are not a valid Kafka response.
    #[error(
        "invalid response from {addr}: {reason}; the peer is not a compatible Kafka broker or the connection is corrupt"
    )]
    Protocol { addr: SocketAddr, reason: String },

    /// The broker answered with a Kafka error code.
    #[error("{context}: broker error {code:?} ({}); {}", code.code(), broker_hint(*code))]
    Broker {
        code: ResponseError,
        context: String,
    },

    /// The broker answered with an error code this client does not know.
    #[error(
        "{context}: unknown broker error code {code}; upgrade the client or check the broker logs"
    )]
    UnknownCode { code: i16, context: String },

    /// The broker does not support a version of an API this client can speak.
    #[error(
        "broker {addr} supports no version of {api:?} that this client speaks (client {ours:?}, broker {theirs:?}); use a newer broker or client"
    )]
    UnsupportedApi {
        addr: SocketAddr,
        api: ApiKey,
        ours: (i16, i16),
        theirs: Option<(i16, i16)>,
    },

    /// Metadata does not (yet) name a usable leader or broker.
    #[error("{what}; the cluster may still be electing a leader or the topic does not exist")]
    NoLeader { what: String },

    /// None of the bootstrap addresses answered.
    #[error(
        "no bootstrap broker reachable ({tried}): {last}; check --bootstrap and that a broker is running"
    )]
    Bootstrap {
        tried: String,
        last: Box<ClientError>,
    },

    /// SASL authentication failed: refused by the broker, or the broker did not prove it
    /// holds the user's credential.
    #[error(
        "SASL authentication with {addr} failed: {reason}; check the mechanism, user name and password"
    )]
    Authentication { addr: String, reason: String },

    /// A record or request could not be built.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The producer was closed or its partition worker stopped before the record was acknowledged.
    #[error(
        "producer closed before the record was acknowledged; keep the producer alive until every send completes"
    )]
    ProducerClosed,

    /// Retries were exhausted: the last error is kept.
    #[error("gave up after {attempts} attempts over {elapsed:?}: {last}")]
    RetriesExhausted {
        attempts: u32,
        elapsed: Duration,
        last: Box<ClientError>,
    },
}

fn broker_hint(code: ResponseError) -> &'static str {
    if code.is_retriable() {
        "retriable: the client retries after refreshing metadata"
    } else {
        "not retriable: fix the request or the cluster's configuration"
    }
}

impl ClientError {
    /// Maps a non-zero Kafka error code to an error; `Ok` for 0.
    pub fn check(code: i16, context: impl FnOnce() -> String) -> Result<()> {
        if code == 0 {
            return Ok(());
        }
        Err(match ResponseError::try_from_code(code) {
            Some(code) => Self::Broker {
                code,
                context: context(),
            },
            None => Self::UnknownCode {
                code,
                context: context(),
            },
        })
    }

    /// Whether sending again (after a metadata refresh) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Network { .. } | Self::Timeout { .. } | Self::NoLeader { .. } => true,
            Self::Broker { code, .. } => code.is_retriable(),
            Self::Bootstrap { last, .. } => last.is_retriable(),
            _ => false,
        }
    }

    /// Whether metadata should be refreshed before retrying.
    pub fn needs_metadata(&self) -> bool {
        match self {
            Self::Broker { code, .. } => matches!(
                code,
                ResponseError::NotLeaderOrFollower
                    | ResponseError::UnknownTopicOrPartition
                    | ResponseError::LeaderNotAvailable
                    | ResponseError::FencedLeaderEpoch
                    | ResponseError::UnknownLeaderEpoch
                    | ResponseError::NotEnoughReplicas
            ),
            Self::Network { .. } | Self::Timeout { .. } | Self::NoLeader { .. } => true,
            _ => false,
        }
    }

    /// A short stable name: the Kafka error name for broker errors, the variant otherwise.
    pub fn name(&self) -> String {
        match self {
            Self::Network { .. } => "NetworkError".into(),
            Self::Timeout { .. } => "RequestTimedOut".into(),
            Self::Protocol { .. } => "InvalidResponse".into(),
            Self::Broker {
                code: ResponseError::Unknown(c),
                ..
            } => format!("ErrorCode{c}"),
            Self::Broker { code, .. } => format!("{code:?}"),
            Self::UnknownCode { code, .. } => format!("ErrorCode{code}"),
            Self::UnsupportedApi { .. } => "UnsupportedVersion".into(),
            Self::NoLeader { .. } => "LeaderNotAvailable".into(),
            Self::Bootstrap { last, .. } => last.name(),
            Self::Authentication { .. } => "SaslAuthenticationFailed".into(),
            Self::InvalidInput(_) => "InvalidInput".into(),
            Self::ProducerClosed => "ProducerClosed".into(),
            Self::RetriesExhausted { last, .. } => last.name(),
        }
    }

    pub(crate) fn network(addr: impl ToString, e: impl ToString) -> Self {
        Self::Network {
            addr: addr.to_string(),
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_named_errors() {
        assert!(ClientError::check(0, || "x".into()).is_ok());
        let e = ClientError::check(6, || "produce to t-0".into()).unwrap_err();
        assert_eq!(e.name(), "NotLeaderOrFollower");
        assert!(e.is_retriable() && e.needs_metadata());
        assert!(e.to_string().contains("produce to t-0"), "{e}");
        let e = ClientError::check(9999, || "x".into()).unwrap_err();
        assert_eq!(e.name(), "ErrorCode9999");
        assert!(!e.is_retriable());
        let wrapped = ClientError::RetriesExhausted {
            attempts: 3,
            elapsed: Duration::from_secs(1),
            last: Box::new(ClientError::network("127.0.0.1:1", "refused")),
        };
        assert_eq!(wrapped.name(), "NetworkError");
    }
}
