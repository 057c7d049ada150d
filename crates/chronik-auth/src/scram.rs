//! SCRAM (RFC 5802, RFC 7677): stored credentials, the server side of one exchange, and
//! (client.rs) the client side.
//!
//! The server never keeps a password: only the salt, the iteration count and the two keys
//! derived from the salted password, as Kafka stores them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::{digest, hmac, pbkdf2};

use crate::{AuthError, Result};

/// Kafka's bounds on the PBKDF2 iteration count of a SCRAM credential.
pub const MIN_ITERATIONS: u32 = 4096;
pub const MAX_ITERATIONS: u32 = 16384;
/// The iteration count credentials get when nobody asks for another.
pub const DEFAULT_ITERATIONS: u32 = 8192;

/// A SCRAM hash function, as Kafka numbers them in its admin APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Sha256,
    Sha512,
}

impl Mechanism {
    pub const ALL: [Mechanism; 2] = [Mechanism::Sha256, Mechanism::Sha512];

    /// The SASL mechanism name clients ask for.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha256 => "SCRAM-SHA-256",
            Mechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The `mechanism` field of DescribeUserScramCredentials / AlterUserScramCredentials.
    pub fn kafka_id(self) -> i8 {
        match self {
            Mechanism::Sha256 => 1,
            Mechanism::Sha512 => 2,
        }
    }

    pub fn from_kafka_id(id: i8) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.kafka_id() == id)
    }

    /// Length in bytes of the digest, and so of the stored and server keys.
    pub fn key_len(self) -> usize {
        self.digest().output_len()
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Mechanism::Sha256 => &digest::SHA256,
            Mechanism::Sha512 => &digest::SHA512,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Mechanism::Sha256 => hmac::HMAC_SHA256,
            Mechanism::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Mechanism::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Mechanism::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(self.hmac(), key), data)
            .as_ref()
            .to_vec()
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest(), data).as_ref().to_vec()
    }
}

/// What the server stores for one user and one mechanism.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub mechanism: Mechanism,
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

/// Leaves the salt and keys out, so that no log line carries them.
impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("mechanism", &self.mechanism)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredential {
    /// Derives the credential for `password` (PBKDF2 with `iterations` rounds).
    pub fn from_password(
        mechanism: Mechanism,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self> {
        let salted = salted_password(mechanism, password, salt, iterations)?;
        Self::from_salted_password(mechanism, &salted, salt, iterations)
    }

    /// The credential of `password` under a fresh random salt: what storing a new password
    /// makes.
    pub fn with_random_salt(
        mechanism: Mechanism,
        password: &[u8],
        iterations: u32,
    ) -> Result<Self> {
        Self::from_password(mechanism, password, &random_salt(mechanism)?, iterations)
    }

    /// Derives the credential from an already salted password, which is what
    /// AlterUserScramCredentials carries.
    pub fn from_salted_password(
        mechanism: Mechanism,
        salted_password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self> {
        check_iterations(iterations)?;
        if salt.is_empty() {
            return Err(AuthError::InvalidCredential("the salt is empty".into()));
        }
        if salted_password.is_empty() {
            return Err(AuthError::InvalidCredential(
                "the salted password is empty".into(),
            ));
        }
        let client_key = mechanism.mac(salted_password, b"Client Key");
        Ok(ScramCredential {
            mechanism,
            salt: salt.to_vec(),
            iterations,
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.mac(salted_password, b"Server Key"),
        })
    }

    /// Whether `password` is this credential's password (PLAIN checks against SCRAM
    /// credentials, so one stored secret serves both mechanisms).
    pub fn matches_password(&self, password: &[u8]) -> bool {
        match Self::from_password(self.mechanism, password, &self.salt, self.iterations) {
            Ok(derived) => constant_time_eq(&derived.stored_key, &self.stored_key),
            Err(_) => false,
        }
    }
}

/// A fresh random salt of the digest's length.
pub fn random_salt(mechanism: Mechanism) -> Result<Vec<u8>> {
    random_bytes(mechanism.key_len())
}

pub(crate) fn random_bytes(len: usize) -> Result<Vec<u8>> {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0u8; len];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AuthError::Random)?;
    Ok(bytes)
}

fn check_iterations(iterations: u32) -> Result<()> {
    if (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        Ok(())
    } else {
        Err(AuthError::InvalidCredential(format!(
            "{iterations} iterations is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}"
        )))
    }
}

fn salted_password(
    mechanism: Mechanism,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<Vec<u8>> {
    check_iterations(iterations)?;
    let rounds = std::num::NonZeroU32::new(iterations)
        .ok_or_else(|| AuthError::InvalidCredential("zero iterations".into()))?;
    let mut out = vec![0u8; mechanism.key_len()];
    pbkdf2::derive(mechanism.pbkdf2(), rounds, salt, password, &mut out);
    Ok(out)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The server's half of one SCRAM exchange: two client messages, two answers.
#[derive(Debug)]
pub enum ScramServer {
    /// Waiting for the client-first message.
    Start {
        mechanism: Mechanism,
    },
    /// Sent server-first; waiting for client-final.
    Challenged {
        credential: ScramCredential,
        user: String,
        nonce: String,
        /// client-first-bare "," server-first: the start of the AuthMessage.
        transcript: String,
        gs2_header: String,
    },
    Done,
}

/// What the server learned from a client-first message.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFirst {
    pub user: String,
    gs2_header: String,
    bare: String,
    client_nonce: String,
}

impl ClientFirst {
    /// Parses "n,[a=authzid],n=user,r=nonce[,ext...]". An authorization id other than the
    /// user, channel binding and delegation tokens are refused.
    pub fn parse(message: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(message).map_err(|_| malformed("client-first"))?;
        let mut parts = text.splitn(3, ',');
        let cbind = parts.next().ok_or_else(|| malformed("client-first"))?;
        let authzid = parts.next().ok_or_else(|| malformed("client-first"))?;
        let bare = parts.next().ok_or_else(|| malformed("client-first"))?;
        if cbind != "n" && cbind != "y" {
            return Err(AuthError::Refused(
                "channel binding is not supported; use SCRAM without -PLUS".into(),
            ));
        }
        let mut fields = bare.split(',');
        let user = fields
            .next()
            .and_then(|f| f.strip_prefix("n="))
            .ok_or_else(|| malformed("client-first user"))?;
        let user = decode_saslname(user)?;
        let client_nonce = fields
            .next()
            .and_then(|f| f.strip_prefix("r="))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| malformed("client-first nonce"))?;
        if fields.any(|f| f.starts_with("tokenauth=")) {
            return Err(AuthError::Refused(
                "delegation tokens are not supported".into(),
            ));
        }
        // The gs2 header's middle field is empty or "a=" saslname (RFC 5802 §7), as Kafka
        // requires too; anything else would otherwise pass unchecked into the channel binding.
        if !authzid.is_empty() {
            let authz = authzid
                .strip_prefix("a=")
                .ok_or_else(|| malformed("client-first authorization id"))?;
            if decode_saslname(authz)? != user {
                return Err(AuthError::Refused(
                    "an authorization id other than the user is not supported".into(),
                ));
            }
        }
        Ok(ClientFirst {
            user,
            gs2_header: format!("{cbind},{authzid},"),
            bare: bare.to_string(),
            client_nonce: client_nonce.to_string(),
        })
    }
}

impl ScramServer {
    pub fn new(mechanism: Mechanism) -> Self {
        ScramServer::Start { mechanism }
    }

    /// Answers client-first with server-first. `credential` is the stored credential of
    /// the user the message names (`None` if there is none); `server_nonce` is random.
    pub fn challenge(
        &mut self,
        first: ClientFirst,
        credential: Option<ScramCredential>,
        server_nonce: &str,
    ) -> Result<Vec<u8>> {
        let ScramServer::Start { mechanism } = *self else {
            return Err(AuthError::Refused("unexpected client-first message".into()));
        };
        *self = ScramServer::Done;
        let credential = credential
            .filter(|c| c.mechanism == mechanism)
            .ok_or(AuthError::BadCredentials)?;
        let nonce = format!("{}{}", first.client_nonce, server_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credential.salt),
            credential.iterations
        );
        *self = ScramServer::Challenged {
            credential,
            user: first.user,
            nonce,
            transcript: format!("{},{server_first}", first.bare),
            gs2_header: first.gs2_header,
        };
        Ok(server_first.into_bytes())
    }

    /// Checks client-final; on success returns server-final and the authenticated user.
    pub fn finish(&mut self, message: &[u8]) -> Result<(Vec<u8>, String)> {
        let ScramServer::Challenged {
            credential,
            user,
            nonce,
            transcript,
            gs2_header,
        } = std::mem::replace(self, ScramServer::Done)
        else {
            return Err(AuthError::Refused("unexpected client-final message".into()));
        };
        let text = std::str::from_utf8(message).map_err(|_| malformed("client-final"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| malformed("client-final proof"))?;
        let mut fields = without_proof.split(',');
        let binding = fields
            .next()
            .and_then(|f| f.strip_prefix("c="))
            .ok_or_else(|| malformed("client-final channel binding"))?;
        if BASE64.decode(binding).ok().as_deref() != Some(gs2_header.as_bytes()) {
            return Err(AuthError::Refused("channel binding does not match".into()));
        }
        // Kafka accepts a nonce that ends with the one it sent, and librdkafka 2.0 relies on
        // it: it prefixes its own nonce a second time. The proof covers what the client sent.
        let echoed = fields.next().and_then(|f| f.strip_prefix("r="));
        if !echoed.is_some_and(|r| r.ends_with(nonce.as_str())) {
            return Err(AuthError::Refused("the nonce does not match".into()));
        }
        let proof = BASE64
            .decode(proof)
            .map_err(|_| malformed("client-final proof"))?;
        let mechanism = credential.mechanism;
        let auth_message = format!("{transcript},{without_proof}");
        let signature = mechanism.mac(&credential.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err(AuthError::BadCredentials);
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        if !constant_time_eq(&mechanism.hash(&client_key), &credential.stored_key) {
            return Err(AuthError::BadCredentials);
        }
        let server_signature = mechanism.mac(&credential.server_key, auth_message.as_bytes());
        let server_final = format!("v={}", BASE64.encode(server_signature));
        Ok((server_final.into_bytes(), user))
    }
}

/// A printable random nonce for server-first (no commas, as the grammar requires).
pub fn random_nonce() -> Result<String> {
    use std::fmt::Write;
    let bytes = random_bytes(24)?;
    Ok(bytes.iter().fold(String::with_capacity(48), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

fn decode_saslname(name: &str) -> Result<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(malformed("user name escape")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(malformed("empty user name"));
    }
    Ok(out)
}

fn malformed(what: &str) -> AuthError {
    AuthError::Malformed(format!("SCRAM {what} is malformed"))
}

mod client;
#[cfg(test)]
mod tests;

pub use client::ScramClient;
