//! SASL on one connection: SaslHandshake picks a mechanism, SaslAuthenticate carries its
//! messages, and until they succeed nothing but ApiVersions is served (KIP-43, KIP-152).
//! Re-authentication (KIP-368) repeats the exchange on a live connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chronik_auth::scram::{ClientFirst, random_nonce};
use chronik_auth::{
    AuthError, PlainCredentials, Principal, ScramCredential, ScramMechanism, ScramServer,
};
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};

use crate::handlers::str_bytes;
use crate::services::Services;
use chronik_kafka::kafka_protocol::error::ResponseError;

/// A SASL mechanism the broker can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    Scram(ScramMechanism),
}

impl SaslMechanism {
    pub const ALL: [SaslMechanism; 3] = [
        SaslMechanism::Scram(ScramMechanism::Sha512),
        SaslMechanism::Scram(ScramMechanism::Sha256),
        SaslMechanism::Plain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(m) => m.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

/// Largest request served before authentication, as Kafka's `sasl.server.max.receive.size`:
/// an unauthenticated peer cannot make the broker buffer more.
pub(crate) const MAX_UNAUTHENTICATED_REQUEST: usize = 512 * 1024;

/// Where a connection stands in its authentication.
pub(crate) enum SaslState {
    /// Waiting for SaslHandshake; only ApiVersions is served meanwhile.
    AwaitingHandshake,
    /// A mechanism was chosen; SaslAuthenticate carries its messages.
    Exchanging {
        exchange: Exchange,
        mechanism: SaslMechanism,
        /// The principal of the session being renewed, when this is a re-authentication.
        renewing: Option<Principal>,
        /// After a SaslHandshake v0 the SASL messages travel as bare length-prefixed
        /// frames instead of SaslAuthenticate requests (kafka-python 2.0 does this).
        raw: bool,
    },
    Authenticated {
        principal: Principal,
        /// A re-authentication must use it again, as Kafka requires.
        mechanism: SaslMechanism,
        /// Past this instant only a re-authentication is served (KIP-368).
        expires: Option<Instant>,
    },
}

pub(crate) enum Exchange {
    Plain,
    Scram(ScramServer),
}

/// What the connection does with a request under SASL.
pub(crate) enum Admission {
    Serve,
    /// Not allowed now: close the connection without answering, as Kafka does.
    Close(&'static str),
}

/// The answer to a SASL request, and whether the connection must close after it.
pub(crate) struct SaslReply {
    pub body: ResponseKind,
    pub close: bool,
}

impl SaslState {
    /// Whether `api` may be served in this state.
    pub fn admits(&self, api: ApiKey, now: Instant) -> Admission {
        match (self, api) {
            (_, ApiKey::ApiVersions) => Admission::Serve,
            (SaslState::AwaitingHandshake, ApiKey::SaslHandshake) => Admission::Serve,
            (SaslState::Exchanging { .. }, ApiKey::SaslAuthenticate) => Admission::Serve,
            (SaslState::Authenticated { .. }, ApiKey::SaslHandshake) => Admission::Serve,
            (SaslState::Authenticated { expires, .. }, _) => match expires {
                Some(at) if now >= *at => Admission::Close("the SASL session expired"),
                _ => Admission::Serve,
            },
            (SaslState::AwaitingHandshake, _) => {
                Admission::Close("a request before SASL authentication")
            }
            (SaslState::Exchanging { .. }, _) => {
                Admission::Close("a request during the SASL exchange")
            }
        }
    }

    /// Whether the next frame is a bare SASL message rather than a Kafka request.
    pub fn expects_raw_token(&self) -> bool {
        matches!(self, SaslState::Exchanging { raw: true, .. })
    }

    pub fn principal(&self) -> Option<&Principal> {
        match self {
            SaslState::Authenticated { principal, .. } => Some(principal),
            _ => None,
        }
    }

    /// SaslHandshake: picks the mechanism, or refuses one the listener does not offer.
    pub fn handshake(
        &mut self,
        enabled: &[SaslMechanism],
        req: SaslHandshakeRequest,
        version: i16,
    ) -> SaslReply {
        let offered = enabled.iter().map(|m| str_bytes(m.name())).collect();
        let reply = |error_code: i16, close: bool| SaslReply {
            body: ResponseKind::SaslHandshake(
                SaslHandshakeResponse::default()
                    .with_error_code(error_code)
                    .with_mechanisms(offered),
            ),
            close,
        };
        let mechanism =
            SaslMechanism::from_name(req.mechanism.as_str()).filter(|m| enabled.contains(m));
        let Some(mechanism) = mechanism else {
            return reply(ResponseError::UnsupportedSaslMechanism.code(), true);
        };
        let renewing = match std::mem::replace(self, SaslState::AwaitingHandshake) {
            SaslState::AwaitingHandshake => None,
            SaslState::Authenticated {
                principal,
                mechanism: before,
                ..
            } if before == mechanism => Some(principal),
            SaslState::Authenticated { .. } | SaslState::Exchanging { .. } => {
                return reply(ResponseError::IllegalSaslState.code(), true);
            }
        };
        let exchange = match mechanism {
            SaslMechanism::Plain => Exchange::Plain,
            SaslMechanism::Scram(m) => Exchange::Scram(ScramServer::new(m)),
        };
        let raw = version == 0;
        *self = SaslState::Exchanging {
            exchange,
            mechanism,
            renewing,
            raw,
        };
        reply(0, false)
    }

    /// SaslAuthenticate: one step of the exchange. A failure answers
    /// SASL_AUTHENTICATION_FAILED and closes the connection.
    pub async fn authenticate(
        &mut self,
        services: &Arc<Services>,
        req: SaslAuthenticateRequest,
        version: i16,
    ) -> SaslReply {
        let reauth_after = services.config.connections_max_reauth;
        match self.exchange(services, req.auth_bytes, reauth_after).await {
            // v0 cannot tell the client its session's lifetime; the session ends all the same
            // (the client cannot re-authenticate, so it reconnects), as in Kafka.
            Ok((bytes, lifetime)) => {
                let lifetime = lifetime.filter(|_| version >= 1);
                success(bytes, lifetime.map_or(0, millis))
            }
            Err(e) => failure(&e),
        }
    }

    /// A bare SASL message after a SaslHandshake v0: the answer is a bare length-prefixed
    /// frame; `None` (a failure) closes the connection, the only signal v0 has.
    pub async fn raw_token(&mut self, services: &Arc<Services>, token: Bytes) -> Option<Bytes> {
        let reauth_after = services.config.connections_max_reauth;
        let (answer, _) = self.exchange(services, token, reauth_after).await.ok()?;
        let mut frame = Vec::with_capacity(answer.len() + 4);
        frame.extend_from_slice(&u32::try_from(answer.len()).ok()?.to_be_bytes());
        frame.extend_from_slice(&answer);
        Some(frame.into())
    }

    /// One step of the exchange: the bytes to send, and the session's lifetime once the
    /// peer is authenticated.
    async fn exchange(
        &mut self,
        services: &Arc<Services>,
        message: Bytes,
        reauth_after: Option<Duration>,
    ) -> Result<(Bytes, Option<Duration>), AuthError> {
        let outcome = match self.step(services, message).await {
            Ok(Step::Continue(bytes)) => return Ok((bytes, None)),
            Ok(Step::Done(bytes, principal)) => {
                self.authenticated(principal, reauth_after).map(|()| bytes)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(bytes) => Ok((bytes, reauth_after)),
            Err(e) => {
                tracing::info!(error = %e, "SASL authentication failed; closing the connection");
                metrics::counter!("chronik_broker_authentication_failures_total").increment(1);
                Err(e)
            }
        }
    }

    fn authenticated(
        &mut self,
        principal: Principal,
        reauth_after: Option<Duration>,
    ) -> Result<(), AuthError> {
        let (renewing, mechanism) = match std::mem::replace(self, SaslState::AwaitingHandshake) {
            SaslState::Exchanging {
                renewing,
                mechanism,
                ..
            } => (renewing, mechanism),
            _ => return Err(AuthError::Refused("no SASL exchange is under way".into())),
        };
        if renewing.as_ref().is_some_and(|p| *p != principal) {
            return Err(AuthError::Refused(
                "re-authentication must keep the principal".into(),
            ));
        }
        tracing::debug!(%principal, "SASL authentication succeeded");
        *self = SaslState::Authenticated {
            principal,
            mechanism,
            expires: reauth_after.map(|d| Instant::now() + d),
        };
        Ok(())
    }

    async fn step(&mut self, services: &Arc<Services>, message: Bytes) -> Result<Step, AuthError> {
        let SaslState::Exchanging { exchange, .. } = self else {
            return Err(AuthError::Refused(
                "SaslAuthenticate before SaslHandshake".into(),
            ));
        };
        match exchange {
            Exchange::Plain => {
                let plain = PlainCredentials::parse(&message)?;
                check_plain(services, plain).await
            }
            Exchange::Scram(server) => match server {
                ScramServer::Start { mechanism } => {
                    let mechanism = *mechanism;
                    let first = ClientFirst::parse(&message)?;
                    let credential = services.scram_credential(&first.user, mechanism);
                    let answer = server.challenge(first, credential, &random_nonce()?)?;
                    Ok(Step::Continue(answer.into()))
                }
                _ => {
                    let (answer, user) = server.finish(&message)?;
                    Ok(Step::Done(answer.into(), Principal::user(user)))
                }
            },
        }
    }
}

enum Step {
    /// Send these bytes; the exchange goes on.
    Continue(Bytes),
    /// Send these bytes; the peer is authenticated as this principal.
    Done(Bytes, Principal),
}

/// PLAIN password checks (PBKDF2, milliseconds each) run at once across all connections:
/// unauthenticated clients cannot keep every blocking thread busy.
static PLAIN_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// What an unknown user's password is checked against, so that it takes as long as a known
/// user's and does not tell which users exist.
fn decoy() -> &'static Option<ScramCredential> {
    static DECOY: std::sync::OnceLock<Option<ScramCredential>> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let iterations = chronik_auth::scram::DEFAULT_ITERATIONS;
        ScramCredential::with_random_salt(ScramMechanism::Sha512, b"decoy", iterations).ok()
    })
}

/// PLAIN checks the password against the user's stored SCRAM credential, so one secret
/// serves every mechanism. PBKDF2 runs off the async workers.
async fn check_plain(services: &Arc<Services>, plain: PlainCredentials) -> Result<Step, AuthError> {
    let stored = [ScramMechanism::Sha512, ScramMechanism::Sha256]
        .into_iter()
        .find_map(|m| services.scram_credential(&plain.user, m));
    let known = stored.is_some();
    let Some(credential) = stored.or_else(|| decoy().clone()) else {
        return Err(AuthError::BadCredentials);
    };
    let password = plain.password;
    let _permit = PLAIN_CHECKS
        .acquire()
        .await
        .map_err(|_| AuthError::BadCredentials)?;
    let matches = tokio::task::spawn_blocking(move || credential.matches_password(&password))
        .await
        .unwrap_or(false);
    if known && matches {
        Ok(Step::Done(Bytes::new(), Principal::user(plain.user)))
    } else {
        Err(AuthError::BadCredentials)
    }
}

fn success(auth_bytes: Bytes, session_lifetime_ms: i64) -> SaslReply {
    SaslReply {
        body: ResponseKind::SaslAuthenticate(
            SaslAuthenticateResponse::default()
                .with_auth_bytes(auth_bytes)
                .with_session_lifetime_ms(session_lifetime_ms),
        ),
        close: false,
    }
}

fn failure(e: &AuthError) -> SaslReply {
    SaslReply {
        body: ResponseKind::SaslAuthenticate(
            SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                .with_error_message(Some(str_bytes(&e.to_string()))),
        ),
        close: true,
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticated(expires: Option<Instant>) -> SaslState {
        SaslState::Authenticated {
            principal: Principal::user("alice"),
            mechanism: SaslMechanism::Plain,
            expires,
        }
    }

    #[test]
    fn only_api_versions_and_the_handshake_are_served_before_authentication() {
        let now = Instant::now();
        let waiting = SaslState::AwaitingHandshake;
        assert!(matches!(
            waiting.admits(ApiKey::ApiVersions, now),
            Admission::Serve
        ));
        assert!(matches!(
            waiting.admits(ApiKey::SaslHandshake, now),
            Admission::Serve
        ));
        assert!(matches!(
            waiting.admits(ApiKey::Produce, now),
            Admission::Close(_)
        ));
        assert!(matches!(
            waiting.admits(ApiKey::SaslAuthenticate, now),
            Admission::Close(_)
        ));
        let live = authenticated(Some(now + Duration::from_secs(60)));
        assert!(matches!(
            live.admits(ApiKey::Produce, now),
            Admission::Serve
        ));
        let expired = authenticated(Some(now));
        assert!(matches!(
            expired.admits(ApiKey::Fetch, now),
            Admission::Close(_)
        ));
        assert!(matches!(
            expired.admits(ApiKey::SaslHandshake, now),
            Admission::Serve
        ));
    }

    #[test]
    fn a_handshake_for_a_mechanism_not_offered_is_refused_and_closes() {
        let mut state = SaslState::AwaitingHandshake;
        let enabled = [SaslMechanism::Scram(ScramMechanism::Sha512)];
        let reply = state.handshake(
            &enabled,
            SaslHandshakeRequest::default().with_mechanism(str_bytes("PLAIN")),
            1,
        );
        assert!(reply.close);
        let ResponseKind::SaslHandshake(body) = reply.body else {
            panic!("a handshake answer")
        };
        assert_eq!(
            body.error_code,
            ResponseError::UnsupportedSaslMechanism.code()
        );
        assert_eq!(body.mechanisms, vec![str_bytes("SCRAM-SHA-512")]);
        let reply = state.handshake(
            &enabled,
            SaslHandshakeRequest::default().with_mechanism(str_bytes("scram-sha-512")),
            1,
        );
        assert!(!reply.close);
        assert!(matches!(
            state,
            SaslState::Exchanging { renewing: None, .. }
        ));
        // A second handshake in the middle of an exchange is a protocol error.
        let reply = state.handshake(
            &enabled,
            SaslHandshakeRequest::default().with_mechanism(str_bytes("SCRAM-SHA-512")),
            1,
        );
        assert!(reply.close);
    }

    #[test]
    fn a_re_authentication_with_another_mechanism_is_refused() {
        let mut state = authenticated(None);
        let reply = state.handshake(
            &SaslMechanism::ALL,
            SaslHandshakeRequest::default().with_mechanism(str_bytes("SCRAM-SHA-512")),
            1,
        );
        assert!(reply.close);
    }

    #[test]
    fn a_handshake_on_an_authenticated_connection_renews_the_same_principal() {
        let mut state = authenticated(None);
        let reply = state.handshake(
            &[SaslMechanism::Plain],
            SaslHandshakeRequest::default().with_mechanism(str_bytes("PLAIN")),
            0,
        );
        assert!(!reply.close);
        assert!(state.expects_raw_token());
        let SaslState::Exchanging { renewing, .. } = state else {
            panic!("exchanging")
        };
        assert_eq!(renewing, Some(Principal::user("alice")));
    }
}
