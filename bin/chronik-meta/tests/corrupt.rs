//! A damaged Raft log on disk: `chronik-meta run` stops with a clear error (exit 2) that names
//! the file and what to do, changes nothing, and never panics.

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, LogConfig, WalOptions};
use support::{Cluster, create_topic, eventually, register_brokers, topics_on};

const DEADLINE: Duration = Duration::from_secs(15);

/// A single voter with a few topics committed, then SIGKILLed; returns the topics it had.
fn populated_single_voter(cluster: &mut Cluster) -> Vec<String> {
    let address = cluster.address(1);
    cluster.start(1);
    cluster.wait_leader(&address, DEADLINE);
    register_brokers(&address, 3);
    for i in 0..20 {
        create_topic(&address, &format!("topic-{i:02}"));
    }
    let topics = topics_on(&address);
    assert_eq!(topics.len(), 20);
    cluster.kill(1);
    topics
}

fn raft_segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.join("raft"))
        .expect("raft log dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    segments.sort();
    segments
}

fn log_of(cluster: &Cluster) -> String {
    std::fs::read_to_string(cluster.root.path().join("node1.log")).unwrap_or_default()
}

/// Starts node 1; returns its exit status if it exits within `DEADLINE`, else `None` (it
/// runs and answers status).
fn start_and_watch(cluster: &mut Cluster) -> Option<ExitStatus> {
    cluster.start(1);
    let address = cluster.address(1);
    eventually("the node to exit or to lead", DEADLINE, || {
        let child = cluster.node(1).child.as_mut().expect("started");
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(Some(status));
        }
        let (code, _) = cluster.status(&address);
        (code == 0).then_some(None)
    })
}

#[test]
fn flipped_bytes_before_synced_entries_stop_the_node_and_change_nothing() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(1);
    populated_single_voter(&mut cluster);
    let dir = cluster.nodes[0].dir.clone();
    let segment = raft_segments(&dir).pop().expect("a raft segment");
    let mut bytes = std::fs::read(&segment).expect("read segment");
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xa5;
    }
    std::fs::write(&segment, &bytes).expect("write segment");

    // Synced entries follow the damage: a voter must not start having forgotten them.
    let status = start_and_watch(&mut cluster).expect("the node must not start");
    let log = log_of(&cluster);
    assert_eq!(status.code(), Some(2), "exit {status:?}; log: {log}");
    assert!(
        log.contains("damaged at byte"),
        "damage not named; log: {log}"
    );
    assert_eq!(
        std::fs::read(&segment).expect("read segment"),
        bytes,
        "the log was changed"
    );
    let log = log_of(&cluster);
    assert!(!log.contains("panicked"), "a panic; log: {log}");
}

#[test]
fn a_raft_log_frame_that_does_not_decode_stops_the_node_with_advice() {
    let _serial = support::serial();
    let mut cluster = Cluster::new(1);
    populated_single_voter(&mut cluster);
    let dir = cluster.nodes[0].dir.clone();
    // A frame the storage engine accepts (valid CRC) holding an append whose entry is garbage.
    {
        let data = DataDir::open(&dir, WalOptions::new(FsyncPolicy::Always)).expect("open dir");
        let config = LogConfig {
            retention_ms: None,
            segment_ms: None,
            ..LogConfig::default()
        };
        let (log, _) = data.open_internal_log("raft", config).expect("raft log");
        let garbage = [1u8, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        log.append_raw(&garbage, 1, 0, 0).expect("append");
        log.flush().expect("flush");
        drop(log);
        data.close().expect("close");
    }
    let status = start_and_watch(&mut cluster).expect("the node must not start");
    let log = log_of(&cluster);
    assert_eq!(status.code(), Some(2), "exit {status:?}; log: {log}");
    assert!(!log.contains("panicked"), "a panic; log: {log}");
    let segment = raft_segments(&dir).pop().expect("a raft segment");
    let name = segment.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(log.contains(name), "the file is not named; log: {log}");
    assert!(log.contains("move"), "no advice; log: {log}");
    eprintln!("{}", log.lines().last().unwrap_or_default());
}
