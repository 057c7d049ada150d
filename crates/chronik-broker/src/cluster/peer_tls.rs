//! TLS for a broker's own connections to the rest of its cluster (`--cluster-tls`): gRPC to
//! the meta quorum, and Kafka connections to other brokers (replica fetches, transaction
//! markers). Both present this broker's certificate, so the broker it fetches from sees the
//! principal `User:<CN>`, and both trust only the cluster's CA.

use std::sync::Arc;

use chronik_auth::tls::ReloadableClientConfig;
use chronik_metadata::grpc::ClusterTls;

use crate::{BrokerConfig, BrokerError};

/// The loaded client sides of `--cluster-tls`, reloaded together on SIGHUP.
#[derive(Clone)]
pub(crate) struct PeerTls {
    /// For gRPC to the meta nodes (and the embedded node's server).
    pub grpc: ClusterTls,
    /// For Kafka connections to other brokers.
    pub kafka: Arc<ReloadableClientConfig>,
}

impl PeerTls {
    /// Reads the files again for connections made from now on; when they are not a valid set,
    /// nothing changes.
    pub fn reload(&self) -> Result<(), chronik_auth::AuthError> {
        let grpc = self.grpc.read_again()?;
        let kafka = self.kafka.build()?;
        self.grpc.install(grpc);
        self.kafka.install(kafka);
        Ok(())
    }
}

/// The TLS settings `config` asks for, loaded; `None` without `--cluster-tls`.
pub(crate) fn load(config: &BrokerConfig) -> Result<Option<PeerTls>, BrokerError> {
    if !config.cluster_tls {
        return Ok(None);
    }
    let files = config.tls.as_ref().ok_or_else(|| {
        BrokerError::Config(
            "--cluster-tls needs --tls-cert, --tls-key and --tls-client-ca (the CA that signs \
             every node's certificate)"
                .into(),
        )
    })?;
    let ca = files.client_ca.as_deref().ok_or_else(|| {
        BrokerError::Config(
            "--cluster-tls needs --tls-client-ca: the CA that signs every node's certificate"
                .into(),
        )
    })?;
    let refused = |e: chronik_auth::AuthError| BrokerError::Config(format!("--cluster-tls: {e}"));
    let grpc = ClusterTls::load(&files.cert, &files.key, ca).map_err(refused)?;
    let kafka = ReloadableClientConfig::client(files.clone()).map_err(refused)?;
    Ok(Some(PeerTls {
        grpc,
        kafka: Arc::new(kafka),
    }))
}
