//! Admin APIs against a real broker process: CreatePartitions, Describe/Alter/Incremental-
//! AlterConfigs, topic configs applied to the logs (retention, min.insync.replicas,
//! max.message.bytes), DescribeCluster and OffsetForLeaderEpoch.

mod admin_support;
mod common;

use admin_support::*;
use chronik_kafka::kafka_protocol::messages::*;
use chronik_records::build_batch;
use common::ops::*;
use common::{BrokerProc, Client, wait_until};

#[test]
fn create_partitions_grows_a_topic_and_only_grows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "grow", 1), 0);
    assert_eq!(
        create_partitions(&mut c, "grow", 3, false, true).0,
        0,
        "validate only"
    );
    assert_eq!(
        partition_count(&mut c, "grow"),
        1,
        "validate_only changes nothing"
    );
    assert_eq!(create_partitions(&mut c, "grow", 3, false, false).0, 0);
    assert_eq!(partition_count(&mut c, "grow"), 3);
    let p = produce(&mut c, "grow", 2, build_batch(&[b"new"], now_ms()));
    assert_eq!(
        (p.error_code, p.base_offset),
        (0, 0),
        "the new partition's log is open"
    );

    let (code, message) = create_partitions(&mut c, "grow", 2, false, false);
    assert_eq!(code, 37, "INVALID_PARTITIONS: {message}");
    assert_eq!(create_partitions(&mut c, "grow", 3, false, true).0, 37);
    // A manual assignment (one new partition on broker 1) must name every new partition.
    let (code, message) = create_partitions(&mut c, "grow", 5, true, false);
    assert_eq!(code, 39, "INVALID_REPLICA_ASSIGNMENT: {message}");
    assert!(
        message.contains("1 assignments for 2 new partitions"),
        "{message}"
    );
    assert_eq!(create_partitions(&mut c, "missing", 4, false, false).0, 3);
    assert_eq!(partition_count(&mut c, "grow"), 3);
    assert_eq!(create_partitions(&mut c, "grow", 4, true, false).0, 0);
    assert_eq!(partition_count(&mut c, "grow"), 4);
}

#[test]
fn configs_round_trip_through_describe_alter_and_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    let created = create_with_configs(&mut c, "conf", &[("retention.ms", "86400000")], false);
    assert_eq!(created.error_code, 0, "{:?}", created.error_message);
    let listed = created.configs.expect("configs in the v7 response");
    let retention = listed
        .iter()
        .find(|e| e.name.as_str() == "retention.ms")
        .expect("listed");
    assert_eq!(
        (retention.value.as_deref(), retention.config_source),
        (Some("86400000"), 1)
    );

    let all = topic_configs(&mut c, "conf");
    assert!(all.len() >= 7, "every supported key: {all:?}");
    assert!(all.contains(&("retention.ms".into(), "86400000".into(), 1)));
    assert!(all.contains(&("cleanup.policy".into(), "delete".into(), 5)));
    assert!(all.contains(&("segment.bytes".into(), "1073741824".into(), 5)));
    let only = describe(&mut c, TOPIC, "conf", Some(&["segment.ms"]));
    assert_eq!(only.configs.len(), 1, "the key filter is honoured");
    assert!(only.configs[0].documentation.is_some());
    assert_eq!(only.configs[0].synonyms[0].name.as_str(), "log.roll.ms");
    assert_eq!(describe(&mut c, TOPIC, "nope", None).error_code, 3);

    let ops = [
        ("segment.bytes", SET, Some("4096")),
        ("retention.ms", DELETE, None),
    ];
    assert_eq!(
        incremental(&mut c, TOPIC, "conf", &ops, true).0,
        0,
        "validate only"
    );
    assert_eq!(
        config_value(&mut c, "conf", "segment.bytes"),
        ("1073741824".into(), 5)
    );
    assert_eq!(incremental(&mut c, TOPIC, "conf", &ops, false).0, 0);
    assert_eq!(
        config_value(&mut c, "conf", "segment.bytes"),
        ("4096".into(), 1)
    );
    assert_eq!(
        config_value(&mut c, "conf", "retention.ms"),
        ("604800000".into(), 5)
    );

    let refused = [
        (("retention.ms", APPEND, Some("5")), 42, "not a list"),
        (("no.such.key", SET, Some("5")), 40, "unknown topic config"),
        (("segment.bytes", SET, Some("12")), 40, "segment.bytes"),
        (
            ("cleanup.policy", SET, Some("shred")),
            40,
            "unknown cleanup policy",
        ),
    ];
    for (op, want, text) in refused {
        let (code, message) = incremental(&mut c, TOPIC, "conf", &[op], false);
        assert_eq!(code, want, "{op:?}: {message}");
        assert!(message.contains(text), "{op:?}: {message}");
    }
    let bad = create_with_configs(&mut c, "bad", &[("segment.bytes", "x")], true);
    assert_eq!(bad.error_code, 40, "validate_only checks configs too");
    assert_eq!(
        create_with_configs(&mut c, "bad", &[("x.y", "1")], false).error_code,
        40
    );
    assert_eq!(
        metadata(&mut c, Some(&["bad"]), false).topics[0].error_code,
        3
    );

    let (code, message) = alter(&mut c, TOPIC, "conf", &[("max.message.bytes", "5000")]);
    assert_eq!(code, 0, "{message}");
    let dynamic: Vec<_> = (topic_configs(&mut c, "conf").into_iter())
        .filter(|(_, _, source)| *source == 1)
        .collect();
    assert_eq!(
        dynamic,
        vec![("max.message.bytes".into(), "5000".into(), 1)],
        "replaced"
    );
    assert_eq!(alter(&mut c, TOPIC, "conf", &[("segment.ms", "0")]).0, 40);

    let me = describe(&mut c, BROKER, "1", None);
    assert_eq!(me.error_code, 0);
    let read_only = |name: &str| {
        let entry = me.configs.iter().find(|e| e.name.as_str() == name);
        entry.map(|e| e.read_only)
    };
    assert_eq!(read_only("node.id"), Some(true));
    assert_eq!(read_only("log.retention.ms"), Some(false));
    assert_eq!(describe(&mut c, BROKER, "", None).error_code, 0);
    let (code, message) = alter(&mut c, BROKER, "1", &[("node.id", "5")]);
    assert_eq!(code, 40);
    assert!(message.contains("cannot change at runtime"), "{message}");
    let (code, message) = alter(&mut c, BROKER, "1", &[("log.retention.ms", "5")]);
    assert_eq!(code, 0, "{message}");

    drop(c);
    assert!(broker.terminate().success());
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(
        config_value(&mut c, "conf", "max.message.bytes"),
        ("5000".into(), 1)
    );
    assert_eq!(
        config_value(&mut c, "conf", "segment.bytes"),
        ("1073741824".into(), 5)
    );
    // The broker's dynamic config survived too, as the default of topics without their own.
    assert_eq!(
        config_value(&mut c, "conf", "retention.ms"),
        ("5".into(), 2)
    );
}

#[test]
fn retention_deletes_old_segments_and_moves_the_log_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["--fsync", "never", "--retention-check-interval-ms", "100"];
    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let keep = [("segment.bytes", "1024"), ("retention.ms", "-1")];
    for name in ["by-bytes", "by-time"] {
        assert_eq!(
            create_with_configs(&mut c, name, &keep, false).error_code,
            0
        );
    }
    let value = [b'x'; 300];
    for _ in 0..20 {
        let fresh = produce(&mut c, "by-bytes", 0, build_batch(&[&value], now_ms()));
        assert_eq!(fresh.error_code, 0);
        let old = produce(&mut c, "by-time", 0, build_batch(&[&value], 1_000));
        assert_eq!(old.error_code, 0);
    }
    assert!(
        segment_files(dir.path(), "by-bytes") >= 5,
        "small segments rolled"
    );
    assert_eq!(offsets(&mut c, "by-bytes"), (0, 20));

    set(&mut c, "by-bytes", "retention.bytes", "2048");
    wait_until("retention.bytes", WAIT, || {
        offsets(&mut c, "by-bytes").0 > 0
    });
    let (start, end) = offsets(&mut c, "by-bytes");
    assert_eq!(end, 20);
    assert!(start >= 10, "only about 2 KiB stay: start {start}");
    let f = fetch(&mut c, "by-bytes", 0, start, 0);
    assert_eq!(f.error_code, 0, "the new log start is readable");
    assert_eq!(
        fetch(&mut c, "by-bytes", 0, 0, 0).error_code,
        1,
        "OFFSET_OUT_OF_RANGE"
    );

    assert_eq!(
        offsets(&mut c, "by-time"),
        (0, 20),
        "retention.ms=-1 keeps old records"
    );
    set(&mut c, "by-time", "retention.ms", "60000");
    wait_until("retention.ms", WAIT, || offsets(&mut c, "by-time").0 == 20);
    assert_eq!(
        segment_files(dir.path(), "by-time"),
        1,
        "only the new active segment"
    );
}

#[test]
fn min_insync_replicas_and_max_message_bytes_apply_to_produce() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    let configs = [("min.insync.replicas", "2"), ("max.message.bytes", "1024")];
    assert_eq!(
        create_with_configs(&mut c, "strict", &configs, false).error_code,
        0
    );
    let small = build_batch(&[b"ok"], now_ms());
    let produce_acks = |c: &mut Client, acks: i16, batch: Vec<u8>| {
        let req = produce_request("strict", 0, acks, batch);
        let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
        resp.responses[0].partition_responses[0].clone()
    };
    let all = produce_acks(&mut c, -1, small.clone());
    assert_eq!(all.error_code, 19, "NOT_ENOUGH_REPLICAS");
    assert_eq!(
        list_offset(&mut c, "strict", 0, -1).1,
        0,
        "nothing appended"
    );
    assert_eq!(
        produce_acks(&mut c, 1, small.clone()).error_code,
        0,
        "acks=1 still works"
    );
    let big = build_batch(&[&[b'x'; 2000]], now_ms());
    assert_eq!(
        produce_acks(&mut c, 1, big.clone()).error_code,
        10,
        "MESSAGE_TOO_LARGE"
    );

    set(&mut c, "strict", "min.insync.replicas", "1");
    set(&mut c, "strict", "max.message.bytes", "100000");
    assert_eq!(produce_acks(&mut c, -1, small).error_code, 0);
    assert_eq!(produce_acks(&mut c, -1, big).error_code, 0);
}

#[test]
fn describe_cluster_lists_this_broker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    let req = DescribeClusterRequest::default();
    let resp: DescribeClusterResponse = c.call(ApiKey::DescribeCluster, 1, &req);
    assert_eq!(resp.error_code, 0);
    assert!(!resp.cluster_id.is_empty());
    assert_eq!(resp.controller_id.0, 1);
    assert_eq!(resp.cluster_authorized_operations, i32::MIN);
    assert_eq!(resp.brokers.len(), 1);
    assert_eq!(resp.brokers[0].port, i32::from(broker.addr.port()));
    let md = metadata(&mut c, None, false);
    assert_eq!(md.cluster_id.as_deref(), Some(resp.cluster_id.as_str()));
    let v0: DescribeClusterResponse = c.call(ApiKey::DescribeCluster, 0, &req);
    assert_eq!((v0.error_code, v0.brokers.len()), (0, 1));
    let controllers = DescribeClusterRequest::default().with_endpoint_type(2);
    let resp: DescribeClusterResponse = c.call(ApiKey::DescribeCluster, 1, &controllers);
    assert_eq!(resp.error_code, 115, "UNSUPPORTED_ENDPOINT_TYPE");
}

#[test]
fn offset_for_leader_epoch_answers_from_the_epoch_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "epochs", 1), 0);
    for _ in 0..3 {
        assert_eq!(
            produce(&mut c, "epochs", 0, build_batch(&[b"a"], now_ms())).error_code,
            0
        );
    }
    let first = leader_epoch(&mut c, "epochs");
    let e = epoch_end(&mut c, "epochs", first, first);
    assert_eq!((e.error_code, e.leader_epoch, e.end_offset), (0, first, 3));
    assert_eq!(
        epoch_end(&mut c, "epochs", first + 1, first).error_code,
        75,
        "UNKNOWN_LEADER_EPOCH"
    );
    let future = epoch_end(&mut c, "epochs", -1, first + 1);
    assert_eq!(
        (future.error_code, future.leader_epoch, future.end_offset),
        (0, -1, -1)
    );
    assert_eq!(epoch_end(&mut c, "missing", -1, 0).error_code, 3);

    drop(c);
    assert!(broker.terminate().success());
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut c = broker.client();
    let second = leader_epoch(&mut c, "epochs");
    assert!(second > first, "a restart bumps the leader epoch");
    assert_eq!(
        produce(&mut c, "epochs", 0, build_batch(&[b"b"], now_ms())).error_code,
        0
    );
    let old = epoch_end(&mut c, "epochs", second, first);
    assert_eq!(
        (old.error_code, old.leader_epoch, old.end_offset),
        (0, first, 3),
        "ended at 3"
    );
    let now = epoch_end(&mut c, "epochs", second, second);
    assert_eq!((now.leader_epoch, now.end_offset), (second, 4));
    assert_eq!(
        epoch_end(&mut c, "epochs", first, second).error_code,
        74,
        "FENCED_LEADER_EPOCH"
    );
}
