//! Disk faults: a failing fsync (EIO, injected with the binary's test hook
//! `CHRONIK_TEST_FAULT_FSYNC_EIO_AT`) and a full disk (ENOSPC, on a small tmpfs when the test
//! may mount one). The broker never acknowledges a write the disk refused, answers
//! KAFKA_STORAGE_ERROR for that partition from then on, keeps serving reads and other
//! partitions, reports the failure once (an ERROR log and `chronik_broker_failed_logs`), and
//! serves the partition again after a restart on a healthy disk.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chronik_records::build_batch;
use common::ops::*;
use common::prom::scrape_until;
use common::{BrokerProc, Client, START_DEADLINE, free_port};

const KAFKA_STORAGE_ERROR: i16 = 56;
const FAILED_REPORT: &str = "partition log failed";

/// Starts the broker binary like [`BrokerProc::start`], with extra environment variables.
fn start_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (BrokerProc, PathBuf) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let log_path = dir.join(format!("broker-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
        .args(["--listen", &addr, "--log-level", "info"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn chronik-broker");
    let mut broker = BrokerProc {
        child,
        addr: addr.parse().expect("addr"),
    };
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Ok(Some(status)) = broker.child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("broker exited early: {status}; its log:\n{log}");
        }
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains("broker started") && std::net::TcpStream::connect(&addr).is_ok() {
            return (broker, log_path);
        }
        assert!(Instant::now() < deadline, "broker did not listen in time");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn value(i: usize) -> Vec<u8> {
    format!("record-{i}").into_bytes()
}

/// Produces `size`-byte values to `name` (whose log ends at `from`) until a write is refused;
/// returns the values acknowledged (at offsets `from`, `from + 1`, ...) and the refusal's code.
fn produce_until_refused(
    c: &mut Client,
    name: &str,
    from: i64,
    size: usize,
    attempts: usize,
) -> (Vec<Vec<u8>>, i16) {
    let mut acked = Vec::new();
    for i in 0..attempts {
        let mut v = value(i);
        v.resize(size.max(v.len()), b'.');
        let p = produce(c, name, 0, build_batch(&[&v], 1));
        if p.error_code != 0 {
            return (acked, p.error_code);
        }
        assert_eq!(p.base_offset, from + acked.len() as i64);
        acked.push(v);
    }
    panic!("no write refused in {attempts} attempts");
}

/// The values stored in partition 0 of `name`, checking the read succeeds.
fn read_values(c: &mut Client, name: &str) -> Vec<Vec<u8>> {
    use bytes::Buf;
    let data = fetch(c, name, 0, 0, 0);
    assert_eq!(data.error_code, 0, "reads go on");
    let mut records = data.records.unwrap_or_default();
    let mut values = Vec::new();
    while records.has_remaining() {
        let batch =
            chronik_kafka::kafka_protocol::records::RecordBatchDecoder::decode(&mut records)
                .expect("decodable batches");
        values.extend(
            batch
                .records
                .into_iter()
                .map(|r| r.value.map(|v| v.to_vec()).unwrap_or_default()),
        );
    }
    values
}

/// Asserts `stored` begins with (`prefix`) or is exactly `expected`, without printing values.
fn assert_values(stored: &[Vec<u8>], expected: &[Vec<u8>], prefix: bool, what: &str) {
    let same = match prefix {
        true => stored.len() >= expected.len() && stored[..expected.len()] == *expected,
        false => stored == expected,
    };
    assert!(
        same,
        "{what}: {} records stored, {} expected",
        stored.len(),
        expected.len()
    );
}

fn assert_reported_once(log_path: &Path) {
    let log = std::fs::read_to_string(log_path).expect("broker log");
    if let Some(line) = log.lines().find(|l| l.contains(FAILED_REPORT)) {
        eprintln!("{line}");
    }
    assert_eq!(
        log.matches(FAILED_REPORT).count(),
        1,
        "the failure is reported once:\n{log}"
    );
}

#[test]
fn a_failed_fsync_stops_acks_for_that_partition_until_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics = format!("127.0.0.1:{}", free_port());
    let fault = [("CHRONIK_TEST_FAULT_FSYNC_EIO_AT", "3")];
    let (mut broker, log_path) = start_with_env(dir.path(), &["--metrics-addr", &metrics], &fault);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "a", 1), 0);
    assert_eq!(create_topic(&mut c, "b", 1), 0);
    // Under --fsync always each acks=1 produce waits for its own fsync; the third fails.
    let (acked, code) = produce_until_refused(&mut c, "a", 0, 0, 3);
    assert_eq!(code, KAFKA_STORAGE_ERROR);
    assert!(acked.len() <= 2, "acknowledged {} writes", acked.len());
    for _ in 0..3 {
        let p = produce(&mut c, "a", 0, build_batch(&[b"after the failure"], 1));
        assert_eq!(
            (p.error_code, p.base_offset),
            (KAFKA_STORAGE_ERROR, -1),
            "no ack after a failed fsync"
        );
    }
    let stored = read_values(&mut c, "a");
    assert_values(&stored, &acked, true, "acknowledged records readable");
    let other = produce(&mut c, "b", 0, build_batch(&[b"other partition"], 1));
    assert_eq!(
        other.error_code, 0,
        "other partitions keep accepting writes"
    );
    assert_eq!(read_values(&mut c, "b"), vec![b"other partition".to_vec()]);
    scrape_until(&metrics, Duration::from_secs(20), |m| {
        m.sum("chronik_broker_failed_logs") == Some(1.0)
    });
    assert_reported_once(&log_path);
    let status = status_json(&broker.addr.to_string());
    assert_eq!(status.0, Some(1), "status exits 1 while a log has failed");
    let states: Vec<(String, String)> = (status.1["topics"].as_array().expect("topics").iter())
        .map(|t| {
            let p = &t["partitions"][0];
            assert_eq!(
                p["offline_replicas"].as_array().map(Vec::len),
                Some(usize::from(t["name"] == "a"))
            );
            (
                t["name"].as_str().unwrap_or("").to_string(),
                p["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&("a".into(), "offline".into())),
        "{states:?}"
    );
    assert!(states.contains(&("b".into(), "ok".into())), "{states:?}");

    broker.terminate();
    let restarted = BrokerProc::start(dir.path(), &[]);
    let mut c = restarted.client();
    let stored = read_values(&mut c, "a");
    assert_values(&stored, &acked, true, "acknowledged records survive");
    let p = produce(&mut c, "a", 0, build_batch(&[b"healthy again"], 1));
    assert_eq!(
        p.error_code, 0,
        "the partition accepts writes after a restart"
    );
    assert_eq!(p.base_offset, stored.len() as i64);
}

/// `chronik-broker status --output json` against `addr`: exit code and document.
fn status_json(addr: &str) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
        .args(["status", "--bootstrap", addr, "--output", "json"])
        .output()
        .expect("run status");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status JSON: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status();
        status.ok()?.success().then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `path` with `path`, then frees `keep` bytes of it.
fn fill(path: &Path, keep: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    while let Ok(n) = f.write(&chunk) {
        if n == 0 {
            break;
        }
        len += n as u64;
    }
    f.set_len(len.saturating_sub(keep)).expect("free a little");
}

#[test]
fn a_full_disk_refuses_writes_and_recovers_once_space_is_freed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partitions = dir.path().join("data").join(chronik_wal::PARTITIONS_DIR);
    let Some(_tmpfs) = Tmpfs::mount(&partitions, "16m") else {
        eprintln!(
            "skipped: cannot mount a 16 MiB tmpfs (needs root or CAP_SYS_ADMIN); \
             the ENOSPC path is untested here"
        );
        return;
    };
    let (mut broker, log_path) = start_with_env(dir.path(), &[], &[]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    // The first append also writes the leader-epoch checkpoint: before the disk fills.
    let first = produce(&mut c, "t", 0, build_batch(&[b"first"], 1));
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    let filler = partitions.join("filler");
    fill(&filler, 300 * 1024);
    // 100 KiB batches: the third or fourth no longer fits.
    let (acked, code) = produce_until_refused(&mut c, "t", 1, 100 * 1024, 20);
    assert_eq!(code, KAFKA_STORAGE_ERROR);
    let refused = produce(&mut c, "t", 0, build_batch(&[b"still full"], 1));
    assert_eq!(
        refused.error_code, KAFKA_STORAGE_ERROR,
        "no ack after ENOSPC"
    );
    let stored = read_values(&mut c, "t");
    assert_values(
        &stored[1..],
        &acked,
        false,
        "exactly what was acknowledged, readable",
    );
    assert_reported_once(&log_path);

    broker.kill9();
    std::fs::remove_file(&filler).expect("free the space");
    let restarted = BrokerProc::start(dir.path(), &[]);
    let mut c = restarted.client();
    let stored = read_values(&mut c, "t");
    assert_values(&stored[1..], &acked, false, "recovery cut the torn write");
    let p = produce(&mut c, "t", 0, build_batch(&[b"space again"], 1));
    assert_eq!((p.error_code, p.base_offset), (0, stored.len() as i64));
}
