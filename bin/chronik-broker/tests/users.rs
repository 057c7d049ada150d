//! `chronik-broker users ...` on a data dir, and the Kafka SCRAM credential APIs on the broker
//! that then starts on it: the first user exists before the broker first runs, bad input exits
//! 2 and writes nothing, a running broker keeps the command off its dir.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use chronik_kafka::kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use chronik_kafka::kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use chronik_kafka::kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use common::BrokerProc;

/// Runs `chronik-broker users ARGS` on `dir`'s data dir with `stdin` piped in.
fn users(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
        .arg("users")
        .args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chronik-broker users");
    let mut input = child.stdin.take().expect("stdin");
    // A command that fails before reading closes its stdin: ignore the broken pipe.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child
        .wait_with_output()
        .expect("wait for chronik-broker users")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (user, mechanism, iterations) of `users list --output json`.
fn listed(dir: &Path) -> Vec<(String, String, u64)> {
    let out = users(dir, &["list", "--output", "json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    (rows.as_array().expect("an array").iter())
        .map(|r| {
            (
                r["user"].as_str().expect("user").to_owned(),
                r["mechanism"].as_str().expect("mechanism").to_owned(),
                r["iterations"].as_u64().expect("iterations"),
            )
        })
        .collect()
}

fn row(user: &str, mechanism: &str, iterations: u64) -> (String, String, u64) {
    (user.to_owned(), mechanism.to_owned(), iterations)
}

#[test]
fn the_first_user_is_added_before_the_broker_first_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let add = [
        "add",
        "admin",
        "--mechanism",
        "SCRAM-SHA-512",
        "--password-stdin",
    ];
    let out = users(dir.path(), &add, "admin-secret\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("user 'admin'"), "{}", stdout(&out));
    let more = [
        "add",
        "app",
        "--mechanism",
        "scram-sha-256",
        "--password-stdin",
        "--iterations",
        "4096",
    ];
    let out = users(dir.path(), &more, "app-secret");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let both = vec![
        row("admin", "SCRAM-SHA-512", 8192),
        row("app", "SCRAM-SHA-256", 4096),
    ];
    assert_eq!(listed(dir.path()), both);
    let table = stdout(&users(dir.path(), &["list"], ""));
    assert!(
        table.contains("admin") && table.contains("SCRAM-SHA-512"),
        "{table}"
    );
    assert!(!table.contains("secret"), "{table}");

    // The broker starts on the dir and serves the users over the Kafka API.
    let mut broker = BrokerProc::start(dir.path(), &[]);
    let mut client = broker.client();
    let all: DescribeUserScramCredentialsResponse = client.call(
        ApiKey::DescribeUserScramCredentials,
        0,
        &DescribeUserScramCredentialsRequest::default(),
    );
    let described: Vec<(String, Vec<(i8, i32)>)> = (all.results.iter())
        .map(|r| {
            let infos = r.credential_infos.iter();
            let infos = infos.map(|c| (c.mechanism, c.iterations)).collect();
            (r.user.to_string(), infos)
        })
        .collect();
    assert_eq!(
        described,
        [
            ("admin".to_owned(), vec![(2, 8192)]),
            ("app".to_owned(), vec![(1, 4096)])
        ]
    );

    // While it runs, the offline command is refused and says why.
    let out = users(dir.path(), &add, "other\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("locked by a running broker"),
        "{}",
        stderr(&out)
    );

    kafka_apis_follow_kafka(&mut client);
    assert!(broker.terminate().success());
    let after = vec![
        row("app", "SCRAM-SHA-256", 4096),
        row("carol", "SCRAM-SHA-256", 4096),
    ];
    assert_eq!(
        listed(dir.path()),
        after,
        "the API's changes are in the metadata"
    );
}

/// AlterUserScramCredentials and DescribeUserScramCredentials as Kafka answers them.
fn kafka_apis_follow_kafka(client: &mut common::Client) {
    let name = |s: &str| StrBytes::from_string(s.to_owned());
    let upsert = |user: &str, mechanism: i8, iterations: i32| {
        ScramCredentialUpsertion::default()
            .with_name(name(user))
            .with_mechanism(mechanism)
            .with_iterations(iterations)
            .with_salt(bytes::Bytes::from_static(b"salt"))
            .with_salted_password(bytes::Bytes::from_static(b"salted-password"))
    };
    let delete = |user: &str, mechanism: i8| {
        ScramCredentialDeletion::default()
            .with_name(name(user))
            .with_mechanism(mechanism)
    };
    let req = AlterUserScramCredentialsRequest::default()
        .with_deletions(vec![
            delete("admin", 2),
            delete("nobody", 1),
            delete("dup", 1),
        ])
        .with_upsertions(vec![
            upsert("carol", 1, 4096),
            upsert("dave", 9, 4096),
            upsert("erin", 1, 100),
            upsert("dup", 1, 4096),
        ]);
    let resp: AlterUserScramCredentialsResponse =
        client.call(ApiKey::AlterUserScramCredentials, 0, &req);
    let codes: Vec<(String, i16)> = (resp.results.iter())
        .map(|r| (r.user.to_string(), r.error_code))
        .collect();
    assert_eq!(
        codes,
        [
            ("admin".to_owned(), 0),
            ("nobody".to_owned(), 91), // RESOURCE_NOT_FOUND
            ("dup".to_owned(), 92),    // DUPLICATE_RESOURCE
            ("carol".to_owned(), 0),
            ("dave".to_owned(), 33), // UNSUPPORTED_SASL_MECHANISM
            ("erin".to_owned(), 93), // UNACCEPTABLE_CREDENTIAL
        ]
    );
    for r in &resp.results {
        let message = r
            .error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default();
        assert!(!message.contains("salted-password"), "{message}");
    }

    let users = ["carol", "nobody", "carol"].map(|u| UserName::default().with_name(name(u)));
    let req = DescribeUserScramCredentialsRequest::default().with_users(Some(users.to_vec()));
    let resp: DescribeUserScramCredentialsResponse =
        client.call(ApiKey::DescribeUserScramCredentials, 0, &req);
    let codes: Vec<(String, i16)> = (resp.results.iter())
        .map(|r| (r.user.to_string(), r.error_code))
        .collect();
    assert_eq!(codes, [("carol".to_owned(), 92), ("nobody".to_owned(), 91)]);
    let req = DescribeUserScramCredentialsRequest::default()
        .with_users(Some(vec![UserName::default().with_name(name("app"))]));
    let resp: DescribeUserScramCredentialsResponse =
        client.call(ApiKey::DescribeUserScramCredentials, 0, &req);
    assert_eq!(resp.results.len(), 1);
    assert_eq!(resp.results[0].error_code, 0);
    assert_eq!(resp.results[0].credential_infos[0].iterations, 4096);
}

/// `users add admin --password-stdin EXTRA...`.
fn add(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec!["add", "admin", "--password-stdin"];
    args.extend_from_slice(extra);
    args
}

#[test]
fn bad_input_exits_2_with_a_message_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(Vec<&str>, &str, &str); 5] = [
        (
            add(&["--mechanism", "SCRAM-SHA-1"]),
            "pw\n",
            "unknown SCRAM mechanism 'SCRAM-SHA-1'",
        ),
        (
            add(&["--mechanism", "SCRAM-SHA-512"]),
            "\n",
            "the password on stdin is empty",
        ),
        (
            add(&["--mechanism", "SCRAM-SHA-512"]),
            "",
            "the password on stdin is empty",
        ),
        (
            add(&["--mechanism", "SCRAM-SHA-512", "--iterations", "100"]),
            "pw\n",
            "100 is not in 4096..=16384",
        ),
        (
            vec![
                "add",
                "",
                "--mechanism",
                "SCRAM-SHA-512",
                "--password-stdin",
            ],
            "pw\n",
            "the user name is empty",
        ),
    ];
    for (args, stdin, message) in cases {
        let out = users(dir.path(), &args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("pw"), "{args:?} echoed the password");
        assert!(
            !dir.path().join("data").exists(),
            "{args:?} wrote something"
        );
    }
    // Without --password-stdin there is no password to take.
    let out = users(
        dir.path(),
        &["add", "admin", "--mechanism", "SCRAM-SHA-256"],
        "pw\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!dir.path().join("data").exists());

    // Deleting what is absent says so.
    let gone = ["delete", "admin", "--mechanism", "SCRAM-SHA-256"];
    let out = users(dir.path(), &gone, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("user 'admin' has no SCRAM-SHA-256 credential"),
        "{}",
        stderr(&out)
    );
}
