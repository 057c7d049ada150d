//! Smoke test with a real Kafka client (kcat / librdkafka). `tests/run-all.sh` installs kcat;
//! without it this test fails rather than passing without checking anything.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::BrokerProc;

fn kcat_available() -> bool {
    Command::new("kcat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn kcat_produces_and_consumes() {
    assert!(
        kcat_available(),
        "kcat is not installed: run `apt-get install -y kcat` (tests/run-all.sh does)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let bootstrap = broker.addr.to_string();
    let lines: String = (0..1000).map(|i| format!("message-{i}\n")).collect();
    let mut producer = Command::new("kcat")
        .args(["-P", "-b", &bootstrap, "-t", "smoke", "-X", "acks=all"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn kcat -P");
    producer
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("feed kcat");
    assert!(
        producer.wait().expect("kcat -P").success(),
        "kcat -P failed"
    );
    let out = Command::new("timeout")
        .args([
            "30", "kcat", "-C", "-b", &bootstrap, "-t", "smoke", "-e", "-q",
        ])
        .output()
        .expect("run kcat -C");
    assert!(
        out.status.success(),
        "kcat -C failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), lines);
    let list = Command::new("timeout")
        .args(["30", "kcat", "-L", "-b", &bootstrap, "-t", "smoke"])
        .output()
        .expect("run kcat -L");
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(listing.contains("partition 0, leader 1"), "{listing}");
}
