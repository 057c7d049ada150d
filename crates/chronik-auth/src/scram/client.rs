//! The client side of one SCRAM exchange (RFC 5802), for Chronik's own tools that connect to
//! SASL listeners (the benchmark). No channel binding, as Kafka clients do.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{
    Mechanism, check_iterations, constant_time_eq, malformed, random_nonce, salted_password,
};
use crate::{AuthError, Result};

/// One exchange: [`ScramClient::client_first`], then [`ScramClient::client_final`] with the
/// server's challenge, then [`ScramClient::verify_server_final`] with its answer.
pub struct ScramClient {
    mechanism: Mechanism,
    password: Vec<u8>,
    nonce: String,
    client_first_bare: String,
    /// What the server's final message must carry, once the client's proof is sent.
    server_signature: Option<Vec<u8>>,
}

/// Leaves the password out of any log line.
impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// An exchange for `user` with a fresh random nonce.
    pub fn new(mechanism: Mechanism, user: &str, password: &str) -> Result<Self> {
        Ok(Self::with_nonce(mechanism, user, password, random_nonce()?))
    }

    fn with_nonce(mechanism: Mechanism, user: &str, password: &str, nonce: String) -> Self {
        let name = user.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            mechanism,
            password: password.as_bytes().to_vec(),
            client_first_bare: format!("n={name},r={nonce}"),
            nonce,
            server_signature: None,
        }
    }

    /// The client-first message.
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final message answering `server_first`, with the proof of the password.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>> {
        let server_first =
            std::str::from_utf8(server_first).map_err(|_| malformed("server-first message"))?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attribute in server_first.split(',') {
            match attribute.split_once('=') {
                Some(("r", value)) => nonce = Some(value),
                Some(("s", value)) => salt = BASE64.decode(value).ok(),
                Some(("i", value)) => iterations = value.parse::<u32>().ok(),
                Some(("m", _)) => return Err(malformed("mandatory extension")),
                _ => {}
            }
        }
        let nonce = nonce
            .filter(|n| n.len() > self.nonce.len() && n.starts_with(&self.nonce))
            .ok_or_else(|| malformed("server nonce"))?;
        let salt = salt.ok_or_else(|| malformed("salt"))?;
        let iterations = iterations.ok_or_else(|| malformed("iteration count"))?;
        // Bounded so that a hostile server cannot make the client spin in PBKDF2.
        check_iterations(iterations)?;
        let mechanism = self.mechanism;
        let salted = salted_password(mechanism, &self.password, &salt, iterations)?;
        let client_key = mechanism.mac(&salted, b"Client Key");
        let stored_key = mechanism.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = mechanism.mac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = mechanism.mac(&salted, b"Server Key");
        self.server_signature = Some(mechanism.mac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
    }

    /// Checks the server's final message: it proves the server knew the credential.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<()> {
        let expected = (self.server_signature.as_deref())
            .ok_or_else(|| AuthError::Refused("the client-final message was not sent".into()))?;
        let text = std::str::from_utf8(server_final).map_err(|_| malformed("server-final"))?;
        if let Some(error) = text.strip_prefix("e=") {
            return Err(AuthError::Refused(format!("the server refused: {error}")));
        }
        let signature = (text.strip_prefix("v="))
            .and_then(|v| BASE64.decode(v.split(',').next().unwrap_or(v)).ok())
            .ok_or_else(|| malformed("server-final message"))?;
        if constant_time_eq(&signature, expected) {
            Ok(())
        } else {
            Err(AuthError::Refused(
                "the server's signature is wrong: it does not hold this user's credential".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scram::{ScramCredential, ScramServer};

    /// RFC 7677's example, from the client's side.
    #[test]
    fn the_rfc_7677_exchange_is_reproduced() {
        let mut client = ScramClient::with_nonce(
            Mechanism::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(client.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
            s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = client.client_final(server_first).expect("client-final");
        assert_eq!(
            client_final,
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        let server_final = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        client
            .verify_server_final(server_final)
            .expect("the server is genuine");
        let forged = b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        assert!(client.verify_server_final(forged).is_err());
    }

    #[test]
    fn the_client_authenticates_against_the_server_and_a_wrong_password_does_not() {
        for mechanism in Mechanism::ALL {
            let credential =
                ScramCredential::with_random_salt(mechanism, b"secret", 4096).expect("credential");
            for (password, ok) in [("secret", true), ("guess", false)] {
                let mut client = ScramClient::new(mechanism, "a,b=c", password).expect("client");
                let mut server = ScramServer::new(mechanism);
                let first = crate::scram::ClientFirst::parse(&client.client_first())
                    .expect("client-first parses");
                assert_eq!(first.user, "a,b=c");
                let challenge =
                    (server.challenge(first, Some(credential.clone()), "srv")).expect("challenge");
                let answer = client.client_final(&challenge).expect("client-final");
                match server.finish(&answer) {
                    Ok((server_final, user)) => {
                        assert!(ok, "{mechanism:?}: a wrong password authenticated");
                        assert_eq!(user, "a,b=c");
                        client
                            .verify_server_final(&server_final)
                            .expect("genuine server");
                    }
                    Err(e) => assert!(!ok, "{mechanism:?}: refused: {e}"),
                }
            }
        }
    }

    #[test]
    fn bad_server_messages_are_refused() {
        let mut client = ScramClient::with_nonce(Mechanism::Sha256, "u", "p", "abc".into());
        for bad in [
            &b"r=xyz,s=AAAA,i=4096"[..],
            b"r=abc,s=AAAA,i=4096",
            b"r=abcd,i=4096",
            b"r=abcd,s=AAAA",
            b"r=abcd,s=AAAA,i=100",
            b"r=abcd,s=AAAA,i=4000000000",
            b"m=x,r=abcd,s=AAAA,i=4096",
            b"\xff",
        ] {
            assert!(client.client_final(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            client.verify_server_final(b"v=AAAA").is_err(),
            "no proof sent yet"
        );
    }
}
