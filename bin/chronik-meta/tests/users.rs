//! `chronik-meta users ...` against a three-voter quorum of real processes: a user added
//! through any node is listed (without keys) and can be deleted; bad input exits 2.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::Cluster;

const CATCH_UP: Duration = Duration::from_secs(10);

fn meta(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chronik-meta"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chronik-meta");
    let mut input = child.stdin.take().expect("stdin");
    // A command that fails before reading closes its stdin: ignore the broken pipe.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("wait for chronik-meta")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn users_are_added_listed_and_deleted_through_the_quorum() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(3);
    let all = cluster.addresses();
    cluster.start_all();
    cluster.wait_leader(&all, CATCH_UP);

    let add = [
        "users",
        "add",
        "admin",
        "--mechanism",
        "SCRAM-SHA-512",
        "--password-stdin",
        "--meta",
        &all,
    ];
    let out = meta(&add, "s3cret\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let list = ["--output", "json", "users", "list", "--meta", &all];
    let out = meta(&list, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        rows,
        serde_json::json!([{"user": "admin", "mechanism": "SCRAM-SHA-512", "iterations": 8192}])
    );

    // Bad input exits 2 with the reason; nothing reaches the quorum.
    let bad: [(&[&str], &str, &str); 3] = [
        (
            &["--mechanism", "MD5"],
            "pw\n",
            "unknown SCRAM mechanism 'MD5'",
        ),
        (
            &["--mechanism", "SCRAM-SHA-256"],
            "\n",
            "password on stdin is empty",
        ),
        (
            &["--mechanism", "SCRAM-SHA-256", "--iterations", "100"],
            "pw\n",
            "100 is not in 4096..=16384",
        ),
    ];
    for (extra, stdin, message) in bad {
        let mut args = vec!["users", "add", "bob", "--password-stdin", "--meta", &all];
        args.extend_from_slice(extra);
        let out = meta(&args, stdin);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
    let delete = [
        "users",
        "delete",
        "bob",
        "--mechanism",
        "SCRAM-SHA-256",
        "--meta",
        &all,
    ];
    let out = meta(&delete, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("ERROR_KIND_RESOURCE_NOT_FOUND"),
        "{}",
        text(&out.stderr)
    );

    let delete = [
        "users",
        "delete",
        "admin",
        "--mechanism",
        "SCRAM-SHA-512",
        "--meta",
        &all,
    ];
    let out = meta(&delete, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = meta(&list, "");
    assert_eq!(text(&out.stdout).trim(), "[]");
}
