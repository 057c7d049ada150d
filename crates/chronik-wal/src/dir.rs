//! A data dir: its lock, its flusher, and the partition logs under `partitions/`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chronik_types::{FsyncPolicy, TopicPartition};

use crate::config::LogConfig;
use crate::error::IoContext;
use crate::flusher::{FlushStatsSnapshot, Flusher};
use crate::log::PartitionLog;
use crate::recovery::{RecoveryOptions, RecoveryReport};
use crate::syncer::{FdataSync, Syncer};
use crate::{Result, WalError};

pub const LOCK_FILE: &str = "chronik.lock";
pub const PARTITIONS_DIR: &str = "partitions";

/// How a data dir is opened.
#[derive(Clone)]
pub struct WalOptions {
    pub fsync: FsyncPolicy,
    /// How files are fsynced; replaced in tests to gate or fail fsyncs.
    pub syncer: Arc<dyn Syncer>,
}

impl WalOptions {
    pub fn new(fsync: FsyncPolicy) -> Self {
        Self {
            fsync,
            syncer: Arc::new(FdataSync),
        }
    }
}

/// An exclusive `flock` on `DIR/chronik.lock`, held for as long as this lives. The file holds the
/// holder's pid so that a refusal can name it.
pub struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).at(dir)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "unknown pid".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(WalError::DirLocked {
                    path: dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e).at(&path),
        }
        file.set_len(0).at(&path)?;
        file.rewind().at(&path)?;
        write!(file, "{}", std::process::id()).at(&path)?;
        Ok(Self { _file: file })
    }
}

/// An open data dir. Partition logs opened through it share its flusher.
pub struct DataDir {
    root: PathBuf,
    flusher: Arc<Flusher>,
    logs: Mutex<HashMap<TopicPartition, Arc<PartitionLog>>>,
    /// Logs that are not Kafka partitions (the metadata quorum's Raft log), by directory name.
    internal: Mutex<HashMap<String, Arc<PartitionLog>>>,
    _lock: DirLock,
}

impl Drop for DataDir {
    /// Waits for its logs' background seals, so nothing more is written into the directory
    /// (epoch checkpoints, index files) once it is unlocked and may be opened again.
    fn drop(&mut self) {
        let mut logs = held_logs(&self.logs);
        logs.extend(held_logs(&self.internal));
        for log in logs {
            log.join_seals();
        }
    }
}

fn held_logs<K>(logs: &Mutex<HashMap<K, Arc<PartitionLog>>>) -> Vec<Arc<PartitionLog>> {
    let map = logs.lock().unwrap_or_else(|p| p.into_inner());
    map.values().cloned().collect()
}

/// Space on the filesystem holding a data dir, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// What an unprivileged writer may still use (`df`'s "Avail").
    pub available: u64,
    pub total: u64,
}

impl DataDir {
    /// Locks `root` (creating it if needed) and starts its flusher.
    pub fn open(root: &Path, options: WalOptions) -> Result<Self> {
        let lock = DirLock::acquire(root)?;
        let partitions = root.join(PARTITIONS_DIR);
        std::fs::create_dir_all(&partitions).at(&partitions)?;
        Ok(Self {
            root: root.to_path_buf(),
            flusher: Arc::new(Flusher::start(options.fsync, options.syncer)?),
            logs: Mutex::new(HashMap::new()),
            internal: Mutex::new(HashMap::new()),
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Free and total bytes of the filesystem holding the data dir, for the disk-full alert.
    pub fn space(&self) -> Result<DiskSpace> {
        let stat = rustix::fs::statvfs(&self.root)
            .map_err(std::io::Error::from)
            .at(&self.root)?;
        Ok(DiskSpace {
            available: stat.f_bavail.saturating_mul(stat.f_frsize),
            total: stat.f_blocks.saturating_mul(stat.f_frsize),
        })
    }

    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.flusher.policy()
    }

    pub fn flush_stats(&self) -> FlushStatsSnapshot {
        self.flusher.stats()
    }

    pub fn partition_dir(&self, tp: &TopicPartition) -> PathBuf {
        self.root.join(PARTITIONS_DIR).join(tp.dir_name())
    }

    /// The partitions that have a directory on disk.
    pub fn list_partitions(&self) -> Result<Vec<TopicPartition>> {
        list_partitions(&self.root)
    }

    /// Opens (recovering) or creates a partition's log. Opening one that is already open returns
    /// the same log and no report.
    pub fn open_partition(
        &self,
        tp: &TopicPartition,
        config: LogConfig,
    ) -> Result<(Arc<PartitionLog>, Option<RecoveryReport>)> {
        self.open_partition_with(tp, config, RecoveryOptions::default())
    }

    /// Like [`DataDir::open_partition`] with explicit recovery thoroughness.
    pub fn open_partition_with(
        &self,
        tp: &TopicPartition,
        config: LogConfig,
        recovery: RecoveryOptions,
    ) -> Result<(Arc<PartitionLog>, Option<RecoveryReport>)> {
        chronik_types::validate_topic_name(&tp.topic)
            .map_err(|e| WalError::Config(e.to_string()))?;
        if tp.partition < 0 {
            return Err(WalError::Config(format!(
                "partition {} is negative",
                tp.partition
            )));
        }
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = logs.get(tp) {
            return Ok((log.clone(), None));
        }
        let (log, report) = PartitionLog::open(
            &self.partition_dir(tp),
            &tp.dir_name(),
            config,
            self.flusher.clone(),
            recovery,
        )?;
        if let Some(cut) = &report.cut {
            tracing::warn!(log = %tp, position = cut.position, reason = %cut.reason, bytes = cut.bytes,
                frames = cut.frames, "recovery cut a torn or corrupt log tail");
        }
        let log = Arc::new(log);
        logs.insert(tp.clone(), log.clone());
        Ok((log, Some(report)))
    }

    /// Opens (recovering) or creates a log that holds opaque payloads rather than Kafka batches,
    /// in `DIR/<name>` (one path component of `[a-z0-9._-]`, not `partitions`). Its appends are
    /// not fsynced by the flusher: the owner calls [`PartitionLog::flush`] when it needs them
    /// durable, whatever the dir's fsync policy.
    pub fn open_internal_log(
        &self,
        name: &str,
        config: LogConfig,
    ) -> Result<(Arc<PartitionLog>, Option<RecoveryReport>)> {
        let valid = !name.is_empty()
            && name != PARTITIONS_DIR
            && !name.starts_with('.')
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !valid {
            return Err(WalError::Config(format!(
                "invalid internal log name '{name}'"
            )));
        }
        let mut logs = self.internal.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = logs.get(name) {
            return Ok((log.clone(), None));
        }
        let (mut log, report) = PartitionLog::open(
            &self.root.join(name),
            name,
            config,
            self.flusher.clone(),
            RecoveryOptions {
                opaque_payloads: true,
                ..RecoveryOptions::default()
            },
        )?;
        log.explicit_sync = true;
        let log = Arc::new(log);
        logs.insert(name.to_string(), log.clone());
        Ok((log, Some(report)))
    }

    /// Closes a partition's log and removes its directory.
    pub fn delete_partition(&self, tp: &TopicPartition) -> Result<()> {
        let log = self
            .logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tp);
        if let Some(log) = log {
            log.close()?;
        }
        let dir = self.partition_dir(tp);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(&dir),
            _ => Ok(()),
        }
    }

    /// Closes every open log cleanly (fsync and index files) so the next open scans nothing.
    pub fn close(self) -> Result<()> {
        let logs: Vec<_> = self
            .logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        let mut first_error = None;
        for (_, log) in logs {
            if let Err(e) = log.close() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Lists the partition directories under `root/partitions`, ignoring anything else.
pub fn list_partitions(root: &Path) -> Result<Vec<TopicPartition>> {
    let dir = root.join(PARTITIONS_DIR);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).at(&dir)? {
        let entry = entry.at(&dir)?;
        if entry.file_type().at(entry.path())?.is_dir()
            && let Some(tp) = TopicPartition::from_dir_name(&entry.file_name().to_string_lossy())
        {
            out.push(tp);
        }
    }
    out.sort();
    Ok(out)
}
