//! Bad input gets a clear message on stderr and exit code 2, never a panic.

mod common;

use common::*;

fn assert_usage_error(run: &Run, needle: &str) {
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains(needle),
        "{needle:?} missing from:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_missing_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for command in ["list", "verify", "stats", "recover"] {
        let run = walctl_on(command, &missing, &[]);
        assert_usage_error(&run, "does not exist");
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    assert!(!missing.exists(), "recover created the missing dir");
}

#[test]
fn a_dir_without_partitions_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_usage_error(
        &walctl_on("list", dir.path(), &[]),
        "no partitions/ directory",
    );
    assert_usage_error(
        &walctl_on("recover", dir.path(), &[]),
        "no partitions/ directory",
    );
    assert!(
        !dir.path().join("chronik.lock").exists(),
        "recover locked a non-data dir"
    );
}

#[test]
fn an_unknown_topic_or_partition_is_refused() {
    let dir = fixture();
    let run = walctl_on("dump", dir.path(), &["--topic", "nope", "--partition", "0"]);
    assert_usage_error(&run, "no topic \"nope\"");
    let run = walctl_on(
        "dump",
        dir.path(),
        &["--topic", "orders", "--partition", "7"],
    );
    assert_usage_error(&run, "partition(s) 0, 1");
}

#[test]
fn bad_arguments_are_refused_by_clap() {
    assert_eq!(walctl(["frobnicate"]).code, 2);
    assert_eq!(walctl(["dump", "/tmp"]).code, 2, "dump without --topic");
    assert_eq!(walctl(["list", "/tmp", "--output", "yaml"]).code, 2);
}

#[test]
fn help_teaches_with_examples() {
    let run = walctl(["--help"]);
    assert_eq!(run.code, 0);
    for text in [
        "Examples:",
        "chronik-walctl verify",
        "Exit codes",
        "--output",
    ] {
        assert!(
            run.stdout.contains(text),
            "{text:?} missing from:\n{}",
            run.stdout
        );
    }
    let dump = walctl(["dump", "--help"]);
    assert!(
        dump.stdout.contains("--records") && dump.stdout.contains("0x"),
        "{}",
        dump.stdout
    );
}
