//! Requests the admin tests send, one helper each (also used by `versions.rs`).

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chronik_kafka::kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use chronik_kafka::kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use chronik_kafka::kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use chronik_kafka::kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use chronik_kafka::kafka_protocol::messages::offset_for_leader_epoch_response::EpochEndOffset;
use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::StrBytes;

use crate::common::Client;
use crate::common::ops::*;

pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const SET: i8 = 0;
pub const DELETE: i8 = 1;
pub const APPEND: i8 = 2;
pub const WAIT: Duration = Duration::from_secs(20);

pub fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

pub fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(since.as_millis()).expect("ms")
}

/// CreateTopics v7 with configs: the topic result.
pub fn create_with_configs(
    c: &mut Client,
    name: &str,
    configs: &[(&str, &str)],
    validate_only: bool,
) -> create_topics_response::CreatableTopicResult {
    let req = create_topic_request(name, configs, validate_only);
    let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    resp.topics[0].clone()
}

pub fn describe(
    c: &mut Client,
    kind: i8,
    name: &str,
    keys: Option<&[&str]>,
) -> DescribeConfigsResult {
    let keys = keys.map(|ks| ks.iter().map(|k| s(k)).collect());
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(kind)
                .with_resource_name(s(name))
                .with_configuration_keys(keys),
        ]);
    let resp: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &req);
    resp.results[0].clone()
}

/// The topic's configs as (name, value, config_source).
pub fn topic_configs(c: &mut Client, name: &str) -> Vec<(String, String, i8)> {
    let result = describe(c, TOPIC, name, None);
    assert_eq!(result.error_code, 0, "{:?}", result.error_message);
    (result.configs.iter())
        .map(|e| {
            let value = e.value.as_ref().map(|v| v.to_string()).unwrap_or_default();
            (e.name.to_string(), value, e.config_source)
        })
        .collect()
}

pub fn config_value(c: &mut Client, name: &str, key: &str) -> (String, i8) {
    let all = topic_configs(c, name);
    let found = all
        .into_iter()
        .find(|(k, _, _)| k == key)
        .expect("key listed");
    (found.1, found.2)
}

/// IncrementalAlterConfigs v1 of one resource: (error code, message).
pub fn incremental(
    c: &mut Client,
    kind: i8,
    name: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, String) {
    use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let configs = (ops.iter())
        .map(|(k, op, v)| {
            AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(*op)
                .with_value(v.map(s))
        })
        .collect();
    let req = IncrementalAlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(kind)
                .with_resource_name(s(name))
                .with_configs(configs),
        ]);
    let resp: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, 1, &req);
    let r = &resp.responses[0];
    (
        r.error_code,
        r.error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

pub fn set(c: &mut Client, name: &str, key: &str, value: &str) {
    let (code, message) = incremental(c, TOPIC, name, &[(key, SET, Some(value))], false);
    assert_eq!(code, 0, "{key}={value}: {message}");
}

/// AlterConfigs v2 of one topic: (error code, message).
pub fn alter(c: &mut Client, kind: i8, name: &str, configs: &[(&str, &str)]) -> (i16, String) {
    use alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let configs = (configs.iter())
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(s(k))
                .with_value(Some(s(v)))
        })
        .collect();
    let req = AlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(kind)
            .with_resource_name(s(name))
            .with_configs(configs),
    ]);
    let resp: AlterConfigsResponse = c.call(ApiKey::AlterConfigs, 2, &req);
    let r = &resp.responses[0];
    (
        r.error_code,
        r.error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

pub fn create_partitions(
    c: &mut Client,
    name: &str,
    count: i32,
    manual: bool,
    validate_only: bool,
) -> (i16, String) {
    let assignments = manual
        .then(|| vec![CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)])]);
    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(10_000)
        .with_validate_only(validate_only)
        .with_topics(vec![
            CreatePartitionsTopic::default()
                .with_name(topic(name))
                .with_count(count)
                .with_assignments(assignments),
        ]);
    let resp: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &req);
    let r = &resp.results[0];
    (
        r.error_code,
        r.error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

pub fn partition_count(c: &mut Client, name: &str) -> usize {
    metadata(c, Some(&[name]), false).topics[0].partitions.len()
}

/// Offsets `[earliest, latest]` of partition 0.
pub fn offsets(c: &mut Client, name: &str) -> (i64, i64) {
    (list_offset(c, name, 0, -2).1, list_offset(c, name, 0, -1).1)
}

pub fn segment_files(dir: &std::path::Path, name: &str) -> usize {
    let part = dir
        .join("data")
        .join("partitions")
        .join(format!("{name}-0"));
    let entries = std::fs::read_dir(part).expect("partition dir");
    (entries.filter_map(Result::ok))
        .filter(|e| e.file_name().to_string_lossy().ends_with(".wal"))
        .count()
}

pub fn epoch_end(c: &mut Client, name: &str, current: i32, epoch: i32) -> EpochEndOffset {
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(1))
        .with_topics(vec![
            OffsetForLeaderTopic::default()
                .with_topic(topic(name))
                .with_partitions(vec![
                    OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_current_leader_epoch(current)
                        .with_leader_epoch(epoch),
                ]),
        ]);
    let resp: OffsetForLeaderEpochResponse = c.call(ApiKey::OffsetForLeaderEpoch, 4, &req);
    resp.topics[0].partitions[0].clone()
}

pub fn leader_epoch(c: &mut Client, name: &str) -> i32 {
    metadata(c, Some(&[name]), false).topics[0].partitions[0].leader_epoch
}

/// Whether `key` is one of the admin APIs [`admin_api_at`] covers.
pub fn admin_api(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::CreatePartitions
            | ApiKey::DescribeConfigs
            | ApiKey::AlterConfigs
            | ApiKey::IncrementalAlterConfigs
            | ApiKey::DescribeCluster
            | ApiKey::OffsetForLeaderEpoch
    )
}

/// One successful request of admin API `key` at version `v`, against the existing topic "v".
pub fn admin_api_at(c: &mut Client, key: ApiKey, v: i16) {
    let code = match key {
        ApiKey::CreatePartitions => {
            let name = format!("cp{v}");
            assert_eq!(create_topic(c, &name, 1), 0);
            let t = CreatePartitionsTopic::default()
                .with_name(topic(&name))
                .with_count(2);
            let req = CreatePartitionsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![t]);
            let r: CreatePartitionsResponse = c.call(key, v, &req);
            r.results[0].error_code
        }
        ApiKey::DescribeConfigs => {
            let resource = DescribeConfigsResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(s("v"));
            let req = DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_include_documentation(v >= 3)
                .with_resources(vec![resource]);
            let r: DescribeConfigsResponse = c.call(key, v, &req);
            assert!(!r.results[0].configs.is_empty(), "DescribeConfigs v{v}");
            r.results[0].error_code
        }
        ApiKey::AlterConfigs => {
            use alter_configs_request::{AlterConfigsResource, AlterableConfig};
            let config = AlterableConfig::default()
                .with_name(s("retention.ms"))
                .with_value(Some(s("-1")));
            let req = AlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC)
                    .with_resource_name(s("v"))
                    .with_configs(vec![config]),
            ]);
            let r: AlterConfigsResponse = c.call(key, v, &req);
            r.responses[0].error_code
        }
        ApiKey::IncrementalAlterConfigs => {
            incremental(c, TOPIC, "v", &[("segment.ms", SET, Some("60000"))], false).0
        }
        ApiKey::DescribeCluster => {
            let r: DescribeClusterResponse = c.call(key, v, &DescribeClusterRequest::default());
            assert_eq!(r.brokers.len(), 1, "DescribeCluster v{v}");
            r.error_code
        }
        ApiKey::OffsetForLeaderEpoch => {
            let p = OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(-1)
                .with_leader_epoch(0);
            let t = OffsetForLeaderTopic::default()
                .with_topic(topic("v"))
                .with_partitions(vec![p]);
            let req = OffsetForLeaderEpochRequest::default().with_topics(vec![t]);
            let r: OffsetForLeaderEpochResponse = c.call(key, v, &req);
            r.topics[0].partitions[0].error_code
        }
        other => panic!("{other:?} is not an admin API"),
    };
    assert_eq!(code, 0, "{key:?} v{v}");
}
