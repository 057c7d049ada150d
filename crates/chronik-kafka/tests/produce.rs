//! A Produce request end to end through this crate: frame, decode, validate the records.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use chronik_kafka::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use chronik_kafka::kafka_protocol::messages::{ApiKey, ProduceRequest, RequestKind, TopicName};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_kafka::{decode_request, try_split_frame, validate_produce_records};
use chronik_records::build_batch;
use common::request_frame;

fn produce(records: Bytes) -> ProduceRequest {
    let partition = PartitionProduceData::default()
        .with_index(0)
        .with_records(Some(records));
    let topic = TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_static_str("events")))
        .with_partition_data(vec![partition]);
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![topic])
}

#[test]
fn a_produce_request_is_framed_decoded_and_its_batch_validated() {
    let batch = Bytes::from(build_batch(&[b"k1", b"k2"], 42));
    for version in [3, 9] {
        let body = RequestKind::Produce(produce(batch.clone()));
        let request = request_frame(ApiKey::Produce, version, 11, &body);
        let mut stream = BytesMut::new();
        stream.put_i32(request.len() as i32);
        stream.put_slice(&request);
        let frame = try_split_frame(&mut stream, 1 << 20).unwrap().unwrap();
        let decoded = decode_request(frame).unwrap();
        let RequestKind::Produce(req) = decoded.request else {
            panic!("v{version}: not a produce request");
        };
        let records = req.topic_data[0].partition_data[0].records.clone().unwrap();
        let batches = validate_produce_records(&records, 1 << 20).unwrap();
        assert_eq!(batches.len(), 1, "v{version}");
        assert_eq!(batches[0].header.records_count, 2);
        assert_eq!(batches[0].range, 0..batch.len());
    }
}

#[test]
fn a_records_length_beyond_the_frame_is_malformed_not_allocated() {
    let body = RequestKind::Produce(produce(Bytes::from_static(b"abcd")));
    let frame = request_frame(ApiKey::Produce, 3, 11, &body);
    // The records length is the i32 just before the last four bytes; make it claim 1 GiB.
    let mut hostile = BytesMut::from(&frame[..]);
    let at = hostile.len() - 8;
    hostile[at..at + 4].copy_from_slice(&(1i32 << 30).to_be_bytes());
    assert!(decode_request(hostile.freeze()).is_err());
}
