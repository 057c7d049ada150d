//! DeleteRecords over the wire: the log start moves inside a segment, ListOffsets earliest and
//! Fetch follow it, it survives a restart, and bad requests change nothing.

mod common;

use chronik_kafka::kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, DeleteRecordsRequest, DeleteRecordsResponse,
};
use chronik_records::build_batch;
use common::ops::*;
use common::{BrokerProc, Client};

const EARLIEST: i64 = -2;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC: i16 = 17;
const POLICY_VIOLATION: i16 = 44;

/// DeleteRecords v2 for one partition: (error code, low watermark).
fn delete_records(c: &mut Client, name: &str, partition: i32, offset: i64) -> (i16, i64) {
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![
            DeleteRecordsTopic::default()
                .with_name(topic(name))
                .with_partitions(vec![
                    DeleteRecordsPartition::default()
                        .with_partition_index(partition)
                        .with_offset(offset),
                ]),
        ]);
    let resp: DeleteRecordsResponse = c.call(ApiKey::DeleteRecords, 2, &req);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.low_watermark)
}

fn produce_ten(c: &mut Client, name: &str) {
    for i in 0..10i64 {
        let value = format!("record-{i}");
        let p = produce(c, name, 0, build_batch(&[value.as_bytes()], i));
        assert_eq!((p.error_code, p.base_offset), (0, i));
    }
}

#[test]
fn delete_records_moves_the_log_start_and_it_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "trimmed", 1), 0);
    produce_ten(&mut c, "trimmed");

    assert_eq!(delete_records(&mut c, "trimmed", 0, 4), (0, 4));
    assert_eq!(list_offset(&mut c, "trimmed", 0, EARLIEST), (0, 4));
    let below = fetch(&mut c, "trimmed", 0, 3, 0);
    assert_eq!(below.error_code, OFFSET_OUT_OF_RANGE);
    assert_eq!(below.log_start_offset, 4);
    let from = fetch(&mut c, "trimmed", 0, 4, 0);
    assert_eq!((from.error_code, from.log_start_offset), (0, 4));
    // Moving it back is no change; the answer is where it is.
    assert_eq!(delete_records(&mut c, "trimmed", 0, 2), (0, 4));
    drop(c);
    assert!(broker.terminate().success());

    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(list_offset(&mut c, "trimmed", 0, EARLIEST), (0, 4));
    // -1 deletes everything consumers can see.
    assert_eq!(delete_records(&mut c, "trimmed", 0, -1), (0, 10));
    assert_eq!(list_offset(&mut c, "trimmed", 0, EARLIEST), (0, 10));
    let p = produce(&mut c, "trimmed", 0, build_batch(&[b"after"], 11));
    assert_eq!(
        (p.error_code, p.base_offset, p.log_start_offset),
        (0, 10, 10)
    );
}

#[test]
fn bad_delete_records_requests_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "kept", 1), 0);
    produce_ten(&mut c, "kept");
    for offset in [11, 1_000, -2, i64::MIN] {
        assert_eq!(
            delete_records(&mut c, "kept", 0, offset).0,
            OFFSET_OUT_OF_RANGE,
            "offset {offset}"
        );
    }
    assert_eq!(
        delete_records(&mut c, "kept", 7, 1).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        delete_records(&mut c, "nope", 0, 1).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        delete_records(&mut c, "__consumer_offsets", 0, 0).0,
        INVALID_TOPIC
    );
    assert_eq!(
        create_topic_with(&mut c, "latest", &[("cleanup.policy", "compact")]),
        0
    );
    assert_eq!(delete_records(&mut c, "latest", 0, 0).0, POLICY_VIOLATION);
    assert_eq!(list_offset(&mut c, "kept", 0, EARLIEST), (0, 0));
    assert_eq!(fetch(&mut c, "kept", 0, 0, 0).error_code, 0);
}
