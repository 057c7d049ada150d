//! The broker raises its soft open-files limit to the hard one at start (one descriptor per
//! hosted partition and per connection). Its own test binary: it lowers this process's soft
//! limit, which the broker inherits.

mod common;

use std::process::Command;

use common::BrokerProc;

/// The soft and hard "Max open files" of process `pid` (`self` for this one).
fn open_files_limits(pid: &str) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read /proc limits");
    let line = (limits.lines())
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut fields = line.split_whitespace().skip(3);
    let mut next = || {
        let value = fields.next().expect("a limit");
        value.parse().expect("a numeric limit")
    };
    (next(), next())
}

#[test]
fn a_broker_started_under_a_low_soft_limit_raises_it_to_the_hard_one() {
    let (_, hard) = open_files_limits("self");
    if hard <= 256 {
        eprintln!("skipped: the hard open-files limit {hard} leaves nothing to raise");
        return;
    }
    let me = std::process::id().to_string();
    let lowered = Command::new("prlimit")
        .args(["--pid", &me, "--nofile=256:"])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(lowered.success(), "prlimit could not lower the soft limit");
    assert_eq!(open_files_limits("self"), (256, hard));

    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let pid = broker.child.id().to_string();
    assert_eq!(open_files_limits(&pid), (hard, hard));
    let log = std::fs::read_dir(dir.path())
        .expect("read the test dir")
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("broker-"))
        .map(|e| std::fs::read_to_string(e.path()).expect("read the broker log"))
        .expect("a broker log");
    assert!(log.contains("raised the open-files limit"), "{log}");
}
