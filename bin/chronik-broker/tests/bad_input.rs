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
