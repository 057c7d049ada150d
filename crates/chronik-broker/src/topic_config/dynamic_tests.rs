use std::collections::BTreeMap;
use std::path::PathBuf;

use chronik_metadata::proto::BrokerConfigChange;
use chronik_metadata::{MetadataRecord, MetadataState, Record};

use super::*;
use crate::BrokerConfig;
use crate::kafka_errors::from_config_error;
use chronik_kafka::kafka_protocol::error::ResponseError;

/// Brokers 1 and 2 with `cluster` set cluster-wide and `own` set on broker 1.
fn state(cluster: &[(&str, &str)], own: &[(&str, &str)]) -> MetadataState {
    let mut state = crate::testing::registered(&[1, 2]);
    for (broker_id, set) in [(None, cluster), (Some(1), own)] {
        if set.is_empty() {
            continue;
        }
        let set = (set.iter()).map(|(k, v)| (k.to_string(), v.to_string()));
        let change = Record::BrokerConfigChange(BrokerConfigChange {
            broker_id,
            set: set.collect(),
            delete: Vec::new(),
        });
        state.apply(&MetadataRecord::new(change)).expect("change");
    }
    state
}

fn flags(segment_bytes: u64) -> TopicSettings {
    let mut config = BrokerConfig::new(PathBuf::new());
    config.segment_bytes = segment_bytes;
    TopicSettings::defaults(&config)
}

#[test]
fn a_brokers_own_value_goes_over_the_cluster_wide_one_over_its_flags() {
    let state = state(
        &[
            ("log.retention.ms", "5000"),
            ("log.segment.bytes", "2097152"),
        ],
        &[("log.retention.ms", "6000"), ("compression.type", "zstd")],
    );
    let one = Defaults::new(flags(1 << 20), &state, 1).settings();
    assert_eq!(one.retention_ms, Some(6000));
    assert_eq!(one.segment_bytes, 2 << 20);
    assert_eq!(one.value(key("compression.type").expect("key")), "zstd");
    let two = Defaults::new(flags(1 << 20), &state, 2).settings();
    assert_eq!(two.retention_ms, Some(5000));
    assert_eq!(two.value(key("compression.type").expect("key")), "producer");
}

#[test]
fn synonyms_list_every_layer_highest_first() {
    let state = state(
        &[("log.retention.ms", "5000")],
        &[("log.retention.ms", "6000")],
    );
    let defaults = Defaults::new(flags(1 << 20), &state, 1);
    let retention = key(RETENTION_MS).expect("key");
    assert_eq!(
        defaults.synonyms(retention),
        [
            ("6000".to_owned(), Source::DynamicBroker),
            ("5000".to_owned(), Source::DynamicDefaultBroker),
            ("604800000".to_owned(), Source::Default),
        ]
    );
    let segment = key(SEGMENT_BYTES).expect("key");
    assert_eq!(
        defaults.synonyms(segment),
        [
            ("1048576".to_owned(), Source::StaticBroker),
            ("1073741824".to_owned(), Source::Default),
        ]
    );
    // A topic's own value goes over all of them.
    let configs = BTreeMap::from([(RETENTION_MS.to_owned(), "10".to_owned())]);
    let all = effective("t", &defaults, &configs);
    let topic = all
        .iter()
        .find(|e| e.key.name == RETENTION_MS)
        .expect("listed");
    assert_eq!(
        (topic.value.as_str(), topic.source),
        ("10", Source::DynamicTopic)
    );
    assert_eq!(topic.synonyms.len(), 4);
}

#[test]
fn stored_values_a_broker_cannot_parse_are_skipped() {
    let state = state(&[("log.retention.ms", "soon")], &[]);
    let defaults = Defaults::new(flags(1 << 20), &state, 1);
    assert_eq!(defaults.settings().retention_ms, Some(7 * 24 * 3600 * 1000));
    let retention = key(RETENTION_MS).expect("key");
    assert_eq!(defaults.synonyms(retention).len(), 1);
}

#[test]
fn broker_changes_name_broker_configs_and_are_validated() {
    let current = BTreeMap::new();
    let defaults = TopicSettings::builtin();
    let set = |name: &str, value: &str| vec![(name.to_owned(), AlterOp::Set(value.to_owned()))];
    let next = apply_ops(
        Scope::Broker,
        &current,
        &defaults,
        &set("log.retention.ms", "9"),
    );
    assert_eq!(
        next,
        Ok(BTreeMap::from([(
            "log.retention.ms".to_owned(),
            "9".to_owned()
        )]))
    );
    let append = vec![(
        "log.cleanup.policy".to_owned(),
        AlterOp::Append("compact".into()),
    )];
    let next = apply_ops(Scope::Broker, &current, &defaults, &append).expect("a list");
    assert_eq!(next["log.cleanup.policy"], "delete,compact");
    for (name, value) in [
        ("retention.ms", "9"),
        ("node.id", "3"),
        ("log.dirs", "/x"),
        ("log.retention.ms", "soon"),
        ("log.segment.bytes", "1"),
    ] {
        let refused = apply_ops(Scope::Broker, &current, &defaults, &set(name, value));
        let error = refused.expect_err(name);
        assert_eq!(
            from_config_error(&error),
            ResponseError::InvalidConfig,
            "{name}"
        );
        assert!(error.to_string().contains(name), "{error}");
    }
    let whole = replace_all(Scope::Broker, [("log.roll.ms", Some("1000"))]).expect("valid");
    assert_eq!(whole.len(), 1);
    assert!(replace_all(Scope::Broker, [("segment.ms", Some("1000"))]).is_err());
}
