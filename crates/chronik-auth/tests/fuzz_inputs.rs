//! The `sasl_exchange` fuzz target's entry point on stable: the committed corpus, saved
//! regressions and a fixed-seed pseudo-random pass (see docs/fuzzing.md).

#[path = "../../../fuzz/harness/replay.rs"]
mod replay;
#[path = "../../../fuzz/harness/sasl_exchange.rs"]
mod sasl_exchange;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use replay::{PSEUDO_RANDOM_INPUTS, check_seed_files, pseudo_random_inputs, replay_saved, run_one};
use sasl_exchange::{Outcome, REFERENCES, SERVER_NONCE};

/// RFC 7677 §3's client messages, which the harness's credential and server nonce answer.
const RFC_7677: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO\0c=biws,\
    r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
    p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

/// The committed seeds: whole valid exchanges for both mechanisms (with an authorization id,
/// escaped names and librdkafka's repeated nonce), one with a wrong proof, PLAIN messages and a
/// client-first alone.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let [sha256, sha512] = &*REFERENCES;
    let wrong_proof = format!(
        "n,,n=user,r=abc\0c=biws,r=abc{SERVER_NONCE},p={}",
        BASE64.encode([0u8; 32])
    );
    vec![
        (
            "rfc7677-sha256",
            sha256.valid_exchange("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", ""),
        ),
        (
            "authzid-sha512",
            sha512.valid_exchange("n,a=alice,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", ""),
        ),
        (
            "escaped-name-sha256",
            sha256.valid_exchange("y,,n=a=2Cb=3Dc,r=xyz", ""),
        ),
        (
            "librdkafka-nonce-sha512",
            sha512.valid_exchange("n,,n=alice,r=cli", "cli"),
        ),
        ("wrong-proof", wrong_proof.into_bytes()),
        ("plain", b"\0alice\0pencil".to_vec()),
        ("plain-authzid", b"alice\0alice\0pencil".to_vec()),
        ("client-first-only", b"n,,n=user,r=abc,ext=1".to_vec()),
    ]
}

#[test]
fn the_reference_client_reproduces_rfc_7677() {
    assert_eq!(seeds()[0].1, RFC_7677.as_bytes());
}

#[test]
fn seed_corpus_matches_the_helpers() {
    let seeds = seeds();
    check_seed_files("sasl_exchange", &seeds);
    for (name, input) in &seeds {
        let outcome = sasl_exchange::run(input);
        let expected = match *name {
            "wrong-proof" | "client-first-only" => Outcome {
                first_parsed: true,
                reproved_authenticated: *name == "wrong-proof",
                ..Outcome::default()
            },
            "plain" | "plain-authzid" => Outcome {
                plain_parsed: true,
                ..Outcome::default()
            },
            _ => Outcome {
                first_parsed: true,
                final_authenticated: true,
                reproved_authenticated: true,
                ..Outcome::default()
            },
        };
        assert_eq!(outcome, expected, "{name}");
    }
}

#[test]
fn sasl_exchange_corpus_and_regressions_replay() {
    replay_saved("sasl_exchange", sasl_exchange::run);
}

#[test]
fn sasl_exchanges_survive_pseudo_random_input() {
    let bases: Vec<Vec<u8>> = seeds().into_iter().map(|(_, b)| b).collect();
    let (mut parsed, mut refused, mut reproved, mut plain) = (0, 0, 0, 0);
    for input in pseudo_random_inputs(&bases, PSEUDO_RANDOM_INPUTS, 6) {
        let outcome = run_one("sasl_exchange", &input, sasl_exchange::run);
        if outcome.first_parsed {
            parsed += 1;
        } else {
            refused += 1;
        }
        reproved += usize::from(outcome.reproved_authenticated);
        plain += usize::from(outcome.plain_parsed);
    }
    assert!(
        parsed > 200 && refused > 200 && reproved > 100 && plain > 20,
        "{parsed} / {refused} / {reproved} / {plain}"
    );
}
