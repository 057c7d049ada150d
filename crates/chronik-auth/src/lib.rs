//! Who is on the other end of a connection: the SASL mechanisms a broker offers (PLAIN and
//! SCRAM, as pure state machines with no I/O), the credentials it stores, TLS server
//! configuration loaded from PEM files, and the principal each method yields.

pub mod acl;
mod plain;
pub mod scram;
pub mod tls;

pub use plain::PlainCredentials;
pub use scram::{Mechanism as ScramMechanism, ScramClient, ScramCredential, ScramServer};

/// Errors of authentication. `BadCredentials` is deliberately vague: a client learns no
/// more from it than that its credentials did not do.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "authentication failed: invalid credentials; check the user name and password, and \
         that the user has a credential for this mechanism"
    )]
    BadCredentials,
    #[error("{0}")]
    Malformed(String),
    #[error("authentication refused: {0}")]
    Refused(String),
    #[error("invalid SCRAM credential: {0}")]
    InvalidCredential(String),
    #[error("the system random source failed; the broker cannot make salts or nonces")]
    Random,
    #[error("invalid ACL: {0}")]
    InvalidAcl(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
}

pub type Result<T, E = AuthError> = std::result::Result<T, E>;

/// An authenticated identity, as Kafka writes it: `User:alice`, or `User:ANONYMOUS` for a
/// connection nothing authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub name: String,
}

impl Principal {
    pub fn user(name: impl Into<String>) -> Self {
        Principal { name: name.into() }
    }

    pub fn anonymous() -> Self {
        Principal::user("ANONYMOUS")
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "User:{}", self.name)
    }
}
