//! Remote tier flags: where sealed segments of topics with `remote.storage.enable=true` are
//! copied, and how often.

use std::time::Duration;

use anyhow::{Context, bail};
use chronik_broker::{BrokerConfig, RemoteTierConfig};
use chronik_tiered::{RemoteLocation, RemoteOptions};
use clap::Args;

#[derive(Args, Debug, Default)]
pub struct RemoteArgs {
    /// Object store that topics with remote.storage.enable=true copy their sealed segments
    /// to: s3://BUCKET[/PREFIX] (endpoint, region and credentials from AWS_ENDPOINT_URL,
    /// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or file:///PATH. Checked at start
    /// with a probe object.
    #[arg(long, env = "CHRONIK_REMOTE_STORAGE", value_name = "URL")]
    pub remote_storage: Option<String>,
    /// How often partition leaders copy and delete remote segments, in milliseconds (Kafka's
    /// remote.log.manager.task.interval.ms).
    #[arg(
        long,
        env = "CHRONIK_REMOTE_LOG_MANAGER_TASK_INTERVAL_MS",
        default_value_t = 30_000
    )]
    pub remote_log_manager_task_interval_ms: u64,
    /// How long one request to the object store may take, in milliseconds; a failed request
    /// is retried for up to twice as long before the step fails (and is redone next pass).
    #[arg(
        long,
        env = "CHRONIK_REMOTE_STORAGE_REQUEST_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub remote_storage_request_timeout_ms: u64,
    /// Bytes of remote segment indexes kept in memory for reads from the remote tier (Kafka's
    /// remote.log.index.file.cache.total.size.bytes); the least recently used go first.
    #[arg(
        long,
        env = "CHRONIK_REMOTE_LOG_INDEX_CACHE_BYTES",
        default_value_t = 64 * 1024 * 1024
    )]
    pub remote_log_index_cache_bytes: u64,
    /// Reads from the remote tier under way at once; more wait, reads of local data never do
    /// (Kafka's remote.log.reader.threads).
    #[arg(long, env = "CHRONIK_REMOTE_LOG_READERS", default_value_t = 10)]
    pub remote_log_readers: usize,
}

impl RemoteArgs {
    pub fn apply(&self, config: &mut BrokerConfig) -> anyhow::Result<()> {
        if self.remote_log_manager_task_interval_ms == 0 {
            bail!("--remote-log-manager-task-interval-ms must be at least 1");
        }
        if self.remote_storage_request_timeout_ms == 0 {
            bail!("--remote-storage-request-timeout-ms must be at least 1");
        }
        if self.remote_log_readers == 0 {
            bail!("--remote-log-readers must be at least 1");
        }
        let Some(url) = &self.remote_storage else {
            return Ok(());
        };
        let location = RemoteLocation::parse(url).context("--remote-storage")?;
        config.remote_storage = Some(RemoteTierConfig {
            location,
            options: RemoteOptions {
                request_timeout: Duration::from_millis(self.remote_storage_request_timeout_ms),
                retry_timeout: Duration::from_millis(2 * self.remote_storage_request_timeout_ms),
                ..RemoteOptions::default()
            },
            interval: Duration::from_millis(self.remote_log_manager_task_interval_ms),
            index_cache_bytes: self.remote_log_index_cache_bytes,
            readers: self.remote_log_readers,
        });
        Ok(())
    }
}
