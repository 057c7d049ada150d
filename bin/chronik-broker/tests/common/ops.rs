//! The requests the tests send, one helper each.

use bytes::Bytes;
use chronik_kafka::kafka_protocol::messages::create_topics_request::CreatableTopic;
use chronik_kafka::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use chronik_kafka::kafka_protocol::messages::fetch_response::PartitionData;
use chronik_kafka::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use chronik_kafka::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use chronik_kafka::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use chronik_kafka::kafka_protocol::messages::produce_response::PartitionProduceResponse;
use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::StrBytes;

use super::Client;

pub fn topic(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// CreateTopics v7 for one topic; returns its error code.
pub fn create_topic(c: &mut Client, name: &str, partitions: i32) -> i16 {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(topic(name))
                .with_num_partitions(partitions)
                .with_replication_factor(-1),
        ]);
    let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    resp.topics[0].error_code
}

/// CreateTopics v7 for one single-partition topic with `configs`; returns its error code.
pub fn create_topic_with(c: &mut Client, name: &str, configs: &[(&str, &str)]) -> i16 {
    let resp: CreateTopicsResponse = c.call(
        ApiKey::CreateTopics,
        7,
        &create_topic_request(name, configs, false),
    );
    resp.topics[0].error_code
}

/// A CreateTopics request for one single-partition topic with `configs`.
pub fn create_topic_request(
    name: &str,
    configs: &[(&str, &str)],
    validate_only: bool,
) -> CreateTopicsRequest {
    let configs = (configs.iter())
        .map(|(k, v)| {
            create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_string((*k).to_owned()))
                .with_value(Some(StrBytes::from_string((*v).to_owned())))
        })
        .collect();
    CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_validate_only(validate_only)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(topic(name))
                .with_num_partitions(1)
                .with_replication_factor(-1)
                .with_configs(configs),
        ])
}

pub fn delete_topic(c: &mut Client, name: &str) -> i16 {
    let req = DeleteTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topic_names(vec![topic(name)]);
    let resp: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &req);
    resp.responses[0].error_code
}

/// Metadata v12 for the named topics (all topics with `None`).
pub fn metadata(c: &mut Client, names: Option<&[&str]>, auto_create: bool) -> MetadataResponse {
    let topics = names.map(|ns| {
        ns.iter()
            .map(|n| MetadataRequestTopic::default().with_name(Some(topic(n))))
            .collect()
    });
    let req = MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(auto_create);
    c.call(ApiKey::Metadata, 12, &req)
}

pub fn produce_request(name: &str, partition: i32, acks: i16, records: Vec<u8>) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(topic(name))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(Bytes::from(records))),
                ]),
        ])
}

/// Produce v9 of `records` (one or more batches) with acks=1.
pub fn produce(
    c: &mut Client,
    name: &str,
    partition: i32,
    records: Vec<u8>,
) -> PartitionProduceResponse {
    let req = produce_request(name, partition, 1, records);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    resp.responses[0].partition_responses[0].clone()
}

pub fn fetch_request(name: &str, partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(50 * 1024 * 1024)
        .with_session_epoch(-1)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(topic(name))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(partition)
                        .with_fetch_offset(offset)
                        .with_current_leader_epoch(-1)
                        .with_partition_max_bytes(10 * 1024 * 1024),
                ]),
        ])
}

/// Fetch v12 from `offset`, waiting up to `max_wait_ms` for data.
pub fn fetch(
    c: &mut Client,
    name: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
) -> PartitionData {
    let req = fetch_request(name, partition, offset, max_wait_ms);
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &req);
    resp.responses[0].partitions[0].clone()
}

/// ListOffsets v7 for one partition: (error code, offset).
pub fn list_offset(c: &mut Client, name: &str, partition: i32, timestamp: i64) -> (i16, i64) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(topic(name))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(partition)
                        .with_current_leader_epoch(-1)
                        .with_timestamp(timestamp),
                ]),
        ]);
    let resp: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &req);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset)
}

/// The v2 batch the broker should store for `batch` at `offset` with `epoch`.
pub fn stored(batch: &[u8], offset: i64, epoch: i32) -> Vec<u8> {
    let mut b = batch.to_vec();
    chronik_records::set_base_offset(&mut b, offset);
    chronik_records::set_partition_leader_epoch(&mut b, epoch);
    b
}

/// A record's key and value (`None`: no key, or a tombstone).
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// One v2 batch of these records, compressed with `compression`; timestamps count up from
/// `timestamp`.
pub fn keyed_batch(
    records: &[KeyValue<'_>],
    timestamp: i64,
    compression: chronik_kafka::kafka_protocol::records::Compression,
) -> Vec<u8> {
    use chronik_kafka::kafka_protocol::indexmap::IndexMap;
    use chronik_kafka::kafka_protocol::records::{
        Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let records: Vec<Record> = (records.iter().enumerate())
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // Consecutive sequences keep the encoder from starting a batch per record.
            sequence: i as i32 - 1,
            timestamp: timestamp + i as i64,
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
            headers: IndexMap::new(),
        })
        .collect();
    let mut out = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut out, &records, &options).expect("encode");
    out.to_vec()
}
