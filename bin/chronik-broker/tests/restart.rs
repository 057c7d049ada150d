//! Acknowledged writes under `--fsync always` survive SIGKILL; SIGTERM exits 0.

mod common;

use chronik_records::build_batch;
use common::BrokerProc;
use common::ops::*;

#[test]
fn acknowledged_records_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "durable", 1), 0);
    let mut sent = Vec::new();
    for i in 0..50u32 {
        let value = format!("record-{i}");
        let batch = build_batch(&[value.as_bytes()], i64::from(i));
        let p = produce(&mut c, "durable", 0, batch.clone());
        assert_eq!((p.error_code, p.base_offset), (0, i64::from(i)));
        sent.push(batch);
    }
    broker.kill9();

    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    let md = metadata(&mut c, Some(&["durable"]), false);
    assert_eq!(
        md.topics[0].partitions[0].leader_id.0, 1,
        "leader again after restart"
    );
    let f = fetch(&mut c, "durable", 0, 0, 1_000);
    assert_eq!((f.error_code, f.high_watermark), (0, 50));
    let records = f.records.expect("records");
    let mut pos = 0;
    for (i, batch) in sent.iter().enumerate() {
        let got = &records[pos..pos + batch.len()];
        assert_eq!(&got[61..], &batch[61..], "record {i} body intact");
        chronik_records::validate_batch(got).expect("CRC valid");
        pos += batch.len();
    }
    assert_eq!(pos, records.len());
}

#[test]
fn sigterm_exits_zero_and_restart_is_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    assert_eq!(
        produce(&mut c, "t", 0, build_batch(&[b"v"], 1)).error_code,
        0
    );
    drop(c);
    assert!(broker.terminate().success(), "exit 0 on SIGTERM");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    assert_eq!(list_offset(&mut c, "t", 0, -1), (0, 1));
}
