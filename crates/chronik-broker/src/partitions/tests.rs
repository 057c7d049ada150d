use std::time::Instant;

use chronik_metadata::proto::{BrokerConfigChange, CreateTopic, PartitionAssignment};
use chronik_metadata::{MetadataRecord, MetadataState, Record};
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, WalOptions};

use super::Partitions;
use crate::config::BrokerConfig;
use crate::topic_config::TopicSettings;

/// Broker 1 leads partition 0 of `orders`, replicated on 1, 2 and 3, all in the ISR.
fn led_by_one() -> MetadataState {
    let mut state = crate::testing::registered(&[1, 2, 3]);
    let create = Record::CreateTopic(CreateTopic {
        name: "orders".into(),
        topic_id: vec![7; 16],
        partitions: vec![PartitionAssignment {
            partition_index: 0,
            replicas: vec![1, 2, 3],
            leader: 1,
            isr: vec![1, 2, 3],
        }],
        configs: Default::default(),
    });
    state
        .apply(&MetadataRecord::new(create))
        .expect("create topic");
    state
}

fn open(dir: &std::path::Path, state: &MetadataState) -> Partitions {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).expect("data dir");
    let defaults = TopicSettings::defaults(&BrokerConfig::new(dir.to_path_buf()));
    let partitions = Partitions::new(data, defaults);
    partitions.reconcile_latest(|| partitions.wanted(state, 1));
    partitions
}

#[test]
fn a_restarted_leader_starts_from_its_saved_high_watermark() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = led_by_one();
    let tp = TopicPartition::new("orders", 0);
    let partitions = open(dir.path(), &state);
    let hosted = partitions.get_hosted(&tp).expect("hosted");
    for _ in 0..10 {
        let mut batch = chronik_records::build_batch(&[b"v".as_slice()], 1_000);
        hosted.log.append(&mut batch, 0).expect("append");
    }
    let now = Instant::now();
    hosted.replica.update(|p| {
        p.follower_fetched(2, 10, 10, now);
        p.follower_fetched(3, 7, 10, now);
    });
    assert_eq!(hosted.replica.high_watermark(), 7);
    drop(hosted);
    partitions.close().expect("close");

    let partitions = open(dir.path(), &state);
    let hosted = partitions.get_hosted(&tp).expect("hosted again");
    assert_eq!(hosted.log.end_offset(), 10);
    assert_eq!(
        hosted.replica.high_watermark(),
        7,
        "the followers have not fetched yet: the saved mark, not the log start"
    );
    drop(hosted);
    partitions.close().expect("close again");

    std::fs::write(
        dir.path().join("high-watermarks"),
        "orders 0 another-topic-id 9\n",
    )
    .expect("write a mark of another incarnation");
    let partitions = open(dir.path(), &state);
    let hosted = partitions.get_hosted(&tp).expect("hosted a third time");
    assert_eq!(
        hosted.replica.high_watermark(),
        0,
        "a mark saved for a deleted topic of the same name is not used"
    );
}

#[test]
fn what_a_reconciliation_applies_is_read_in_its_turn() {
    // Two reconciliations racing: the one that waited must not apply metadata read before
    // the other ran (it would delete the partition the other just opened, records and all).
    let dir = tempfile::tempdir().expect("temp dir");
    let state = led_by_one();
    let partitions = open(dir.path(), &state);
    let tp = TopicPartition::new("orders", 0);
    partitions.reconcile_latest(|| {
        assert!(
            partitions.reconciling.try_lock().is_err(),
            "the wanted partitions are read while this reconciliation holds its turn"
        );
        partitions.wanted(&state, 1)
    });
    assert!(partitions.get_hosted(&tp).is_some());
    partitions.reconcile_latest(|| partitions.wanted(&MetadataState::new(), 1));
    assert!(partitions.get_hosted(&tp).is_none(), "a deleted topic goes");
}

#[test]
fn open_logs_follow_changed_broker_configs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut state = led_by_one();
    let partitions = open(dir.path(), &state);
    let tp = TopicPartition::new("orders", 0);
    let retention = |p: &Partitions| p.get(&tp).expect("hosted").config().retention_ms;
    assert_eq!(retention(&partitions), Some(7 * 24 * 3600 * 1000));
    let change = |broker: Option<i32>, value: &str| {
        MetadataRecord::new(Record::BrokerConfigChange(BrokerConfigChange {
            broker_id: broker,
            set: [("log.retention.ms".to_owned(), value.to_owned())].into(),
            delete: Vec::new(),
        }))
    };
    state.apply(&change(None, "60000")).expect("cluster-wide");
    partitions.reconcile_latest(|| partitions.wanted(&state, 1));
    assert_eq!(retention(&partitions), Some(60_000));
    // Broker 1's own value goes over the cluster-wide one; broker 2's does not apply here.
    state.apply(&change(Some(2), "1000")).expect("broker 2");
    state.apply(&change(Some(1), "30000")).expect("broker 1");
    partitions.reconcile_latest(|| partitions.wanted(&state, 1));
    assert_eq!(retention(&partitions), Some(30_000));
    partitions.close().expect("close");
}
