//! The embedded metadata quorum of a broker data dir, opened while no broker runs on it: what
//! the operator's offline commands (`chronik-broker users ...`) read and change, so the first
//! SCRAM user can exist before the broker first starts with authentication on.

use std::path::Path;
use std::time::Duration;

use chronik_metadata::node::{NodeConfig, NodeError, stored_voters};
use chronik_metadata::{BrokerId, MetadataState, ScramAlteration};
use chronik_wal::{DirLock, PARTITIONS_DIR};

use crate::BrokerError;
use crate::cluster::MetadataQuorum;
use crate::cluster::embedded::EmbeddedQuorum;

/// The embedded metadata of one data dir, with the dir locked as a running broker locks it.
pub struct OfflineMetadata {
    quorum: EmbeddedQuorum,
    /// Keeps a broker from starting on the dir meanwhile (and fails the open while one runs).
    _lock: DirLock,
}

impl OfflineMetadata {
    /// Opens the embedded metadata of the broker data dir `data_dir`, creating both when
    /// they do not exist yet (then as broker `id`'s; an existing quorum keeps its own voter).
    /// Fails, naming the holder, while a broker runs on the dir.
    pub async fn open(data_dir: &Path, id: BrokerId) -> Result<OfflineMetadata, BrokerError> {
        let meta_dir = data_dir.join("meta");
        if data_dir.join(PARTITIONS_DIR).exists() && !meta_dir.exists() {
            return Err(BrokerError::Config(format!(
                "{} holds no embedded metadata (meta/): its broker runs on an external quorum; \
                 use `chronik-meta users ... --meta HOST:PORT,...` instead",
                data_dir.display()
            )));
        }
        let lock = DirLock::acquire(data_dir).map_err(|e| match e {
            chronik_wal::WalError::DirLocked { path, holder } => BrokerError::Config(format!(
                "{} is locked by a running broker ({holder}); stop it first, or change users \
                 while it runs with a Kafka admin client (AlterUserScramCredentials)",
                path.display()
            )),
            other => BrokerError::Wal(other),
        })?;
        let voter = match stored_voters(&meta_dir)?.as_slice() {
            [] => u64::try_from(id)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| BrokerError::Config(format!("broker id {id} must be positive")))?,
            [only] => *only,
            more => {
                return Err(BrokerError::Config(format!(
                    "{} holds a metadata quorum of {} voters, not a broker's embedded one",
                    meta_dir.display(),
                    more.len()
                )));
            }
        };
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let mut cfg = NodeConfig::new(voter, listen, meta_dir);
        // As the broker's own: no broker session runs out while the command works.
        cfg.session_timeout = Duration::from_secs(30);
        cfg.auto_balance = false;
        let quorum = EmbeddedQuorum::start_with(cfg).await?;
        Ok(OfflineMetadata {
            quorum,
            _lock: lock,
        })
    }

    /// Upserts and deletes SCRAM credentials, each on its own: each alteration's outcome, in
    /// order (see [`MetadataQuorum::alter_scram_credentials`]).
    pub async fn alter_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        self.quorum.alter_scram_credentials(alterations).await
    }

    /// Calls `f` on the metadata.
    pub fn with_metadata(&self, f: &mut dyn FnMut(&MetadataState)) {
        self.quorum.with_metadata(f)
    }

    /// Stops the metadata node; everything it committed is on disk.
    pub async fn close(self) {
        self.quorum.shutdown().await;
    }
}
