//! Applying records. Each handler checks everything first and writes only once the record is
//! known to be valid, so a rejected record leaves the state exactly as it was.

use std::collections::BTreeMap;

use crate::Result;
use crate::configs::ConfigResource;
use crate::error::StateError;
use crate::ids::{BrokerId, MAX_CONFIG_ENTRIES, MAX_PRODUCER_ID_BLOCK, TopicId, Uuid};
use crate::proto::metadata_record::Record;
use crate::proto::{
    AllocateProducerIds, ConfigChange, CreatePartitions, CreateTopic, MetadataRecord,
    PartitionAssignment, PartitionChange, RegisterBroker, SetClusterId,
};
use crate::state::validate::{
    BrokerFields, build_broker, check_config_key, check_configs, check_name, check_partition,
    check_partition_count,
};
use crate::state::{Broker, MetadataState, PartitionState, Topic};

impl MetadataState {
    /// Applies one committed record. On error nothing changed.
    pub fn apply(&mut self, record: &MetadataRecord) -> Result<()> {
        match record.payload()? {
            Record::RegisterBroker(r) => self.register_broker(r),
            Record::FenceBroker(r) => self.set_fenced(r.broker_id, true),
            Record::UnfenceBroker(r) => self.set_fenced(r.broker_id, false),
            Record::CreateTopic(r) => self.create_topic(r),
            Record::DeleteTopic(r) => self.delete_topic(&r.topic_id),
            Record::CreatePartitions(r) => self.create_partitions(r),
            Record::PartitionChange(r) => self.change_partition(r),
            Record::ConfigChange(r) => self.change_config(r),
            Record::AllocateProducerIds(r) => self.allocate_producer_ids(r),
            Record::SetClusterId(r) => self.set_cluster_id(r),
            Record::DecommissionBroker(r) => self.set_decommissioning(r.broker_id, !r.cancel),
            Record::ClientQuotaChange(r) => self.change_client_quota(r),
            Record::BrokerConfigChange(r) => self.change_broker_config(r),
            Record::ScramCredentialUpsert(r) => self.upsert_scram_credential(r),
            Record::ScramCredentialDeletion(r) => self.delete_scram_credential(r),
            Record::CreateAcl(r) => self.create_acl(r),
            Record::DeleteAcl(r) => self.delete_acl(r),
            Record::RemoteSegmentChange(r) => self.change_remote_segment(r),
            Record::RemoteLogStartChange(r) => self.move_remote_log_start(r),
        }
    }

    /// A registration replaces any earlier incarnation and starts fenced; a decommissioning
    /// broker stays decommissioning.
    fn register_broker(&mut self, r: &RegisterBroker) -> Result<()> {
        let mut broker = build_broker(BrokerFields {
            id: r.broker_id,
            incarnation: &r.incarnation_id,
            host: &r.host,
            port: r.port,
            rack: r.rack.as_deref(),
            fenced: true,
            endpoints: &r.endpoints,
        })?;
        broker.decommissioning = self
            .brokers
            .get(&broker.id)
            .is_some_and(|b| b.decommissioning);
        self.brokers.insert(broker.id, broker);
        Ok(())
    }

    fn set_decommissioning(&mut self, id: BrokerId, on: bool) -> Result<()> {
        let broker = (self.brokers.get_mut(&id)).ok_or(StateError::UnknownBroker(id))?;
        if broker.decommissioning == on {
            return Err(StateError::InvalidBroker {
                broker: id,
                reason: format!("decommissioning is already {on}"),
            });
        }
        broker.decommissioning = on;
        Ok(())
    }

    fn set_fenced(&mut self, id: BrokerId, fenced: bool) -> Result<()> {
        let broker = self
            .brokers
            .get_mut(&id)
            .ok_or(StateError::UnknownBroker(id))?;
        match (broker.fenced, fenced) {
            (true, true) => Err(StateError::BrokerAlreadyFenced(id)),
            (false, false) => Err(StateError::BrokerNotFenced(id)),
            _ => {
                broker.fenced = fenced;
                Ok(())
            }
        }
    }

    fn create_topic(&mut self, r: &CreateTopic) -> Result<()> {
        chronik_types::validate_topic_name(&r.name)?;
        let id = Uuid::from_field("topic_id", &r.topic_id)?;
        if self.topic_ids.contains_key(&r.name) {
            return Err(StateError::DuplicateTopicName(r.name.clone()));
        }
        if self.topics.contains_key(&id) {
            return Err(StateError::DuplicateTopicId(id));
        }
        if r.partitions.is_empty() {
            return Err(StateError::InvalidPartition {
                topic: r.name.clone(),
                partition: 0,
                reason: "a topic needs at least one partition".to_string(),
            });
        }
        check_configs(&ConfigResource::Topic(r.name.clone()), &r.configs)?;
        let partitions = build_partitions(&self.brokers, &r.name, 0, &r.partitions)?;
        let topic = Topic {
            name: r.name.clone(),
            id,
            configs: r.configs.clone(),
            partitions,
        };
        self.topic_ids.insert(topic.name.clone(), id);
        self.topics.insert(id, topic);
        Ok(())
    }

    fn delete_topic(&mut self, topic_id: &[u8]) -> Result<()> {
        let id = Uuid::from_field("topic_id", topic_id)?;
        let topic = self
            .topics
            .remove(&id)
            .ok_or(StateError::UnknownTopicId(id))?;
        self.topic_ids.remove(&topic.name);
        Ok(())
    }

    fn create_partitions(&mut self, r: &CreatePartitions) -> Result<()> {
        let id = Uuid::from_field("topic_id", &r.topic_id)?;
        let topic = self
            .topics
            .get_mut(&id)
            .ok_or(StateError::UnknownTopicId(id))?;
        let first = topic.partitions.len();
        if r.partitions.is_empty() {
            return Err(StateError::InvalidPartition {
                topic: topic.name.clone(),
                partition: index_i32(first),
                reason: "the record adds no partitions".to_string(),
            });
        }
        check_partition_count(first.saturating_add(r.partitions.len()))?;
        let added = build_partitions(&self.brokers, &topic.name, first, &r.partitions)?;
        topic.partitions.extend(added);
        Ok(())
    }

    fn change_partition(&mut self, r: &PartitionChange) -> Result<()> {
        let id = Uuid::from_field("topic_id", &r.topic_id)?;
        let topic = self
            .topics
            .get_mut(&id)
            .ok_or(StateError::UnknownTopicId(id))?;
        let unknown = || StateError::UnknownPartition {
            topic: topic.name.clone(),
            partition: r.partition_index,
        };
        let slot = usize::try_from(r.partition_index).map_err(|_| unknown())?;
        let current = topic.partitions.get(slot).ok_or_else(unknown)?;
        let next = changed_partition(&self.brokers, &topic.name, r, current)?;
        if let Some(entry) = topic.partitions.get_mut(slot) {
            *entry = next;
        }
        Ok(())
    }

    fn change_config(&mut self, r: &ConfigChange) -> Result<()> {
        let id = Uuid::from_field("topic_id", &r.topic_id)?;
        let topic = self
            .topics
            .get_mut(&id)
            .ok_or(StateError::UnknownTopicId(id))?;
        let resource = ConfigResource::Topic(topic.name.clone());
        let next = changed_configs(&resource, &topic.configs, &r.set, &r.delete)?;
        topic.configs = next;
        Ok(())
    }

    fn allocate_producer_ids(&mut self, r: &AllocateProducerIds) -> Result<()> {
        if !self.brokers.contains_key(&r.broker_id) {
            return Err(StateError::UnknownBroker(r.broker_id));
        }
        if r.first_id != self.next_producer_id {
            return Err(StateError::ProducerIdMismatch {
                expected: self.next_producer_id,
                actual: r.first_id,
            });
        }
        let next = (1..=MAX_PRODUCER_ID_BLOCK)
            .contains(&r.count)
            .then(|| r.first_id.checked_add(i64::from(r.count)))
            .flatten()
            .ok_or(StateError::InvalidProducerIdBlock(r.count))?;
        self.next_producer_id = next;
        Ok(())
    }

    fn set_cluster_id(&mut self, r: &SetClusterId) -> Result<()> {
        if let Some(current) = &self.cluster_id {
            return Err(StateError::ClusterIdAlreadySet(current.clone()));
        }
        check_name("cluster id", &r.cluster_id).map_err(StateError::InvalidClusterId)?;
        self.cluster_id = Some(r.cluster_id.clone());
        Ok(())
    }
}

/// Builds new partitions numbered from `first`, checking each assignment.
fn build_partitions(
    brokers: &BTreeMap<BrokerId, Broker>,
    topic: &str,
    first: usize,
    assignments: &[PartitionAssignment],
) -> Result<Vec<PartitionState>> {
    check_partition_count(first.saturating_add(assignments.len()))?;
    let mut built = Vec::with_capacity(assignments.len());
    for (offset, a) in assignments.iter().enumerate() {
        let index = index_i32(first + offset);
        if a.partition_index != index {
            return Err(StateError::InvalidPartition {
                topic: topic.to_string(),
                partition: a.partition_index,
                reason: format!("expected partition {index} at this position"),
            });
        }
        let partition = PartitionState {
            replicas: a.replicas.clone(),
            leader: a.leader,
            isr: a.isr.clone(),
            leader_epoch: 0,
            partition_epoch: 0,
            moving_from: Vec::new(),
            moving_to: Vec::new(),
            remote_log_start: 0,
        };
        check_partition(brokers, topic, index, &partition)?;
        built.push(partition);
    }
    Ok(built)
}

/// A partition index; counts are bounded by `MAX_PARTITIONS_PER_TOPIC`, far below `i32::MAX`.
fn index_i32(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// The partition after `r`, or why `r` may not apply to `current`.
fn changed_partition(
    brokers: &BTreeMap<BrokerId, Broker>,
    topic: &str,
    r: &PartitionChange,
    current: &PartitionState,
) -> Result<PartitionState> {
    let partition = r.partition_index;
    if r.expected_partition_epoch != current.partition_epoch {
        return Err(StateError::StalePartitionEpoch {
            topic: topic.to_string(),
            partition,
            expected: r.expected_partition_epoch,
            actual: current.partition_epoch,
        });
    }
    let replicas = match &r.replicas {
        Some(list) => list.replicas.clone(),
        None => current.replicas.clone(),
    };
    let (moving_from, moving_to) = match &r.reassignment {
        Some(m) => (m.original.clone(), m.target.clone()),
        None => (current.moving_from.clone(), current.moving_to.clone()),
    };
    let leader_changed = r.leader != current.leader;
    if !leader_changed
        && r.isr == current.isr
        && replicas == current.replicas
        && moving_from == current.moving_from
        && moving_to == current.moving_to
    {
        return Err(StateError::NoChange {
            topic: topic.to_string(),
            partition,
        });
    }
    let overflow = || StateError::InvalidPartition {
        topic: topic.to_string(),
        partition,
        reason: "epoch overflow".to_string(),
    };
    let leader_epoch = match leader_changed {
        true => current.leader_epoch.checked_add(1).ok_or_else(overflow)?,
        false => current.leader_epoch,
    };
    let next = PartitionState {
        replicas,
        leader: r.leader,
        isr: r.isr.clone(),
        leader_epoch,
        partition_epoch: current
            .partition_epoch
            .checked_add(1)
            .ok_or_else(overflow)?,
        moving_from,
        moving_to,
        remote_log_start: current.remote_log_start,
    };
    check_partition(brokers, topic, partition, &next)?;
    Ok(next)
}

/// The configs of `resource` after setting `set` and deleting `delete`, or why that change
/// is invalid.
pub(crate) fn changed_configs(
    resource: &ConfigResource,
    current: &BTreeMap<String, String>,
    set: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<BTreeMap<String, String>> {
    let invalid = |reason: String| StateError::InvalidConfig {
        resource: resource.to_string(),
        reason,
    };
    if set.is_empty() && delete.is_empty() {
        return Err(invalid("the change sets and deletes nothing".to_string()));
    }
    if delete.len() > MAX_CONFIG_ENTRIES {
        return Err(StateError::TooMany {
            what: "config deletions in one change",
            count: delete.len(),
            max: MAX_CONFIG_ENTRIES,
        });
    }
    if let Some(key) = delete.iter().find(|k| set.contains_key(*k)) {
        return Err(invalid(format!("'{key}' is both set and deleted")));
    }
    for key in delete {
        check_config_key(resource, key)?;
    }
    check_configs(resource, set)?;
    let mut next = current.clone();
    for key in delete {
        next.remove(key);
    }
    next.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    check_configs(resource, &next)?;
    Ok(next)
}

/// Restores a topic from a snapshot, with the same checks a record gets.
pub(crate) fn restore_topic(
    brokers: &BTreeMap<BrokerId, Broker>,
    name: &str,
    id: TopicId,
    configs: &BTreeMap<String, String>,
    partitions: Vec<PartitionState>,
) -> Result<Topic> {
    chronik_types::validate_topic_name(name)?;
    check_configs(&ConfigResource::Topic(name.to_owned()), configs)?;
    if partitions.is_empty() {
        return Err(StateError::InvalidSnapshot(format!(
            "topic '{name}' has no partitions"
        )));
    }
    check_partition_count(partitions.len())?;
    for (index, p) in partitions.iter().enumerate() {
        check_partition(brokers, name, index_i32(index), p)?;
    }
    Ok(Topic {
        name: name.to_string(),
        id,
        configs: configs.clone(),
        partitions,
    })
}
