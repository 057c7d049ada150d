//! Why a broker could not start or stop.

/// Errors of [`crate::Broker`]; request-level problems become Kafka error codes instead.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot open the data dir: {0}")]
    Wal(#[from] chronik_wal::WalError),
    #[error("metadata node: {0}")]
    Meta(#[from] chronik_metadata::node::NodeError),
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid broker configuration: {0}")]
    Config(String),
    #[error(transparent)]
    RemoteStorage(#[from] chronik_tiered::TieredError),
    #[error("the metadata node elected no leader within {0:?}; check the meta data dir and logs")]
    NoMetaLeader(std::time::Duration),
}

impl BrokerError {
    pub(crate) fn io(op: impl Into<String>, source: std::io::Error) -> Self {
        BrokerError::Io {
            op: op.into(),
            source,
        }
    }
}
