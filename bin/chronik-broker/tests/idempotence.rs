//! Idempotent producers: InitProducerId hands out distinct ids, a retried batch is answered
//! with its original offsets and stored once, a sequence gap is refused, and the producer
//! state survives a clean restart (snapshot) and a SIGKILL (replayed from the log).

mod common;

use chronik_kafka::kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse,
};
use chronik_records::{build_batch, set_producer};
use common::ops::*;
use common::{BrokerProc, Client};

const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;

fn init_producer_id(c: &mut Client, version: i16) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transaction_timeout_ms(60_000)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1);
    let resp: InitProducerIdResponse = c.call(ApiKey::InitProducerId, version, &req);
    (resp.error_code, resp.producer_id.0, resp.producer_epoch)
}

fn batch(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> Vec<u8> {
    let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    let mut b = build_batch(&values, 1_700_000_000_000);
    set_producer(&mut b, pid, epoch, seq);
    b
}

fn code_and_offset(c: &mut Client, topic: &str, b: Vec<u8>) -> (i16, i64) {
    let p = produce(c, topic, 0, b);
    (p.error_code, p.base_offset)
}

fn high_watermark(c: &mut Client, topic: &str) -> i64 {
    let f = fetch(c, topic, 0, 0, 0);
    assert_eq!(f.error_code, 0);
    f.high_watermark
}

#[test]
fn retries_are_stored_once_and_gaps_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "idem", 1), 0);
    let (code, pid, epoch) = init_producer_id(&mut c, 4);
    assert_eq!((code, epoch), (0, 0));
    let (_, other, _) = init_producer_id(&mut c, 0);
    assert_ne!(pid, other, "every producer gets its own id");

    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 0, &["a", "b"])),
        (0, 0)
    );
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 2, &["c"])),
        (0, 2)
    );
    // A retry of either batch gets its original offset and appends nothing.
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 0, &["a", "b"])),
        (0, 0)
    );
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 2, &["c"])),
        (0, 2)
    );
    assert_eq!(high_watermark(&mut c, "idem"), 3);
    // A gap and a stale epoch are refused.
    let gap = code_and_offset(&mut c, "idem", batch(pid, 0, 5, &["x"]));
    assert_eq!(gap.0, OUT_OF_ORDER_SEQUENCE_NUMBER);
    // A new epoch of a known producer must start at 0.
    let bumped = code_and_offset(&mut c, "idem", batch(pid, 1, 3, &["x"]));
    assert_eq!(bumped.0, OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 1, 0, &["d"])),
        (0, 3)
    );
    let stale = code_and_offset(&mut c, "idem", batch(pid, 0, 3, &["x"]));
    assert_eq!(stale.0, INVALID_PRODUCER_EPOCH);
    assert_eq!(high_watermark(&mut c, "idem"), 4);
}

#[test]
fn producer_state_survives_clean_and_unclean_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "idem", 1), 0);
    let (_, pid, _) = init_producer_id(&mut c, 4);
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 0, &["a"])),
        (0, 0)
    );
    assert!(broker.terminate().success());

    let mut broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 0, &["a"])),
        (0, 0),
        "from the snapshot"
    );
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 1, &["b"])),
        (0, 1)
    );
    let (_, next_pid, _) = init_producer_id(&mut c, 4);
    assert!(
        next_pid > pid,
        "ids are never handed out twice across restarts"
    );
    broker.kill9();

    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 1, &["b"])),
        (0, 1),
        "from the log"
    );
    let gap = code_and_offset(&mut c, "idem", batch(pid, 0, 3, &["x"]));
    assert_eq!(gap.0, OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(
        code_and_offset(&mut c, "idem", batch(pid, 0, 2, &["c"])),
        (0, 2)
    );
    assert_eq!(high_watermark(&mut c, "idem"), 3);
}
