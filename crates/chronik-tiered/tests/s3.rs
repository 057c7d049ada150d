//! The remote tier on a real S3 server (moto's `moto_server`, started by the test), and a
//! store that cannot be reached.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chronik_test_support::{free_port, wait_until};
use chronik_tiered::{RemoteLocation, RemoteOptions, RemoteStore, TieredError};
use common::*;

/// moto_server from `CHRONIK_MOTO_SERVER`, else the test venv that tests/run-all.sh fills.
fn moto_server() -> std::path::PathBuf {
    let path = std::env::var_os("CHRONIK_MOTO_SERVER").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/python-venv/bin/moto_server")
        },
        Into::into,
    );
    assert!(
        path.exists(),
        "{} is missing: `bash tests/run-all.sh` installs it (pip install 'moto[server]' into \
         target/python-venv), or set CHRONIK_MOTO_SERVER",
        path.display()
    );
    path
}

struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Moto {
    let port = free_port();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto { child, port };
    wait_until("moto_server listening", Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    moto
}

/// S3's CreateBucket, which object stores do not offer; moto takes it unsigned.
fn create_bucket(port: u16, bucket: &str) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        conn,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

fn options(port: u16) -> RemoteOptions {
    RemoteOptions {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: Some("us-east-1".into()),
        credentials: Some(("test-key".into(), "test-secret".into())),
        request_timeout: Duration::from_secs(5),
        retry_timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn sealed_segments_go_up_to_s3_and_come_back_batch_for_batch() {
    let moto = start_moto();
    create_bucket(moto.port, "chronik-tier");
    let local = tempfile::tempdir().unwrap();
    let (segments, stored) = written_log(local.path(), 120);
    let location = RemoteLocation::parse("s3://chronik-tier/cluster-a/tier").unwrap();
    let store = RemoteStore::open(&location, &options(moto.port)).unwrap();
    store.check("s3-test").await.unwrap();
    upload_and_read_back(&store, &segments, &stored).await;

    for manifest in &listed(&store).await {
        store.delete_segment(&manifest.id).await.unwrap();
    }
    assert!(listed(&store).await.is_empty());

    let elsewhere = RemoteLocation::parse("s3://no-such-bucket").unwrap();
    let err = RemoteStore::open(&elsewhere, &options(moto.port))
        .unwrap()
        .check("s3-test")
        .await
        .unwrap_err();
    assert!(matches!(err, TieredError::Unusable { .. }), "{err}");
    assert!(err.to_string().contains("s3://no-such-bucket"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_clear_error() {
    // A port nothing listens on: connections are refused at once.
    let port = free_port();
    let location = RemoteLocation::parse("s3://chronik-tier").unwrap();
    let store = RemoteStore::open(&location, &options(port)).unwrap();
    let err = store.check("unreachable").await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TieredError::Unusable { .. }), "{text}");
    assert!(
        text.contains("s3://chronik-tier") && text.contains("credentials"),
        "{text}"
    );
    let cause = format!("{err:?}");
    assert!(
        cause.contains("Connect") || cause.contains("onnection refused"),
        "{cause}"
    );
}
