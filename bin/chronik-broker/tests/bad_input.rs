//! Hostile bytes close a connection (or get an error response); the broker keeps serving.

mod common;

use std::io::Write;
use std::time::Duration;

use chronik_kafka::kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use chronik_kafka::kafka_protocol::protocol::Decodable;
use common::{BrokerProc, Client};
use rand::RngCore;

fn still_serves(broker: &BrokerProc) {
    let mut c = broker.client();
    let resp: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default());
    assert_eq!(resp.error_code, 0);
}

/// Writes `bytes`, then expects either a closed connection or (with `Some`) a response frame.
fn send_raw(broker: &BrokerProc, bytes: &[u8]) -> Option<bytes::Bytes> {
    let mut c = Client::connect(broker.addr);
    c.stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let _ = c.stream.write_all(bytes);
    let _ = c.stream.shutdown(std::net::Shutdown::Write);
    c.read_frame()
}

#[test]
fn garbage_oversize_and_unknown_apis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut rng = rand::rng();
    for _ in 0..20 {
        let mut junk = vec![0u8; 1 + (rng.next_u32() % 4096) as usize];
        rng.fill_bytes(&mut junk);
        let _ = send_raw(&broker, &junk);
    }
    still_serves(&broker);

    let huge = [0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0];
    assert!(send_raw(&broker, &huge).is_none(), "2 GiB prefix closes");
    still_serves(&broker);

    // Unknown api key 9999, correlation id 77: closed, as Kafka does.
    let mut unknown = 8i32.to_be_bytes().to_vec();
    unknown.extend_from_slice(&[0x27, 0x0f, 0, 0, 0, 0, 0, 77]);
    assert!(send_raw(&broker, &unknown).is_none());

    // ApiVersions v99: an error response carrying the correlation id.
    let mut future = 10i32.to_be_bytes().to_vec();
    future.extend_from_slice(&[0, 18, 0, 99, 0, 0, 0, 42, 0xff, 0xff]);
    let mut frame = send_raw(&broker, &future).expect("an ApiVersions error response");
    let correlation = bytes::Buf::get_i32(&mut frame);
    assert_eq!(correlation, 42);
    let resp = ApiVersionsResponse::decode(&mut frame, 0).expect("body");
    assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");

    // A truncated Metadata body with a valid header: closed.
    let mut short = 12i32.to_be_bytes().to_vec();
    short.extend_from_slice(&[0, 3, 0, 12, 0, 0, 0, 5, 0xff, 0xff, 0x7f, 0xff]);
    assert!(send_raw(&broker, &short).is_none());
    still_serves(&broker);
}

/// The broker's resident memory in KiB, from /proc.
fn rss_kib(broker: &BrokerProc) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", broker.child.id()))
        .expect("read /proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value")
}

#[test]
fn a_bad_crc_is_refused_and_hostile_clients_leave_others_and_memory_alone() {
    use common::ops::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 1), 0);
    let mut bad = chronik_records::build_batch(&[b"payload"], 1_700_000_000_000);
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    let p = produce(&mut c, "t", 0, bad);
    assert_eq!(p.error_code, 2, "CORRUPT_MESSAGE");
    assert_eq!(
        fetch(&mut c, "t", 0, 0, 0).high_watermark,
        0,
        "nothing appended"
    );

    let before = rss_kib(&broker);
    let addr = broker.addr;
    let hostile = std::thread::spawn(move || {
        let mut rng = rand::rng();
        for i in 0..300u32 {
            let Ok(mut s) = std::net::TcpStream::connect(addr) else {
                continue;
            };
            let mut junk = vec![0u8; 64 + (rng.next_u32() % 8192) as usize];
            rng.fill_bytes(&mut junk);
            if i % 3 == 0 {
                // A 2 GiB length prefix followed by a little data.
                junk[..4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
            }
            let _ = s.write_all(&junk);
        }
    });
    // Another client keeps working while the hostile one runs.
    let mut served = 0;
    while !hostile.is_finished() || served < 10 {
        let value = format!("v{served}");
        let p = produce(
            &mut c,
            "t",
            0,
            chronik_records::build_batch(&[value.as_bytes()], 1),
        );
        assert_eq!((p.error_code, p.base_offset), (0, served));
        served += 1;
    }
    hostile.join().expect("hostile client");
    still_serves(&broker);
    let after = rss_kib(&broker);
    assert!(
        after < before + 64 * 1024,
        "resident memory grew from {before} KiB to {after} KiB"
    );
}
