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
}

impl RemoteArgs {
    pub fn apply(&self, config: &mut BrokerConfig) -> anyhow::Result<()> {
        if self.remote_log_manager_task_interval_ms == 0 {
            bail!("--remote-log-manager-task-interval-ms must be at least 1");
        }
        let Some(url) = &self.remote_storage else {
            return Ok(());
        };
        let location = RemoteLocation::parse(url).context("--remote-storage")?;
        config.remote_storage = Some(RemoteTierConfig {
            location,
            options: RemoteOptions::default(),
            interval: Duration::from_millis(self.remote_log_manager_task_interval_ms),
        });
        Ok(())
    }
}
