//! With `LogFormat::Json`, the error that ends a run and a panic are JSON lines like every
//! other; checked in a child process, since the logger and the panic hook are process-wide.

use std::process::Command;

use serde_json::Value;

/// Set in the child: it logs, reports an error and panics instead of checking.
const CHILD: &str = "CHRONIK_CLI_JSON_LOG_CHILD";

#[test]
fn an_error_and_a_panic_are_json_lines() {
    if std::env::var_os(CHILD).is_some() {
        chronik_cli::init_tracing("info", chronik_cli::LogFormat::Json);
        tracing::info!(answer = 42, "started");
        chronik_cli::report_error("cannot open \"the thing\"; check it");
        panic!("a test panic\nover two lines");
    }
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "an_error_and_a_panic_are_json_lines",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("run the child");
    assert!(!out.status.success(), "the child panicked");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert!(!stderr.contains('\x1b'), "no ANSI codes:\n{stderr}");
    let lines: Vec<Value> = (stderr.lines())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line[key].is_string(), "{key} missing: {line}");
        }
    }
    assert_eq!(lines[0]["message"], "started");
    assert_eq!(lines[0]["answer"], 42);
    assert_eq!(lines[1]["level"], "ERROR");
    assert_eq!(lines[1]["target"], "chronik");
    assert_eq!(lines[1]["message"], "cannot open \"the thing\"; check it");
    assert_eq!(lines[2]["level"], "ERROR");
    assert_eq!(lines[2]["target"], "panic");
    assert_eq!(
        lines[2]["message"],
        "panicked: a test panic\nover two lines"
    );
    assert!(
        lines[2]["location"]
            .as_str()
            .is_some_and(|l| l.contains("json_logs.rs")),
        "{}",
        lines[2]
    );
}
