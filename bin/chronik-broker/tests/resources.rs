//! Resource bounds: idle connections, the connection limit, a client trickling a request, a
//! fetch asking for 2 GiB, a request over `--max-request-bytes`, and 1,000 topics of 10
//! partitions. Each test asserts the broker's peak resident memory (VmHWM) stays under a bound
//! measured on a debug build and documented in docs/operations.md ("Resource bounds").

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chronik_kafka::kafka_protocol::messages::create_topics_request::CreatableTopic;
use chronik_kafka::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use chronik_kafka::kafka_protocol::messages::*;
use chronik_records::build_batch;
use common::ops::*;
use common::{BrokerProc, Client, wait_until};

const MIB: u64 = 1024;

/// A field of /proc/PID/status in KiB (`VmRSS`, `VmHWM`: peak resident memory).
fn status_kib(broker: &BrokerProc, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", broker.child.id()))
        .expect("read /proc status");
    (status.lines())
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc status"))
}

/// Asserts the broker's peak resident memory so far is under `bound_mib`, and prints it.
fn assert_peak_under(broker: &BrokerProc, what: &str, bound_mib: u64) {
    let (rss, peak) = (status_kib(broker, "VmRSS"), status_kib(broker, "VmHWM"));
    eprintln!(
        "{what}: broker VmRSS {} MiB, VmHWM {} MiB (bound {bound_mib} MiB)",
        rss / MIB,
        peak / MIB
    );
    assert!(
        peak < bound_mib * MIB,
        "{what}: broker peak resident memory {} MiB is over the bound {bound_mib} MiB",
        peak / MIB
    );
}

/// Open file descriptors of the broker.
fn open_fds(broker: &BrokerProc) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", broker.child.id()))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// This process's soft limit on open files.
fn fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    (limits.lines())
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(1024)
}

/// One produce and one fetch round trip on a fresh connection.
fn serves(broker: &BrokerProc, topic: &str, value: &[u8]) {
    let mut c = broker.client();
    let p = produce(&mut c, topic, 0, build_batch(&[value], 1));
    assert_eq!(p.error_code, 0, "produce served");
    let data = fetch(&mut c, topic, 0, p.base_offset, 0);
    assert_eq!(data.error_code, 0, "fetch served");
    assert!(!data.records.unwrap_or_default().is_empty());
}

#[test]
fn ten_thousand_idle_connections_leave_others_served() {
    // Both ends live in processes with this limit (the broker inherits it); keep a margin for
    // the broker's own files.
    let wanted = 10_000usize;
    let n = wanted.min(fd_limit().saturating_sub(512));
    if n < wanted {
        eprintln!(
            "open-files limit {} allows only {n} idle connections",
            fd_limit()
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let max = (n + 64).to_string();
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never", "--max-connections", &max]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    let before = open_fds(&broker);
    let idle: Vec<TcpStream> = (0..n)
        .map(|_| TcpStream::connect(broker.addr).expect("idle connection"))
        .collect();
    wait_until(
        "the broker to accept every connection",
        Duration::from_secs(30),
        || open_fds(&broker) >= before + n,
    );
    serves(&broker, "t", b"while 10k sit idle");
    assert_peak_under(&broker, "10k idle connections", 160);
    drop(idle);
    wait_until("the broker to close them", Duration::from_secs(30), || {
        open_fds(&broker) < before + 16
    });
    serves(&broker, "t", b"after");
}

#[test]
fn beyond_max_connections_clients_wait_to_be_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--max-connections", "8"]);
    let mut held: Vec<Client> = (0..8).map(|_| broker.client()).collect();
    for c in &mut held {
        let r: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
        assert_eq!(r.error_code, 0);
    }
    // The ninth connects (the kernel queues it) but is not served while eight are open.
    let mut ninth = broker.client();
    let correlation = ninth.send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    ninth
        .stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    let waited = ninth.stream.peek(&mut byte);
    assert!(waited.is_err(), "a ninth connection was served: {waited:?}");
    drop(held.pop());
    ninth
        .stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let r: ApiVersionsResponse = ninth.recv(ApiKey::ApiVersions, 3, correlation);
    assert_eq!(r.error_code, 0, "served once a slot was free");
    assert_peak_under(&broker, "connection limit", 64);
}

#[test]
fn clients_trickling_requests_are_closed_and_block_no_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(
        dir.path(),
        &["--fsync", "never", "--idle-timeout-ms", "3000"],
    );
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    // 100 clients each announce a 1 MiB request and send it one byte every 20 ms.
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..100)
        .map(|_| {
            let s = TcpStream::connect(broker.addr).expect("connect");
            s.set_nodelay(true).expect("nodelay");
            s
        })
        .collect();
    for s in &mut slow {
        s.write_all(&(1i32 << 20).to_be_bytes())
            .expect("length prefix");
    }
    let addr = broker.addr;
    let trickle = std::thread::spawn(move || {
        let mut open = slow;
        let mut sent = 0usize;
        while !open.is_empty() && started.elapsed() < Duration::from_secs(30) {
            open.retain_mut(|s| s.write_all(&[0x42]).is_ok());
            sent += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        (open.len(), sent, started.elapsed())
    });
    // Another client is served all along, and a trickler's closed socket reads as EOF.
    let mut reader = TcpStream::connect(addr).expect("connect");
    reader
        .write_all(&(1i32 << 20).to_be_bytes())
        .expect("prefix");
    let mut served = 0;
    while !trickle.is_finished() {
        serves(&broker, "t", format!("v{served}").as_bytes());
        served += 1;
    }
    let (still_open, rounds, took) = trickle.join().expect("trickler");
    assert_eq!(still_open, 0, "every trickling client was closed");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(30),
        "closed after {took:?} ({rounds} bytes each)"
    );
    assert!(served > 0);
    reader
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    assert!(
        matches!(reader.read(&mut byte), Ok(0) | Err(_)),
        "half-sent request closed"
    );
    assert_peak_under(&broker, "trickling clients", 64);
}

/// A Fetch of every partition of `name` asking for as much as the protocol can say.
fn huge_fetch(name: &str, partitions: i32) -> FetchRequest {
    let parts = (0..partitions)
        .map(|p| {
            FetchPartition::default()
                .with_partition(p)
                .with_fetch_offset(0)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(i32::MAX)
        })
        .collect();
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(i32::MAX)
        .with_session_epoch(-1)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(topic(name))
                .with_partitions(parts),
        ])
}

#[test]
fn a_fetch_asking_for_2_gib_is_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "big", 2), 0);
    // 2 × 36 MiB in 1 MiB batches: more than the 55 MiB cap.
    let value = vec![7u8; 1024 * 1024 - 128];
    for partition in 0..2 {
        for _ in 0..36 {
            let p = produce(&mut c, "big", partition, build_batch(&[&value], 1));
            assert_eq!(p.error_code, 0);
        }
    }
    for _ in 0..3 {
        let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &huge_fetch("big", 2));
        let bytes: usize = (resp.responses[0].partitions.iter())
            .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
            .sum();
        let cap = chronik_broker::DEFAULT_FETCH_MAX_BYTES;
        assert!(bytes <= cap, "{bytes} record bytes over the {cap} cap");
        assert!(bytes > cap - 2 * value.len(), "the cap, not less: {bytes}");
    }
    serves(&broker, "big", b"still serving");
    assert_peak_under(&broker, "2 GiB fetches", 256);
}

#[test]
fn a_100_mib_request_over_the_limit_is_closed_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limit = 10 * 1024 * 1024;
    let broker = BrokerProc::start(
        dir.path(),
        &[
            "--fsync",
            "never",
            "--max-request-bytes",
            &limit.to_string(),
        ],
    );
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    let body = 100usize * 1024 * 1024;
    let mut s = TcpStream::connect(broker.addr).expect("connect");
    s.set_write_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // A Produce v9 header, then 100 MiB the broker must never buffer.
    let mut head = (body as i32).to_be_bytes().to_vec();
    head.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 1, 0, 0]);
    s.write_all(&head).expect("prefix");
    let chunk = vec![0u8; 1024 * 1024];
    let mut written = 0usize;
    while written < body {
        match s.write(&chunk) {
            Ok(n) => written += n,
            Err(_) => break,
        }
    }
    assert!(
        written < body,
        "the broker read all {written} bytes of a request over the limit"
    );
    serves(&broker, "t", b"others unaffected");
    assert_peak_under(&broker, "100 MiB request", 64);
}

#[test]
fn a_thousand_topics_of_ten_partitions_are_served() {
    let (topics, partitions) = (1000usize, 10i32);
    let needed = topics * partitions as usize + 1024;
    if fd_limit() < needed {
        eprintln!(
            "skipped: {needed} open files needed (one per segment), the limit is {}",
            fd_limit()
        );
        return;
    }
    // Creating a log fsyncs two directories: 20,000 fsyncs take half a minute on a virtual
    // disk, so the data lives in /dev/shm (a tmpfs) when there is one.
    let shm = std::path::Path::new("/dev/shm");
    let dir = match shm.is_dir() {
        true => tempfile::tempdir_in(shm),
        false => tempfile::tempdir(),
    }
    .expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    let started = Instant::now();
    let names: Vec<String> = (0..topics).map(|i| format!("topic-{i:04}")).collect();
    for batch in names.chunks(100) {
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(60_000)
            .with_topics(
                (batch.iter())
                    .map(|n| {
                        CreatableTopic::default()
                            .with_name(topic(n))
                            .with_num_partitions(partitions)
                            .with_replication_factor(-1)
                    })
                    .collect(),
            );
        let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
        assert!(resp.topics.iter().all(|t| t.error_code == 0), "{resp:?}");
    }
    eprintln!("created {topics} topics in {:?}", started.elapsed());
    let meta = metadata(&mut c, None, false);
    let listed: Vec<_> = meta.topics.iter().filter(|t| !t.is_internal).collect();
    assert_eq!(listed.len(), topics);
    assert!(
        listed
            .iter()
            .all(|t| t.partitions.len() == partitions as usize)
    );
    // Each partition serves as soon as its log is open (opened by the reconciler).
    for (i, name) in names.iter().enumerate().step_by(97) {
        let partition = (i as i32) % partitions;
        let value = format!("{name}/{partition}");
        wait_until(
            "the partition to be hosted",
            Duration::from_secs(30),
            || {
                produce(&mut c, name, partition, build_batch(&[value.as_bytes()], 1)).error_code
                    == 0
            },
        );
        let data = fetch(&mut c, name, partition, 0, 0);
        assert_eq!(data.error_code, 0);
        assert!(data.high_watermark >= 1);
    }
    eprintln!("served a sample after {:?}", started.elapsed());
    assert_peak_under(&broker, "1,000 topics x 10 partitions", 160);
}
