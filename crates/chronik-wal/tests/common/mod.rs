#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use chronik_records::build_batch;
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, PartitionLog, WalOptions};

pub fn tp() -> TopicPartition {
    TopicPartition::new("events", 0)
}

/// A batch of `n` records whose values encode `tag` so reads can be checked byte for byte.
pub fn batch(tag: u64, n: usize, timestamp: i64) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{tag}:{i}:{}", "x".repeat((tag % 17) as usize)).into_bytes())
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
    build_batch(&refs, timestamp)
}

pub fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

pub fn open(dir: &Path, policy: FsyncPolicy, config: LogConfig) -> (DataDir, Arc<PartitionLog>) {
    let data = DataDir::open(dir, WalOptions::new(policy)).expect("open data dir");
    let (log, _) = data.open_partition(&tp(), config).expect("open partition");
    (data, log)
}

/// Splits a read's bytes back into the batches it holds.
pub fn split_batches(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let header = chronik_records::BatchHeader::parse(data).expect("batch header");
        let (one, rest) = data.split_at(header.total_len());
        out.push(one.to_vec());
        data = rest;
    }
    out
}

pub mod cleaner;
