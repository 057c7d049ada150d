use super::*;

/// RFC 7677 §3's SHA-256 example: the whole exchange must reproduce it byte for byte.
#[test]
fn the_rfc_7677_exchange_authenticates_and_signs_like_the_rfc() {
    let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    let credential = ScramCredential::from_password(Mechanism::Sha256, b"pencil", &salt, 4096)
        .expect("credential");
    let mut server = ScramServer::new(Mechanism::Sha256);
    let first = ClientFirst::parse(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap();
    let server_first = server
        .challenge(first, Some(credential), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
        .unwrap();
    assert_eq!(
        server_first,
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let (server_final, user) = server
        .finish(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        .unwrap();
    assert_eq!(
        server_final,
        b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    );
    assert_eq!(user, "user");
}

#[test]
fn a_wrong_proof_or_nonce_is_refused() {
    let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    let credential =
        ScramCredential::from_password(Mechanism::Sha256, b"pencil", &salt, 4096).unwrap();
    let start = |server: &mut ScramServer| {
        let first = ClientFirst::parse(b"n,,n=user,r=abc").unwrap();
        server
            .challenge(first, Some(credential.clone()), "def")
            .unwrap();
    };
    let mut server = ScramServer::new(Mechanism::Sha256);
    start(&mut server);
    let wrong_proof = format!("c=biws,r=abcdef,p={}", BASE64.encode([7u8; 32]));
    assert!(matches!(
        server.finish(wrong_proof.as_bytes()),
        Err(AuthError::BadCredentials)
    ));
    // One exchange, one answer: a second attempt on the same exchange is refused.
    assert!(server.finish(wrong_proof.as_bytes()).is_err());
    let mut server = ScramServer::new(Mechanism::Sha256);
    start(&mut server);
    let wrong_nonce = format!("c=biws,r=abcdefx,p={}", BASE64.encode([7u8; 32]));
    assert!(matches!(
        server.finish(wrong_nonce.as_bytes()),
        Err(AuthError::Refused(_))
    ));
}

#[test]
fn unknown_users_and_credentials_of_another_mechanism_are_bad_credentials() {
    let credential =
        ScramCredential::from_password(Mechanism::Sha256, b"pw", b"salt", 4096).unwrap();
    let first = || ClientFirst::parse(b"n,,n=alice,r=abc").unwrap();
    let mut server = ScramServer::new(Mechanism::Sha512);
    assert!(matches!(
        server.challenge(first(), Some(credential), "x"),
        Err(AuthError::BadCredentials)
    ));
    let mut server = ScramServer::new(Mechanism::Sha512);
    assert!(matches!(
        server.challenge(first(), None, "x"),
        Err(AuthError::BadCredentials)
    ));
}

#[test]
fn client_first_messages_parse_escapes_and_refuse_what_is_not_supported() {
    let first = ClientFirst::parse(b"n,,n=a=2Cb=3Dc,r=xyz").unwrap();
    assert_eq!(first.user, "a,b=c");
    assert!(ClientFirst::parse(b"n,a=alice,n=alice,r=x").is_ok());
    for bad in [
        &b"p=tls-unique,,n=a,r=x"[..],
        b"n,a=bob,n=alice,r=x",
        // Found by the sasl_exchange fuzz target: a middle field that is no "a=" authzid.
        b"y,.,n=a,r=i",
        b"n,alice,n=alice,r=x",
        b"n,a<alice,n=alice,r=x",
        b"n,a=,n=alice,r=x",
        b"n,,n=alice,r=x,tokenauth=true",
        b"n,,n=a=2,r=x",
        b"n,,n=,r=x",
        b"n,,r=x",
        b"n,,n=alice",
        b"\xff\xfe",
        b"",
    ] {
        assert!(ClientFirst::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn plain_passwords_match_only_their_credential() {
    for mechanism in Mechanism::ALL {
        let salt = random_salt(mechanism).unwrap();
        let credential = ScramCredential::from_password(mechanism, b"secret", &salt, 4096).unwrap();
        assert_eq!(credential.stored_key.len(), mechanism.key_len());
        assert!(credential.matches_password(b"secret"));
        assert!(!credential.matches_password(b"Secret"));
        assert!(!credential.matches_password(b""));
    }
}

#[test]
fn credentials_outside_kafkas_bounds_are_refused() {
    for iterations in [0, 4095, 16385] {
        assert!(
            ScramCredential::from_password(Mechanism::Sha512, b"pw", b"salt", iterations).is_err()
        );
    }
    assert!(ScramCredential::from_salted_password(Mechanism::Sha512, b"x", b"", 4096).is_err());
    assert_eq!(
        Mechanism::from_name("scram-sha-512"),
        Some(Mechanism::Sha512)
    );
    assert_eq!(Mechanism::from_kafka_id(1), Some(Mechanism::Sha256));
    assert_eq!(Mechanism::from_kafka_id(0), None);
}

/// librdkafka 2.0 sends its client nonce twice (client nonce + the server's whole nonce);
/// Kafka accepts a nonce that ends with its own, so must we, with the proof over what was sent.
#[test]
fn a_nonce_ending_with_the_servers_is_accepted_as_kafka_does() {
    let salt = b"0123456789abcdef";
    let credential = ScramCredential::from_password(Mechanism::Sha256, b"pw", salt, 4096).unwrap();
    let mut server = ScramServer::new(Mechanism::Sha256);
    let first = ClientFirst::parse(b"n,,n=u,r=cli").unwrap();
    server.challenge(first, Some(credential), "srv").unwrap();
    let without_proof = "c=biws,r=cliclisrv";
    let auth_message = format!(
        "n=u,r=cli,r=clisrv,s={},i=4096,{without_proof}",
        BASE64.encode(salt)
    );
    let salted = salted_password(Mechanism::Sha256, b"pw", salt, 4096).unwrap();
    let client_key = Mechanism::Sha256.mac(&salted, b"Client Key");
    let stored_key = Mechanism::Sha256.hash(&client_key);
    let signature = Mechanism::Sha256.mac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect();
    let message = format!("{without_proof},p={}", BASE64.encode(proof));
    assert!(server.finish(message.as_bytes()).is_ok());
}

mod arbitrary_input {
    use proptest::prelude::*;

    use super::*;

    fn challenged(mechanism: Mechanism) -> ScramServer {
        let credential =
            ScramCredential::from_password(mechanism, b"pw", b"salt-salt", 4096).unwrap();
        let mut server = ScramServer::new(mechanism);
        let first = ClientFirst::parse(b"n,,n=u,r=abc").unwrap();
        server.challenge(first, Some(credential), "def").unwrap();
        server
    }

    proptest! {
        /// Whatever a client sends, parsing and checking answer with an error or a result:
        /// they never panic, and garbage never authenticates.
        #[test]
        fn arbitrary_client_messages_are_refused_without_panicking(
            first in proptest::collection::vec(any::<u8>(), 0..200),
            last in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let _ = ClientFirst::parse(&first);
            let _ = crate::PlainCredentials::parse(&first);
            let mut server = challenged(Mechanism::Sha512);
            prop_assert!(server.finish(&last).is_err());
        }

        /// Valid-looking messages with arbitrary fields: the same.
        #[test]
        fn mangled_client_final_messages_are_refused(
            binding in "[ -~]{0,12}",
            nonce in "[ -~]{0,12}",
            proof in "[A-Za-z0-9+/=]{0,100}",
        ) {
            let mut server = challenged(Mechanism::Sha256);
            let message = format!("c={binding},r=abc{nonce},p={proof}");
            prop_assert!(server.finish(message.as_bytes()).is_err());
        }
    }
}

#[test]
fn a_credential_prints_without_its_salt_or_keys() {
    let credential =
        ScramCredential::from_password(Mechanism::Sha256, b"pw", b"salty", 4096).unwrap();
    let printed = format!("{credential:?}");
    assert!(
        printed.contains("Sha256") && printed.contains("4096"),
        "{printed}"
    );
    assert!(
        !printed.contains("salt:") && !printed.contains("key"),
        "{printed}"
    );
}
