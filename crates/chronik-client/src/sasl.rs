//! SASL authentication of a new connection (SaslHandshake v1, then SaslAuthenticate): PLAIN and
//! SCRAM-SHA-256/512, for brokers' SASL_PLAINTEXT and SASL_SSL listeners.

use bytes::Bytes;
use chronik_auth::{ScramClient, ScramMechanism};
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;

use crate::conn::Connection;
use crate::{ClientError, Result};

/// A SASL mechanism this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    Scram(ScramMechanism),
}

impl SaslMechanism {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(SaslMechanism::Plain),
            other => ScramMechanism::from_name(other).map(SaslMechanism::Scram),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(m) => m.name(),
        }
    }
}

/// Who a connection authenticates as.
#[derive(Clone)]
pub struct SaslConfig {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
}

/// Leaves the password out of any log line.
impl std::fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Authenticates `conn`, which has negotiated versions but sent nothing else.
pub(crate) async fn authenticate(
    conn: &Connection,
    sasl: &SaslConfig,
    client_id: &str,
) -> Result<()> {
    let mechanism = StrBytes::from_static_str(sasl.mechanism.name());
    let handshake = SaslHandshakeRequest::default().with_mechanism(mechanism);
    let response = conn.call_at(&handshake, 1, client_id).await?;
    ClientError::check(response.error_code, || {
        let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
        format!(
            "SASL mechanism {} on {} (the broker offers {})",
            sasl.mechanism.name(),
            conn.addr(),
            offered.join(", ")
        )
    })?;
    match sasl.mechanism {
        SaslMechanism::Plain => {
            let token = format!("\0{}\0{}", sasl.username, sasl.password);
            exchange(conn, token.into_bytes(), client_id).await?;
            Ok(())
        }
        SaslMechanism::Scram(mechanism) => {
            let refused = |e: chronik_auth::AuthError| ClientError::Authentication {
                addr: conn.addr().to_string(),
                reason: e.to_string(),
            };
            let mut scram =
                ScramClient::new(mechanism, &sasl.username, &sasl.password).map_err(refused)?;
            let server_first = exchange(conn, scram.client_first(), client_id).await?;
            let client_final = scram.client_final(&server_first).map_err(refused)?;
            let server_final = exchange(conn, client_final, client_id).await?;
            scram.verify_server_final(&server_final).map_err(refused)
        }
    }
}

/// One SaslAuthenticate round: sends `token`, returns the broker's answer.
async fn exchange(conn: &Connection, token: Vec<u8>, client_id: &str) -> Result<Bytes> {
    let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
    let response = conn.call(&request, client_id).await?;
    if response.error_code != 0 {
        let message = response
            .error_message
            .as_deref()
            .unwrap_or("no reason given");
        return Err(ClientError::Authentication {
            addr: conn.addr().to_string(),
            reason: format!("error code {}: {message}", response.error_code),
        });
    }
    Ok(response.auth_bytes)
}
