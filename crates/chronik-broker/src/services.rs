//! What the protocol handlers work with: the metadata, the partition layer, the group
//! coordinator and the producer id pool. Nothing here knows the Kafka protocol.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::BrokerConfig;
use crate::cluster::Cluster;
use crate::fetch_sessions::FetchSessions;
use crate::partition::PartitionLayer;
use crate::producer_ids::ProducerIdPool;
use crate::topic_config::{Defaults, TopicSettings};
use chronik_metadata::MetadataState;

/// The broker's services, as every connection and handler sees them. Each field owns one
/// concern; handlers translate the protocol to calls on them.
pub(crate) struct Services {
    /// The limits and defaults requests are held to.
    pub config: BrokerConfig,
    /// The metadata: topics, brokers, and the calls that change them.
    pub cluster: Arc<Cluster>,
    /// Producer ids handed to idempotent and transactional producers by InitProducerId.
    pub producer_ids: Arc<ProducerIdPool>,
    /// Consumer groups and committed offsets this broker coordinates.
    pub groups: Arc<crate::groups::Coordinator>,
    /// Appends, reads and replication progress of the partitions this broker hosts.
    pub layer: Arc<PartitionLayer>,
    /// Transactions whose `__transaction_state` partition this broker leads.
    pub txns: Arc<crate::transactions::TxnCoordinator>,
    /// The incremental fetch sessions (KIP-227) of consumers and followers; held only to
    /// resolve a request's session and to record its answer, never across a read.
    pub fetch_sessions: Mutex<FetchSessions>,
    /// The client quotas configured in the metadata and the usage measured against them.
    pub quotas: Arc<crate::quotas::Quotas>,
    /// Reads of the remote tier (`--remote-storage`): consumers' fetches of offsets only it
    /// holds, and timestamp lookups there.
    pub remote_reader: Option<Arc<chronik_tiered::RemoteReader>>,
}

impl Services {
    /// Runs `f` on this broker's topic defaults (flags under the dynamic broker configs) and
    /// the metadata they were read from.
    pub fn with_topic_defaults<R>(&self, f: impl FnOnce(&Defaults, &MetadataState) -> R) -> R {
        let flags = TopicSettings::defaults(&self.config);
        (self.cluster).metadata(|s| f(&Defaults::new(flags, s, self.cluster.me), s))
    }

    /// The topic defaults this broker applies now.
    pub fn topic_defaults(&self) -> TopicSettings {
        self.with_topic_defaults(|defaults, _| defaults.settings())
    }

    /// The SCRAM credential of `user` for `mechanism` in this broker's metadata, if it has
    /// one: what SASL/SCRAM authenticates against.
    pub(crate) fn scram_credential(
        &self,
        user: &str,
        mechanism: chronik_auth::ScramMechanism,
    ) -> Option<chronik_auth::ScramCredential> {
        (self.cluster).metadata(|s| s.scram_credential(user, mechanism).cloned())
    }

    pub fn fetch_sessions(&self) -> MutexGuard<'_, FetchSessions> {
        self.fetch_sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Creates `name` with the default partition count when auto-creation is on and it does
    /// not exist; failures are left for the caller's lookup to report. The internal topics
    /// are never auto-created: only their coordinators create them, with their own partition
    /// count and retention.
    pub async fn ensure_topic(&self, name: &str) {
        if !self.config.auto_create_topics
            || is_internal_topic(name)
            || chronik_types::validate_topic_name(name).is_err()
            || self.cluster.metadata(|s| s.topic_by_name(name).is_some())
        {
            return;
        }
        let created = (self.cluster)
            .create_topic(
                name,
                self.config.num_partitions,
                self.config.default_replication_factor,
                Default::default(),
                Vec::new(),
            )
            .await;
        if let Err(e) = created {
            tracing::debug!(topic = name, error = %e, "auto-creation failed");
        }
        self.layer.reconcile().await;
    }
}

/// Whether `name` is one of the internal topics only the coordinators write to and only the
/// broker creates, configures and keeps.
pub(crate) fn is_internal_topic(name: &str) -> bool {
    name == crate::groups::OFFSETS_TOPIC || name == crate::transactions::TXN_TOPIC
}
