//! `--log-format json`: a broker under load, stopped with SIGTERM, writes nothing on stderr but
//! JSON objects with timestamp, level, target and message, its startup and shutdown included.

mod common;

use chronik_records::build_batch;
use common::BrokerProc;
use common::json_log::{parse_json_log, with_message};
use common::ops::*;

const BATCHES: usize = 40;
const RECORDS_PER_BATCH: usize = 100;

#[test]
fn a_json_log_under_load_is_one_object_per_line_from_start_to_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &["--log-format", "json", "--id", "7"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "logged", 2), 0);
    let values: Vec<Vec<u8>> = (0..RECORDS_PER_BATCH)
        .map(|i| format!("record \"{i}\"\nwith a newline").into_bytes())
        .collect();
    let values: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    for n in 0..BATCHES {
        let p = produce(&mut c, "logged", (n % 2) as i32, build_batch(&values, 0));
        assert_eq!(p.error_code, 0, "produce {n}");
    }
    let mut fetched = 0;
    for partition in 0..2 {
        let data = fetch(&mut c, "logged", partition, 0, 100);
        assert_eq!(data.error_code, 0);
        fetched += data.high_watermark;
    }
    assert_eq!(fetched, (BATCHES * RECORDS_PER_BATCH) as i64);
    drop(c);
    let status = broker.terminate();
    assert!(status.success(), "the broker exited with {status}");

    let log = std::fs::read_to_string(
        dir.path()
            .join(format!("broker-{}.log", broker.addr.port())),
    )
    .expect("read the broker's log");
    let lines = parse_json_log(&log);
    let started = with_message(&lines, "broker started");
    assert_eq!(started.len(), 1, "one startup line:\n{log}");
    assert_eq!(
        started[0]["broker"], 7,
        "the broker we started: {:?}",
        started[0]
    );
    assert_eq!(started[0]["listen"], broker.addr.to_string());
    assert_eq!(started[0]["level"], "INFO");
    assert_eq!(started[0]["target"], "chronik_broker::broker");
    for message in [
        "SIGTERM received",
        "shutting down: moving leaderships away, then finishing in-flight requests",
        "broker stopped; data dir closed cleanly",
    ] {
        assert_eq!(
            with_message(&lines, message).len(),
            1,
            "{message:?} in:\n{log}"
        );
    }
    let last = lines.last().expect("a log line");
    assert_eq!(last["message"], "broker stopped; data dir closed cleanly");
    let created = with_message(&lines, "topic created");
    assert!(
        created
            .iter()
            .any(|l| l["topic"] == "logged" && l["partitions"] == 2),
        "the topic's creation, with its fields: {created:?}"
    );
    assert!(
        (lines.iter()).all(|l| l["timestamp"].as_str().is_some_and(|t| t.ends_with('Z'))),
        "timestamps are RFC 3339 in UTC"
    );
    assert!(
        !lines.iter().any(|l| l.contains_key("fields")),
        "fields sit beside the message, not under \"fields\""
    );
}

#[test]
fn a_failed_start_is_reported_as_a_json_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
        .args(["--log-format", "json", "--data-dir"])
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:1", "--id", "0"])
        .output()
        .expect("run chronik-broker");
    assert_eq!(out.status.code(), Some(2));
    let lines = parse_json_log(&String::from_utf8_lossy(&out.stderr));
    let last = lines.last().expect("an error line");
    assert_eq!(last["level"], "ERROR");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("--id must be 1 or more")),
        "{last:?}"
    );
}
