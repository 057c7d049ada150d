//! The metadata state machine: what the committed records say about brokers, topics and
//! partitions. Deterministic (ordered maps only) so every replica that applies the same records
//! holds the same state and writes the same snapshot bytes.

pub(crate) mod acls;
pub(crate) mod apply;
pub(crate) mod broker_configs;
pub(crate) mod quotas;
pub(crate) mod remote_log_start;
pub(crate) mod remote_segments;
pub(crate) mod scram;
pub(crate) mod validate;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod partition_tests;

#[cfg(test)]
mod quota_tests;

#[cfg(test)]
mod scram_tests;

#[cfg(test)]
mod endpoint_tests;

#[cfg(test)]
mod acl_tests;
#[cfg(test)]
mod remote_segment_tests;

use std::collections::BTreeMap;

use chronik_types::{LeaderEpoch, TopicPartition};

use crate::ids::{BrokerId, NO_LEADER, TopicId, Uuid};
use crate::quotas::{QuotaEntity, QuotaValue};
use crate::scram::ScramCredentials;
use chronik_auth::acl::AclBinding;
use chronik_auth::{ScramCredential, ScramMechanism};

/// The client quotas of every entity that has any: entity → quota key → value.
pub type ClientQuotas = BTreeMap<QuotaEntity, BTreeMap<String, QuotaValue>>;

/// Dynamic broker configs: broker (`None` for the cluster-wide defaults) → key → value.
pub type BrokerConfigs = BTreeMap<Option<BrokerId>, BTreeMap<String, String>>;

/// Topic config that allows electing a leader outside the ISR (possible data loss).
pub const UNCLEAN_LEADER_ELECTION_CONFIG: &str = "unclean.leader.election.enable";

/// The listener name a registration without endpoints stands for: brokers registered no
/// endpoints while they had exactly one listener, `--listen`, which is PLAINTEXT.
pub const DEFAULT_LISTENER: &str = "PLAINTEXT";

/// One listener of a broker: its name and the address its clients are told to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerEndpoint {
    pub name: String,
    pub host: String,
    pub port: u16,
}

/// A registered broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub id: BrokerId,
    /// Changes each time the broker process starts; tells a restart from a retried registration.
    pub incarnation: Uuid,
    /// The first listener's address: where other brokers (replica fetchers, transaction
    /// markers) reach this one.
    pub host: String,
    pub port: u16,
    /// Every listener, in the broker's order, names unique; never empty (a registration
    /// without endpoints holds one [`DEFAULT_LISTENER`] at `host:port`). Clients are named
    /// each broker by the endpoint of the listener they connected to.
    pub endpoints: Vec<BrokerEndpoint>,
    pub rack: Option<String>,
    /// A fenced broker may not lead partitions (it missed its session or is still catching up).
    pub fenced: bool,
    /// An operator is retiring it: its replicas move away, nothing new is placed on it, and
    /// once it holds no replica it is fenced for good.
    pub decommissioning: bool,
}

impl Broker {
    /// Whether the broker is unfenced, i.e. eligible for leadership.
    pub fn is_live(&self) -> bool {
        !self.fenced
    }

    /// Whether new replicas may be placed on it: live and not being decommissioned.
    pub fn is_placeable(&self) -> bool {
        self.is_live() && !self.decommissioning
    }

    /// Its endpoint on the listener named `listener`, if it has one.
    pub fn endpoint(&self, listener: &str) -> Option<&BrokerEndpoint> {
        self.endpoints.iter().find(|e| e.name == listener)
    }
}

/// Replicas, leadership and epochs of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// All replicas; the first is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// The leader, or [`NO_LEADER`] while the partition is offline.
    pub leader: BrokerId,
    /// In-sync replicas; never empty, and contains the leader when there is one.
    pub isr: Vec<BrokerId>,
    /// Bumped on every leader change; fences requests of deposed leaders.
    pub leader_epoch: LeaderEpoch,
    /// Bumped on every change; makes ISR updates compare-and-set.
    pub partition_epoch: i32,
    /// While a reassignment runs, the replicas it started from, in their order (a cancel
    /// goes back to them); empty otherwise.
    pub moving_from: Vec<BrokerId>,
    /// While a reassignment runs, the replicas it ends with, the preferred leader first;
    /// `replicas` is then these followed by the others of `moving_from`. Empty otherwise.
    pub moving_to: Vec<BrokerId>,
    /// The log start offset over both tiers that DeleteRecords set on a partition with remote
    /// copies (0 when none did): nothing below it is served, in either tier.
    pub remote_log_start: i64,
}

impl PartitionState {
    /// No leader: clients can neither produce to nor consume from it.
    pub fn is_offline(&self) -> bool {
        self.leader == NO_LEADER
    }

    /// Fewer in-sync replicas than replicas.
    pub fn is_under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    /// A reassignment is moving its replicas.
    pub fn is_reassigning(&self) -> bool {
        !self.moving_to.is_empty()
    }

    /// The replicas before the running reassignment (the replicas when none runs).
    pub fn original_replicas(&self) -> &[BrokerId] {
        match self.is_reassigning() {
            true => &self.moving_from,
            false => &self.replicas,
        }
    }

    /// The replicas the running reassignment ends with (the replicas when none runs).
    pub fn target_replicas(&self) -> &[BrokerId] {
        match self.is_reassigning() {
            true => &self.moving_to,
            false => &self.replicas,
        }
    }

    /// Replicas the running reassignment adds (Kafka's adding replicas).
    pub fn adding_replicas(&self) -> Vec<BrokerId> {
        let from = self.original_replicas();
        (self.target_replicas().iter().copied())
            .filter(|id| !from.contains(id))
            .collect()
    }

    /// Replicas the running reassignment drops once its target is in sync (Kafka's removing
    /// replicas).
    pub fn removing_replicas(&self) -> Vec<BrokerId> {
        let to = self.target_replicas();
        (self.original_replicas().iter().copied())
            .filter(|id| !to.contains(id))
            .collect()
    }
}

/// The replicas of a partition while it moves from `from` to `to`: the target first (its first
/// is the preferred leader), then the replicas it drops.
pub fn merged_replicas(to: &[BrokerId], from: &[BrokerId]) -> Vec<BrokerId> {
    let mut replicas = to.to_vec();
    replicas.extend(from.iter().filter(|id| !to.contains(id)));
    replicas
}

/// A topic and its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub id: TopicId,
    pub configs: BTreeMap<String, String>,
    /// Partition `i` is entry `i`.
    pub partitions: Vec<PartitionState>,
}

impl Topic {
    /// One partition, if the index is in range.
    pub fn partition(&self, index: i32) -> Option<&PartitionState> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.partitions.get(i))
    }
}

/// One partition seen together with its topic, as the queries return it.
#[derive(Debug, Clone, Copy)]
pub struct PartitionView<'a> {
    pub topic: &'a Topic,
    pub index: i32,
    pub state: &'a PartitionState,
}

impl PartitionView<'_> {
    /// The partition's name as the data plane knows it.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.name.clone(), self.index)
    }
}

/// The whole cluster metadata. Changed only by [`MetadataState::apply`] (or restored from a
/// snapshot), so its invariants are those the record validation enforces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataState {
    pub(crate) cluster_id: Option<String>,
    pub(crate) brokers: BTreeMap<BrokerId, Broker>,
    pub(crate) topics: BTreeMap<TopicId, Topic>,
    pub(crate) topic_ids: BTreeMap<String, TopicId>,
    pub(crate) next_producer_id: i64,
    /// Never holds an entity without quotas.
    pub(crate) client_quotas: ClientQuotas,
    /// The dynamic configs of each broker (`None`: the cluster-wide defaults); never an empty
    /// map, and a broker's only while it is registered.
    pub(crate) broker_configs: BrokerConfigs,
    /// The SCRAM credentials of every user that has any.
    pub(crate) scram_credentials: ScramCredentials,
    /// Every ACL, once each, sorted (`AclBinding`'s order): a slice authorization reads
    /// without allocating, and a snapshot order that depends only on the set.
    pub(crate) acls: Vec<AclBinding>,
    /// Every remote segment copy, including those of deleted topics until they are deleted.
    pub(crate) remote_segments: remote_segments::RemoteSegments,
}

impl MetadataState {
    /// An empty cluster: no id, no brokers, no topics.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// The first producer id not yet handed to any broker.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    pub fn broker(&self, id: BrokerId) -> Option<&Broker> {
        self.brokers.get(&id)
    }

    /// All registered brokers, by id.
    pub fn brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers.values()
    }

    /// Unfenced brokers, by id.
    pub fn live_brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers.values().filter(|b| b.is_live())
    }

    /// The brokers new replicas may go to: live and not being decommissioned.
    pub fn placeable_brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers.values().filter(|b| b.is_placeable())
    }

    /// Whether `id` is registered and unfenced.
    pub fn is_live(&self, id: BrokerId) -> bool {
        self.brokers.get(&id).is_some_and(Broker::is_live)
    }

    pub fn topic(&self, id: &TopicId) -> Option<&Topic> {
        self.topics.get(id)
    }

    /// A partition of a topic that exists, or why not.
    pub(crate) fn topic_partition(
        &self,
        topic_id: TopicId,
        partition: i32,
    ) -> crate::Result<(&Topic, &PartitionState)> {
        let topic =
            (self.topics.get(&topic_id)).ok_or(crate::StateError::UnknownTopicId(topic_id))?;
        let found =
            topic
                .partition(partition)
                .ok_or_else(|| crate::StateError::UnknownPartition {
                    topic: topic.name.clone(),
                    partition,
                })?;
        Ok((topic, found))
    }

    pub fn topic_by_name(&self, name: &str) -> Option<&Topic> {
        self.topic_ids.get(name).and_then(|id| self.topics.get(id))
    }

    /// All topics, by topic id.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.values()
    }

    /// How many partitions the cluster has over all topics.
    pub fn total_partitions(&self) -> usize {
        self.topics.values().map(|t| t.partitions.len()).sum()
    }

    /// Every partition, topics by id and partitions by index.
    pub fn partitions(&self) -> impl Iterator<Item = PartitionView<'_>> {
        self.topics.values().flat_map(|topic| {
            topic
                .partitions
                .iter()
                .zip(0i32..)
                .map(move |(state, index)| PartitionView {
                    topic,
                    index,
                    state,
                })
        })
    }

    /// Partitions whose leader is `broker`.
    pub fn partitions_led_by(&self, broker: BrokerId) -> impl Iterator<Item = PartitionView<'_>> {
        self.partitions().filter(move |p| p.state.leader == broker)
    }

    /// Partitions with fewer in-sync replicas than replicas.
    pub fn under_replicated_partitions(&self) -> impl Iterator<Item = PartitionView<'_>> {
        self.partitions().filter(|p| p.state.is_under_replicated())
    }

    /// Partitions with no leader.
    pub fn offline_partitions(&self) -> impl Iterator<Item = PartitionView<'_>> {
        self.partitions().filter(|p| p.state.is_offline())
    }

    /// The client quotas of every entity that has any, by entity.
    pub fn client_quotas(&self) -> &ClientQuotas {
        &self.client_quotas
    }

    /// Whether `topic` allows electing a leader from outside the ISR: its own config, else the
    /// cluster-wide broker config of the same name (as KRaft's controller decides).
    pub fn unclean_election_allowed(&self, topic: &Topic) -> bool {
        (topic.configs.get(UNCLEAN_LEADER_ELECTION_CONFIG))
            .or_else(|| {
                self.broker_configs(None)
                    .get(UNCLEAN_LEADER_ELECTION_CONFIG)
            })
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The dynamic configs of `broker`, or with `None` the cluster-wide broker defaults.
    pub fn broker_configs(&self, broker: Option<BrokerId>) -> &BTreeMap<String, String> {
        static NONE_SET: BTreeMap<String, String> = BTreeMap::new();
        self.broker_configs.get(&broker).unwrap_or(&NONE_SET)
    }

    /// The quotas set for exactly `entity`, if any.
    pub fn client_quota(&self, entity: &QuotaEntity) -> Option<&BTreeMap<String, QuotaValue>> {
        self.client_quotas.get(entity)
    }

    /// The SCRAM credential of `user` for `mechanism`, if it has one.
    pub fn scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Option<&ScramCredential> {
        self.scram_credentials.get(user, mechanism)
    }

    /// Every user's SCRAM credentials.
    pub fn scram_credentials(&self) -> &ScramCredentials {
        &self.scram_credentials
    }

    /// Every ACL, sorted, each once. Cheap: brokers authorize every request against it.
    pub fn acls(&self) -> &[AclBinding] {
        &self.acls
    }
}
