//! Fixtures for the CLI tests: data dirs written with chronik-wal itself, and a way to run the
//! real binary and read what it printed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::{Bytes, BytesMut};
use chronik_records::build_batch;
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::{DataDir, LogConfig, WalOptions};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// 2023-11-14T22:13:20.000Z: the first timestamp written.
pub const T0: i64 = 1_700_000_000_000;
/// Batches written to orders-0 (two records each, one second apart).
pub const ORDERS0_BATCHES: i64 = 12;
/// The binary value stored at events-0 offset 1.
pub const BINARY: [u8; 5] = [0xde, 0xad, 0xbe, 0xef, 0x00];

pub fn orders0() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

/// A data dir holding:
/// - orders-0: 12 batches × 2 records ("order-<batch>-<record>"), small segments so it has several;
/// - orders-1: 3 batches × 1 record;
/// - events-0: a text value, a binary value, and a gzip batch (key, header, producer id 42).
pub fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).expect("open dir");
    let small = LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    let (orders0, _) = data
        .open_partition_with(&orders0(), small, Default::default())
        .expect("orders-0");
    for i in 0..ORDERS0_BATCHES {
        let values = [format!("order-{i}-0"), format!("order-{i}-1")];
        let refs: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        orders0
            .append(&mut build_batch(&refs, T0 + i * 1000), 3)
            .expect("append");
    }
    let (orders1, _) = data
        .open_partition(&TopicPartition::new("orders", 1), LogConfig::default())
        .expect("orders-1");
    for i in 0..3 {
        orders1
            .append(&mut build_batch(&[b"x"], T0 + i), 0)
            .expect("append");
    }
    let (events, _) = data
        .open_partition(&TopicPartition::new("events", 0), LogConfig::default())
        .expect("events-0");
    events
        .append(&mut build_batch(&[b"hello world"], T0), 0)
        .expect("append");
    events
        .append(&mut build_batch(&[&BINARY], T0 + 1), 0)
        .expect("append");
    events.append(&mut gzip_batch(), 0).expect("append");
    data.close().expect("close");
    dir
}

/// A gzip-compressed batch of two keyed records with a header, from producer 42 epoch 1.
fn gzip_batch() -> BytesMut {
    let records: Vec<Record> = (0..2)
        .map(|i| {
            let mut headers = kafka_protocol::indexmap::IndexMap::new();
            headers.insert("trace".into(), Some(Bytes::from_static(b"abc")));
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: 42,
                producer_epoch: 1,
                timestamp_type: TimestampType::Creation,
                offset: i,
                sequence: i as i32,
                timestamp: T0 + 2,
                key: Some(Bytes::from(format!("user-{i}"))),
                value: Some(Bytes::from(format!("{{\"n\":{i}}}"))),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::Gzip,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode gzip batch");
    buf
}

/// What a run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs chronik-walctl with `args`.
pub fn walctl<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_chronik-walctl"))
        .args(args)
        .env_remove("CHRONIK_OUTPUT")
        .env_remove("CHRONIK_DATA_DIR")
        .env_remove("CHRONIK_REMOTE_STORAGE")
        .env_remove("RUST_LOG")
        .output()
        .expect("run chronik-walctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs chronik-walctl on `dir` as `<command> DIR <rest…>`.
pub fn walctl_on(command: &str, dir: &Path, rest: &[&str]) -> Run {
    let mut args = vec![command.into(), dir.as_os_str().to_owned()];
    args.extend(rest.iter().map(Into::into));
    walctl(args)
}

/// The segment files of a partition, oldest first.
pub fn segments(dir: &Path, tp: &TopicPartition) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("partitions").join(tp.dir_name()))
        .expect("partition dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    files.sort();
    files
}

/// Every file under `dir` with its bytes, to prove that a command changed nothing.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

/// The batches of a partition as `dump --output json` lists them.
pub fn dumped_batches(dir: &Path, tp: &TopicPartition) -> Vec<serde_json::Value> {
    let part = tp.partition.to_string();
    let run = walctl_on(
        "dump",
        dir,
        &[
            "--topic",
            &tp.topic,
            "--partition",
            &part,
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "dump failed: {}", run.stderr);
    run.json()["batches"]
        .as_array()
        .expect("batches array")
        .clone()
}

/// Writes a partition frame by frame, so that a test can store what chronik-wal's append would
/// refuse (say, a batch whose own CRC-32C is wrong under a valid frame CRC). Each entry is
/// (base offset, last offset, payload).
pub fn write_frames(dir: &Path, tp: &TopicPartition, frames: &[(i64, i64, Vec<u8>)]) {
    use chronik_wal::frame::{FrameHeader, FrameMeta};
    let part = dir.join("partitions").join(tp.dir_name());
    std::fs::create_dir_all(&part).expect("partition dir");
    let mut bytes = Vec::new();
    for (base, last, payload) in frames {
        let meta = FrameMeta {
            base_offset: *base,
            last_offset: *last,
            max_timestamp: T0,
            leader_epoch: 0,
        };
        bytes.extend_from_slice(&FrameHeader::encode(&meta, payload));
        bytes.extend_from_slice(payload);
    }
    let name = chronik_wal::segment_file_name(frames.first().map_or(0, |f| f.0));
    std::fs::write(part.join(name), bytes).expect("write segment");
}
