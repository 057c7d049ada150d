//! Test harness: start the real broker binary on an ephemeral port and talk Kafka to it with a
//! small blocking client built on the kafka-protocol codecs.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use chronik_kafka::kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use chronik_kafka::kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

pub const START_DEADLINE: Duration = Duration::from_secs(30);

/// A broker child process, killed when dropped.
pub struct BrokerProc {
    pub child: Child,
    pub addr: SocketAddr,
}

impl BrokerProc {
    pub fn start(dir: &Path, extra: &[&str]) -> BrokerProc {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let log = std::fs::File::create(dir.join(format!("broker-{port}.log"))).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--log-level")
            .arg("info,chronik_broker=debug")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn chronik-broker");
        let mut broker = BrokerProc { child, addr };
        broker.wait_ready(&dir.join(format!("broker-{port}.log")));
        broker
    }

    fn wait_ready(&mut self, log: &Path) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                panic!("broker exited early: {status}; its log:\n{log}");
            }
            // Our child wrote that it started on our address, so whatever answers on the
            // port is the process this test started, not a stale one.
            let started = std::fs::read_to_string(log)
                .is_ok_and(|l| l.contains("broker started") && l.contains(&self.addr.to_string()));
            if started && TcpStream::connect(self.addr).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "broker did not listen in time");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// SIGKILL: no clean shutdown at all.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "broker did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for BrokerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking Kafka client speaking one request at a time.
pub struct Client {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to the broker");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client {
            stream,
            next_correlation: 1,
        }
    }

    /// Sends `req` as `key` v`version` and returns the framed bytes sent and the correlation id.
    pub fn send<Req: Encodable>(&mut self, key: ApiKey, version: i16, req: &Req) -> i32 {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let mut body = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("chronik-test")))
            .encode(&mut body, key.request_header_version(version))
            .expect("encode header");
        req.encode(&mut body, version).expect("encode request");
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).expect("send request");
        correlation
    }

    /// Reads one response frame; `None` when the broker closed the connection.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).ok()?;
        Some(Bytes::from(body))
    }

    pub fn recv<Resp: Decodable>(&mut self, key: ApiKey, version: i16, correlation: i32) -> Resp {
        let mut frame = self.read_frame().expect("a response");
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .expect("response header");
        assert_eq!(
            header.correlation_id, correlation,
            "responses in request order"
        );
        Resp::decode(&mut frame, version).expect("response body")
    }

    pub fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Resp {
        let correlation = self.send(key, version, req);
        self.recv(key, version, correlation)
    }
}
pub mod json_log;
pub mod meta;
pub mod ops;
pub mod prom;

// Each test binary uses its own share of these.
#[allow(unused_imports)]
pub use chronik_test_support::{eventually, free_port, wait_until};
