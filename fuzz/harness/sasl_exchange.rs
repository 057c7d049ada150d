//! Body of the `sasl_exchange` fuzz target, shared with the stable replay test
//! `crates/chronik-auth/tests/fuzz_inputs.rs` (both include this file with `#[path]`).
//!
//! The input is what an unauthenticated client sends in SaslAuthenticate: up to the first NUL
//! byte a SCRAM client-first message, after it the client-final message. Both go through the
//! broker's steps (`ClientFirst::parse`, `ScramServer::challenge`, `ScramServer::finish`) for
//! SCRAM-SHA-256 and SCRAM-SHA-512, with a stored credential for whatever user the message
//! names. The whole input is also parsed as a SASL PLAIN message and as a client-first.
//!
//! The checks use a reference client written here from RFC 5802 with ring's HMAC, digest and
//! PBKDF2 (not the library's code): whatever the server accepts carries the proof only the
//! password gives, and for every client-first it accepts, the client-final a real client would
//! send authenticates, as does the fuzzed client-final with its proof replaced by the right one
//! whenever its other fields are well-formed.

use std::num::NonZeroU32;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chronik_auth::scram::{ClientFirst, MIN_ITERATIONS};
use chronik_auth::{AuthError, PlainCredentials, ScramCredential, ScramMechanism, ScramServer};
use ring::{digest, hmac, pbkdf2};

/// RFC 7677's example credential and server nonce, so that its exchange is a valid input.
pub const PASSWORD: &[u8] = b"pencil";
pub const SALT_B64: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
pub const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
/// The cheapest count a credential may have (also RFC 7677's); PBKDF2 runs once per process.
pub const ITERATIONS: u32 = MIN_ITERATIONS;

/// What one input did, so the replay test can tell that every path was reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub plain_parsed: bool,
    pub first_parsed: bool,
    /// The client-final exactly as given authenticated (only a valid exchange can).
    pub final_authenticated: bool,
    /// The client-final's fields with the right proof authenticated.
    pub reproved_authenticated: bool,
}

pub fn run(data: &[u8]) -> Outcome {
    let mut outcome = Outcome {
        plain_parsed: plain(data),
        ..Outcome::default()
    };
    if let Ok(parsed) = ClientFirst::parse(data) {
        client_first_parts(data, &parsed);
    }
    let (first, last) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let [sha256, sha512] = &*REFERENCES;
    exchange(sha256, sha512, first, last, &mut outcome);
    exchange(sha512, sha256, first, last, &mut outcome);
    outcome
}

/// PLAIN accepts exactly "[authzid] NUL user NUL password" with a non-empty UTF-8 user and an
/// authzid that is empty or the user, and hands on those bytes unchanged.
fn plain(data: &[u8]) -> bool {
    let parts: Vec<&[u8]> = data.split(|b| *b == 0).collect();
    let well_formed = parts.len() == 3
        && std::str::from_utf8(parts[1]).is_ok_and(|user| !user.is_empty())
        && (parts[0].is_empty() || parts[0] == parts[1]);
    match PlainCredentials::parse(data) {
        Ok(credentials) => {
            assert!(well_formed, "PLAIN accepted {data:?}");
            assert_eq!(credentials.user.as_bytes(), parts[1]);
            assert_eq!(credentials.password, parts[2]);
            true
        }
        Err(e) => {
            assert!(!well_formed, "PLAIN refused {data:?}: {e}");
            false
        }
    }
}

/// The server's half of one exchange, checked against the reference client.
fn exchange(
    reference: &Reference,
    other: &Reference,
    first: &[u8],
    last: &[u8],
    outcome: &mut Outcome,
) {
    let mechanism = reference.mechanism;
    let Ok(parsed) = ClientFirst::parse(first) else {
        return;
    };
    outcome.first_parsed = true;
    let parts = client_first_parts(first, &parsed);
    // ClientFirst is not Clone; each server below gets its own parse.
    let parse = || {
        let again = ClientFirst::parse(first).expect("parsing is deterministic");
        assert_eq!(again, parsed);
        again
    };

    // An unknown user, or one with a credential for the other mechanism only: refused at once,
    // and the exchange cannot be finished afterwards.
    for credential in [None, Some(other.credential.clone())] {
        let mut server = ScramServer::new(mechanism);
        let answer = server.challenge(parse(), credential, SERVER_NONCE);
        assert!(
            matches!(answer, Err(AuthError::BadCredentials)),
            "{answer:?}"
        );
        assert!(server.finish(last).is_err());
    }

    let nonce = format!("{}{SERVER_NONCE}", parts.client_nonce);
    let server_first = format!("r={nonce},s={SALT_B64},i={ITERATIONS}");
    let transcript = format!("{},{server_first}", parts.bare);
    let challenged = || {
        let mut server = ScramServer::new(mechanism);
        let answer = server
            .challenge(parse(), Some(reference.credential.clone()), SERVER_NONCE)
            .expect("a parsed client-first with the user's credential is challenged");
        assert_eq!(String::from_utf8(answer).as_deref(), Ok(&*server_first));
        server
    };
    // Checks an accepted client-final: its fields, proof, server-final and user.
    let check_accepted = |message: &[u8], server_final: Vec<u8>, user: String| {
        let text = std::str::from_utf8(message).expect("an accepted client-final is UTF-8");
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .expect("an accepted client-final has a proof");
        let mut fields = without_proof.split(',');
        let binding = fields.next().and_then(|f| f.strip_prefix("c="));
        assert_eq!(
            binding.and_then(|b| BASE64.decode(b).ok()).as_deref(),
            Some(parts.gs2_header.as_bytes()),
            "the channel binding echoes the gs2 header"
        );
        let echoed = fields.next().and_then(|f| f.strip_prefix("r="));
        assert!(echoed.is_some_and(|r| r.ends_with(&nonce)), "{echoed:?}");
        let auth_message = format!("{transcript},{without_proof}");
        assert_eq!(
            BASE64.decode(proof).ok(),
            Some(reference.proof(&auth_message)),
            "authenticated without the proof the password gives"
        );
        assert_eq!(
            String::from_utf8(server_final).as_deref(),
            Ok(&*reference.server_final(&auth_message))
        );
        assert_eq!(user, parsed.user);
    };

    // The client-final as the fuzzer wrote it; one exchange gives one answer.
    let mut server = challenged();
    let verdict = server.finish(last);
    assert!(server.finish(last).is_err());
    if let Ok((server_final, user)) = verdict {
        check_accepted(last, server_final, user);
        outcome.final_authenticated = true;
    }

    // The fuzzed fields with the right proof for them (the proof is the last field, so what
    // follows the last ",p=" is replaced): accepted exactly when the fields are well-formed.
    let text = String::from_utf8_lossy(last);
    let without_proof = text.rsplit_once(",p=").map_or(&*text, |(w, _)| w);
    let proof = reference.proof(&format!("{transcript},{without_proof}"));
    let reproved = format!("{without_proof},p={}", BASE64.encode(&proof));
    let mut server = challenged();
    match server.finish(reproved.as_bytes()) {
        Ok((server_final, user)) => {
            check_accepted(reproved.as_bytes(), server_final, user);
            outcome.reproved_authenticated = true;
        }
        Err(e) => {
            let mut fields = without_proof.split(',');
            let canonical_binding = format!("c={}", BASE64.encode(&parts.gs2_header));
            let well_formed = fields.next() == Some(&*canonical_binding)
                && fields
                    .next()
                    .and_then(|f| f.strip_prefix("r="))
                    .is_some_and(|r| r.ends_with(&nonce));
            assert!(
                !well_formed,
                "refused {reproved:?} with the right proof: {e}"
            );
        }
    }

    // What a real client sends authenticates; the same with one proof bit flipped does not.
    let without_proof = format!("c={},r={nonce}", BASE64.encode(&parts.gs2_header));
    let mut proof = reference.proof(&format!("{transcript},{without_proof}"));
    let client_final = format!("{without_proof},p={}", BASE64.encode(&proof));
    let (server_final, user) = challenged()
        .finish(client_final.as_bytes())
        .unwrap_or_else(|e| panic!("refused the reference client's {client_final:?}: {e}"));
    check_accepted(client_final.as_bytes(), server_final, user);
    let at = data_dependent_index(first, last, proof.len());
    proof[at] ^= 1 << (at % 8);
    let tampered = format!("{without_proof},p={}", BASE64.encode(&proof));
    let answer = challenged().finish(tampered.as_bytes());
    assert!(
        matches!(answer, Err(AuthError::BadCredentials)),
        "{answer:?}"
    );
}

/// Which proof byte to flip, varied by the input so that every position gets its turn.
fn data_dependent_index(first: &[u8], last: &[u8], len: usize) -> usize {
    (first.len() + last.len()) % len
}

/// The parts of an accepted client-first, read here per RFC 5802 (`gs2-header
/// client-first-message-bare`), after checking that the parser accepted only that grammar.
struct ClientFirstParts {
    gs2_header: String,
    bare: String,
    client_nonce: String,
}

fn client_first_parts(message: &[u8], parsed: &ClientFirst) -> ClientFirstParts {
    let text = std::str::from_utf8(message).expect("an accepted client-first is UTF-8");
    let mut parts = text.splitn(3, ',');
    let (Some(cbind), Some(authzid), Some(bare)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("accepted a client-first without a gs2 header: {text:?}");
    };
    assert!(cbind == "n" || cbind == "y", "channel binding {cbind:?}");
    assert!(!parsed.user.is_empty());
    // saslname escapes "=" and "," and nothing else, so a name has exactly one spelling.
    let name = parsed.user.replace('=', "=3D").replace(',', "=2C");
    assert!(
        authzid.is_empty() || authzid == format!("a={name}"),
        "accepted the authorization id field {authzid:?} for user {:?}",
        parsed.user
    );
    let mut fields = bare.split(',');
    assert_eq!(fields.next(), Some(&*format!("n={name}")));
    let client_nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .filter(|n| !n.is_empty())
        .expect("an accepted client-first has a nonce");
    assert!(fields.all(|f| !f.starts_with("tokenauth=")));
    ClientFirstParts {
        gs2_header: format!("{cbind},{authzid},"),
        bare: bare.to_string(),
        client_nonce: client_nonce.to_string(),
    }
}

/// The client side of RFC 5802 for [`PASSWORD`], and the credential the server stores for it.
pub struct Reference {
    pub mechanism: ScramMechanism,
    pub credential: ScramCredential,
    client_key: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

pub static REFERENCES: LazyLock<[Reference; 2]> = LazyLock::new(|| {
    [
        Reference::new(ScramMechanism::Sha256),
        Reference::new(ScramMechanism::Sha512),
    ]
});

impl Reference {
    fn new(mechanism: ScramMechanism) -> Self {
        let (pbkdf2_alg, digest_alg) = match mechanism {
            ScramMechanism::Sha256 => (pbkdf2::PBKDF2_HMAC_SHA256, &digest::SHA256),
            ScramMechanism::Sha512 => (pbkdf2::PBKDF2_HMAC_SHA512, &digest::SHA512),
        };
        let salt = BASE64.decode(SALT_B64).expect("the salt is base64");
        let mut salted = vec![0; digest_alg.output_len()];
        let rounds = NonZeroU32::new(ITERATIONS).expect("iterations are positive");
        pbkdf2::derive(pbkdf2_alg, rounds, &salt, PASSWORD, &mut salted);
        let client_key = mac(mechanism, &salted, b"Client Key");
        let stored_key = digest::digest(digest_alg, &client_key).as_ref().to_vec();
        let server_key = mac(mechanism, &salted, b"Server Key");
        let credential = ScramCredential::from_password(mechanism, PASSWORD, &salt, ITERATIONS)
            .expect("the fixed credential is valid");
        assert!(credential.stored_key == stored_key && credential.server_key == server_key);
        Reference {
            mechanism,
            credential,
            client_key,
            stored_key,
            server_key,
        }
    }

    /// ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).
    pub fn proof(&self, auth_message: &str) -> Vec<u8> {
        let signature = mac(self.mechanism, &self.stored_key, auth_message.as_bytes());
        self.client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect()
    }

    /// "v=" base64(HMAC(ServerKey, AuthMessage)).
    pub fn server_final(&self, auth_message: &str) -> String {
        let signature = mac(self.mechanism, &self.server_key, auth_message.as_bytes());
        format!("v={}", BASE64.encode(signature))
    }

    /// The input of a whole valid exchange: `client_first` NUL the client-final a real client
    /// sends after the server's challenge (`client_nonce_prefix` goes before the nonce it
    /// echoes, as librdkafka 2.0 repeats its own nonce there).
    pub fn valid_exchange(&self, client_first: &str, client_nonce_prefix: &str) -> Vec<u8> {
        let parsed = ClientFirst::parse(client_first.as_bytes()).expect("a valid client-first");
        let parts = client_first_parts(client_first.as_bytes(), &parsed);
        let nonce = format!("{}{SERVER_NONCE}", parts.client_nonce);
        let server_first = format!("r={nonce},s={SALT_B64},i={ITERATIONS}");
        let without_proof = format!(
            "c={},r={client_nonce_prefix}{nonce}",
            BASE64.encode(&parts.gs2_header)
        );
        let auth_message = format!("{},{server_first},{without_proof}", parts.bare);
        let proof = BASE64.encode(self.proof(&auth_message));
        format!("{client_first}\0{without_proof},p={proof}").into_bytes()
    }
}

fn mac(mechanism: ScramMechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    let algorithm = match mechanism {
        ScramMechanism::Sha256 => hmac::HMAC_SHA256,
        ScramMechanism::Sha512 => hmac::HMAC_SHA512,
    };
    hmac::sign(&hmac::Key::new(algorithm, key), data)
        .as_ref()
        .to_vec()
}
