use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::kafka_errors::from_config_error;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_metadata::MetadataState;

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    (entries.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn rejects(name: &str, value: &str) -> ConfigError {
    match TopicSettings::builtin().set(name, value) {
        Err(e) => e,
        Ok(()) => panic!("{name}={value} was accepted"),
    }
}

#[test]
fn values_parse_into_settings_and_render_back() {
    let configs = map(&[
        (RETENTION_MS, "-1"),
        (RETENTION_BYTES, " 4096 "),
        (SEGMENT_BYTES, "1024"),
        (SEGMENT_MS, "60000"),
        (MIN_INSYNC_REPLICAS, "2"),
        (MAX_MESSAGE_BYTES, "1000"),
        (CLEANUP_POLICY, "delete"),
        (UNCLEAN_LEADER_ELECTION_CONFIG, "TRUE"),
        ("compression.type", "lz4"),
        ("compression.lz4.level", "12"),
        (SEGMENT_JITTER_MS, "500"),
        (INDEX_INTERVAL_BYTES, "0"),
        (FLUSH_MESSAGES, "5000"),
        (FLUSH_MS, "1000"),
    ]);
    let s = TopicSettings::builtin()
        .with_overrides(&configs)
        .expect("valid");
    assert_eq!(s.retention_ms, None);
    assert_eq!(s.retention_bytes, Some(4096));
    assert_eq!(s.segment_bytes, 1024);
    assert_eq!(s.segment_ms, Duration::from_secs(60));
    assert_eq!((s.min_insync_replicas, s.max_message_bytes), (2, 1000));
    assert!(s.unclean_leader_election);
    let rendered: Vec<String> = KEYS.iter().map(|k| s.value(k)).collect();
    assert_eq!(
        rendered,
        [
            "delete",
            "-1",
            "12",
            "lz4",
            "3",
            "86400000",
            "60000",
            "5000",
            "1000",
            "",
            "0",
            "",
            "-2",
            "-2",
            "9223372036854775807",
            "1000",
            "true",
            "3.0-IV1",
            "9223372036854775807",
            "9223372036854775807",
            "9223372036854775807",
            "CreateTime",
            "0.5",
            "0",
            "2",
            "false",
            "false",
            "false",
            "false",
            "4096",
            "-1",
            "1024",
            "10485760",
            "500",
            "60000",
            "true"
        ]
    );
    let log = s.log_config();
    assert_eq!((log.segment_bytes, log.retention_ms), (1024, None));
    assert_eq!(log.retention_bytes, Some(4096));
    assert_eq!(log.segment_jitter, Duration::from_millis(500));
    let flush = FlushPolicy {
        messages: 5000,
        interval: Some(Duration::from_secs(1)),
    };
    assert_eq!(log.flush, Some(flush));
    // Index entries come at most one per batch: 0 means every batch, as in Kafka.
    assert_eq!(
        log.index_interval_bytes,
        chronik_wal::MIN_INDEX_INTERVAL_BYTES
    );
    assert_eq!(
        s.compression.target(),
        Some(chronik_compaction::Codec {
            compression: chronik_records::Compression::Lz4,
            level: 12
        })
    );
    assert!(log.validate().is_ok());
}

#[test]
fn bad_keys_and_values_are_invalid_config_with_a_reason() {
    let unknown = rejects("retention.hours", "1");
    assert_eq!(from_config_error(&unknown), ResponseError::InvalidConfig);
    assert!(unknown.to_string().contains("retention.ms"), "{unknown}");
    for (name, value) in [
        (RETENTION_MS, "-2"),
        (RETENTION_MS, "soon"),
        (SEGMENT_BYTES, "100"),
        (SEGMENT_BYTES, "4294967296"),
        (SEGMENT_MS, "0"),
        (MIN_INSYNC_REPLICAS, "0"),
        (MAX_MESSAGE_BYTES, "-5"),
        (MAX_MESSAGE_BYTES, "3000000000"),
        (CLEANUP_POLICY, "delete,nuke"),
        (CLEANUP_POLICY, ""),
        (CLEANUP_POLICY, ","),
        ("min.cleanable.dirty.ratio", "1.5"),
        ("min.cleanable.dirty.ratio", "half"),
        ("min.compaction.lag.ms", "-1"),
        ("max.compaction.lag.ms", "0"),
        ("delete.retention.ms", "-5"),
        (UNCLEAN_LEADER_ELECTION_CONFIG, "yes"),
    ] {
        let e = rejects(name, value);
        assert_eq!(
            from_config_error(&e),
            ResponseError::InvalidConfig,
            "{name}={value}: {e}"
        );
    }
}

#[test]
fn cleanup_policies_and_compaction_configs_parse_and_shape_the_log() {
    let parsed = |pairs: &[(&str, &str)]| {
        TopicSettings::builtin()
            .with_overrides(&map(pairs))
            .expect("valid")
    };
    let both = parsed(&[(CLEANUP_POLICY, "delete, compact"), (RETENTION_MS, "1000")]);
    assert_eq!((both.cleanup.compact, both.cleanup.delete), (true, true));
    assert_eq!(both.value(key(CLEANUP_POLICY).unwrap()), "compact,delete");
    assert_eq!(both.log_config().retention_ms, Some(1000));
    let compact = parsed(&[(CLEANUP_POLICY, "compact"), (RETENTION_MS, "1000")]);
    assert_eq!(
        compact.log_config().retention_ms,
        None,
        "no retention without delete"
    );
    let tuned = parsed(&[
        ("min.cleanable.dirty.ratio", "0.25"),
        ("min.compaction.lag.ms", "100"),
        ("max.compaction.lag.ms", "5000"),
        ("delete.retention.ms", "0"),
    ]);
    assert_eq!(tuned.compaction.min_cleanable_dirty_ratio, 0.25);
    assert_eq!(tuned.compaction.min_compaction_lag.as_millis(), 100);
    assert_eq!(tuned.compaction.max_compaction_lag.as_millis(), 5000);
    assert!(tuned.compaction.delete_retention.is_zero());
    assert_eq!(tuned.value(key("min.compaction.lag.ms").unwrap()), "100");
    let builtin = TopicSettings::builtin();
    assert_eq!(
        builtin.value(key("delete.retention.ms").unwrap()),
        "86400000"
    );
    assert_eq!(
        builtin.value(key("min.cleanable.dirty.ratio").unwrap()),
        "0.5"
    );
}

#[test]
fn effective_configs_tell_topic_overrides_from_broker_defaults() {
    let mut broker = BrokerConfig::new(PathBuf::new());
    broker.segment_bytes = 1 << 20;
    let defaults = TopicSettings::defaults(&broker);
    let configs = map(&[(RETENTION_MS, "1000")]);
    let state = MetadataState::new();
    let all = effective("t", &Defaults::new(defaults.clone(), &state, 1), &configs);
    assert_eq!(all.len(), KEYS.len());
    let find = |name: &str| all.iter().find(|e| e.key.name == name).expect("listed");
    let retention = find(RETENTION_MS);
    assert_eq!(
        (retention.value.as_str(), retention.source),
        ("1000", Source::DynamicTopic)
    );
    assert_eq!(
        retention.synonyms,
        [
            ("1000".to_owned(), Source::DynamicTopic),
            ("604800000".to_owned(), Source::Default)
        ]
    );
    let segment = find(SEGMENT_BYTES);
    assert_eq!(
        (segment.value.as_str(), segment.source),
        ("1048576", Source::StaticBroker)
    );
    assert_eq!(find(CLEANUP_POLICY).source, Source::Default);
    assert!(defaults.check().is_ok());
    broker.segment_bytes = 10;
    assert!(TopicSettings::defaults(&broker).check().is_err());
}

#[test]
fn alter_configs_replaces_everything_and_refuses_duplicates() {
    let next = replace_all(
        Scope::Topic,
        [(RETENTION_MS, Some("5")), (SEGMENT_MS, None)],
    )
    .expect("valid");
    assert_eq!(next, map(&[(RETENTION_MS, "5")]));
    let dup = replace_all(
        Scope::Topic,
        [(RETENTION_MS, Some("5")), (RETENTION_MS, Some("6"))],
    );
    assert_eq!(
        dup.map_err(|e| from_config_error(&e)),
        Err(ResponseError::InvalidRequest)
    );
    let bad = replace_all(Scope::Topic, [(SEGMENT_BYTES, Some("1"))]);
    assert_eq!(
        bad.map_err(|e| from_config_error(&e)),
        Err(ResponseError::InvalidConfig)
    );
}

#[test]
fn incremental_ops_set_delete_append_and_subtract() {
    let defaults = TopicSettings::builtin();
    let current = map(&[(RETENTION_MS, "1000"), ("legacy.key", "kept")]);
    let ops = vec![
        (RETENTION_MS.to_owned(), AlterOp::Delete),
        (SEGMENT_BYTES.to_owned(), AlterOp::Set("2048".into())),
        (CLEANUP_POLICY.to_owned(), AlterOp::Append("delete".into())),
    ];
    let next = apply_ops(Scope::Topic, &current, &defaults, &ops).expect("valid");
    let want = map(&[
        (CLEANUP_POLICY, "delete"),
        ("legacy.key", "kept"),
        (SEGMENT_BYTES, "2048"),
    ]);
    assert_eq!(next, want);
    let op = |name: &str, op: AlterOp| vec![(name.to_owned(), op)];
    let code = |ops: Vec<(String, AlterOp)>| {
        apply_ops(Scope::Topic, &current, &defaults, &ops).map_err(|e| from_config_error(&e))
    };
    assert_eq!(
        code(op(RETENTION_MS, AlterOp::Append("5".into()))),
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(
        code(op(CLEANUP_POLICY, AlterOp::Subtract("delete".into()))),
        Err(ResponseError::InvalidConfig)
    );
    assert_eq!(
        code(op(CLEANUP_POLICY, AlterOp::Append("nuke".into()))),
        Err(ResponseError::InvalidConfig)
    );
    assert_eq!(
        apply_ops(
            Scope::Topic,
            &current,
            &defaults,
            &op(CLEANUP_POLICY, AlterOp::Append("compact".into()))
        )
        .map(|next| next[CLEANUP_POLICY].clone()),
        Ok("delete,compact".to_owned())
    );
    assert_eq!(
        code(op("nope", AlterOp::Delete)),
        Err(ResponseError::InvalidConfig)
    );
    assert_eq!(
        code(op(SEGMENT_MS, AlterOp::Set("0".into()))),
        Err(ResponseError::InvalidConfig)
    );
    let twice = vec![
        (SEGMENT_MS.to_owned(), AlterOp::Delete),
        (SEGMENT_MS.to_owned(), AlterOp::Set("5".into())),
    ];
    assert_eq!(code(twice), Err(ResponseError::InvalidRequest));
}

#[test]
fn wire_operations_map_to_ops() {
    assert_eq!(
        AlterOp::from_wire("k", 0, Some("v")),
        Ok(AlterOp::Set("v".into()))
    );
    assert_eq!(AlterOp::from_wire("k", 1, None), Ok(AlterOp::Delete));
    assert_eq!(
        AlterOp::from_wire("k", 2, Some("v")),
        Ok(AlterOp::Append("v".into()))
    );
    assert_eq!(
        AlterOp::from_wire("k", 3, Some("v")),
        Ok(AlterOp::Subtract("v".into()))
    );
    assert_eq!(
        AlterOp::from_wire("k", 0, None).map_err(|e| from_config_error(&e)),
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(
        AlterOp::from_wire("k", 9, Some("v")).map_err(|e| from_config_error(&e)),
        Err(ResponseError::InvalidRequest)
    );
}

#[test]
fn flush_configs_default_to_the_brokers_fsync_and_use_kafkas_unbounded_value() {
    let always = TopicSettings::builtin();
    assert_eq!(always.flush, FlushPolicy::ALWAYS);
    let value = |s: &TopicSettings, name: &str| s.value(key(name).expect("a key"));
    assert_eq!(value(&always, FLUSH_MESSAGES), "1");
    assert_eq!(value(&always, FLUSH_MS), "9223372036854775807");
    let mut config = crate::BrokerConfig::new(std::path::PathBuf::new());
    config.fsync = chronik_types::FsyncPolicy::Interval(Duration::from_millis(250));
    let interval = TopicSettings::defaults(&config);
    assert_eq!(value(&interval, FLUSH_MESSAGES), "9223372036854775807");
    assert_eq!(value(&interval, FLUSH_MS), "250");
    let relaxed = always
        .with_overrides(&map(&[(FLUSH_MESSAGES, "9223372036854775807")]))
        .expect("valid");
    assert!(relaxed.flush.is_never(), "{:?}", relaxed.flush);
    for (name, bad) in [(FLUSH_MESSAGES, "0"), (FLUSH_MS, "-1"), (FLUSH_MS, "soon")] {
        assert!(rejects(name, bad).is_invalid_config(), "{name}={bad}");
    }
}
