//! Snapshots of the state, which let Raft compact its log. Equal states encode to equal bytes
//! (ordered maps, fixed field order), so replicas can compare snapshots byte for byte.

use std::collections::BTreeMap;

use prost::Message;

use crate::Result;
use crate::error::StateError;
use crate::ids::Uuid;
use crate::proto::{BrokerSnapshot, PartitionSnapshot, StateSnapshot, TopicSnapshot};
use crate::state::acls::{acl_snapshots, restore_acls};
use crate::state::apply::restore_topic;
use crate::state::broker_configs::{broker_config_snapshots, restore_broker_configs};
use crate::state::quotas::{quota_snapshots, restore_client_quotas};
use crate::state::remote_segments::{remote_segment_snapshots, restore_remote_segments};
use crate::state::scram::{restore_scram_credentials, scram_snapshots};
use crate::state::validate::{BrokerFields, build_broker, check_name, endpoint_fields};
use crate::state::{Broker, MetadataState, PartitionState, Topic};

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

impl MetadataState {
    /// The whole state as snapshot bytes.
    pub fn to_snapshot_bytes(&self) -> Vec<u8> {
        self.to_snapshot().encode_to_vec()
    }

    /// The whole state as a snapshot message.
    pub fn to_snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            version: SNAPSHOT_VERSION,
            cluster_id: self.cluster_id.clone(),
            brokers: self.brokers.values().map(broker_snapshot).collect(),
            topics: self.topics.values().map(topic_snapshot).collect(),
            next_producer_id: self.next_producer_id,
            client_quotas: quota_snapshots(&self.client_quotas),
            broker_configs: broker_config_snapshots(&self.broker_configs),
            scram_credentials: scram_snapshots(&self.scram_credentials),
            acls: acl_snapshots(&self.acls),
            remote_segments: remote_segment_snapshots(&self.remote_segments),
        }
    }

    /// Restores a state from snapshot bytes, checking it as thoroughly as records are checked.
    pub fn from_snapshot_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_snapshot(&StateSnapshot::decode(bytes)?)
    }

    /// Restores a state from a snapshot message.
    pub fn from_snapshot(snapshot: &StateSnapshot) -> Result<Self> {
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(StateError::UnsupportedSnapshotVersion {
                version: snapshot.version,
                supported: SNAPSHOT_VERSION,
            });
        }
        if let Some(id) = &snapshot.cluster_id {
            check_name("cluster id", id).map_err(StateError::InvalidClusterId)?;
        }
        if snapshot.next_producer_id < 0 {
            return Err(StateError::InvalidSnapshot(format!(
                "next producer id {} is negative",
                snapshot.next_producer_id
            )));
        }
        let brokers = restore_brokers(&snapshot.brokers)?;
        let (topics, topic_ids) = restore_topics(&brokers, &snapshot.topics)?;
        let mut state = MetadataState {
            cluster_id: snapshot.cluster_id.clone(),
            brokers,
            topics,
            topic_ids,
            next_producer_id: snapshot.next_producer_id,
            client_quotas: restore_client_quotas(&snapshot.client_quotas)?,
            broker_configs: Default::default(),
            scram_credentials: restore_scram_credentials(&snapshot.scram_credentials)?,
            acls: restore_acls(&snapshot.acls)?,
            remote_segments: restore_remote_segments(&snapshot.remote_segments)?,
        };
        state.broker_configs = restore_broker_configs(&state, &snapshot.broker_configs)?;
        Ok(state)
    }
}

fn broker_snapshot(b: &Broker) -> BrokerSnapshot {
    BrokerSnapshot {
        broker_id: b.id,
        incarnation_id: b.incarnation.to_vec(),
        host: b.host.clone(),
        port: u32::from(b.port),
        rack: b.rack.clone(),
        fenced: b.fenced,
        decommissioning: b.decommissioning,
        endpoints: endpoint_fields(b),
    }
}

fn topic_snapshot(t: &Topic) -> TopicSnapshot {
    TopicSnapshot {
        name: t.name.clone(),
        topic_id: t.id.to_vec(),
        configs: t.configs.clone(),
        partitions: t
            .partitions
            .iter()
            .map(|p| PartitionSnapshot {
                replicas: p.replicas.clone(),
                leader: p.leader,
                isr: p.isr.clone(),
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                moving_from: p.moving_from.clone(),
                moving_to: p.moving_to.clone(),
                remote_log_start: p.remote_log_start,
            })
            .collect(),
    }
}

fn restore_brokers(snapshots: &[BrokerSnapshot]) -> Result<BTreeMap<i32, Broker>> {
    let mut brokers = BTreeMap::new();
    for s in snapshots {
        let broker = build_broker(BrokerFields {
            id: s.broker_id,
            incarnation: &s.incarnation_id,
            host: &s.host,
            port: s.port,
            rack: s.rack.as_deref(),
            fenced: s.fenced,
            endpoints: &s.endpoints,
        })
        .map(|b| Broker {
            decommissioning: s.decommissioning,
            ..b
        })?;
        if brokers.insert(broker.id, broker).is_some() {
            return Err(StateError::InvalidSnapshot(format!(
                "broker {} appears twice",
                s.broker_id
            )));
        }
    }
    Ok(brokers)
}

type TopicMaps = (BTreeMap<Uuid, Topic>, BTreeMap<String, Uuid>);

fn restore_topics(
    brokers: &BTreeMap<i32, Broker>,
    snapshots: &[TopicSnapshot],
) -> Result<TopicMaps> {
    let mut topics = BTreeMap::new();
    let mut topic_ids = BTreeMap::new();
    for s in snapshots {
        let id = Uuid::from_field("topic_id", &s.topic_id)?;
        let partitions = s
            .partitions
            .iter()
            .map(|p| PartitionState {
                replicas: p.replicas.clone(),
                leader: p.leader,
                isr: p.isr.clone(),
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                moving_from: p.moving_from.clone(),
                moving_to: p.moving_to.clone(),
                remote_log_start: p.remote_log_start,
            })
            .collect();
        let topic = restore_topic(brokers, &s.name, id, &s.configs, partitions)?;
        if topic_ids.insert(topic.name.clone(), id).is_some() {
            return Err(StateError::DuplicateTopicName(topic.name));
        }
        if topics.insert(id, topic).is_some() {
            return Err(StateError::DuplicateTopicId(id));
        }
    }
    Ok((topics, topic_ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{apply_all, change, populated_state, register, sample_records};
    use proptest::prelude::*;

    #[test]
    fn snapshot_round_trips() {
        let state = populated_state();
        let bytes = state.to_snapshot_bytes();
        let restored = MetadataState::from_snapshot_bytes(&bytes).expect("restores");
        assert_eq!(restored, state);
        assert_eq!(restored.to_snapshot_bytes(), bytes);
        assert_eq!(
            restored.topic_by_name("orders").map(|t| t.id),
            state.topic_by_name("orders").map(|t| t.id)
        );
    }

    #[test]
    fn restored_state_goes_on_like_the_original() {
        let mut original = populated_state();
        let mut restored =
            MetadataState::from_snapshot_bytes(&original.to_snapshot_bytes()).expect("restores");
        let next = [register(9), change(1, 1, 3, &[3, 1], 0)];
        apply_all(&mut original, &next);
        apply_all(&mut restored, &next);
        assert_eq!(original.to_snapshot_bytes(), restored.to_snapshot_bytes());
    }

    #[test]
    fn empty_state_round_trips() {
        let state = MetadataState::new();
        let restored =
            MetadataState::from_snapshot_bytes(&state.to_snapshot_bytes()).expect("restores");
        assert_eq!(restored, state);
    }

    #[test]
    fn unknown_snapshot_version_is_rejected() {
        let mut snapshot = populated_state().to_snapshot();
        snapshot.version = 2;
        let err = MetadataState::from_snapshot_bytes(&snapshot.encode_to_vec()).expect_err("v2");
        assert!(matches!(
            err,
            StateError::UnsupportedSnapshotVersion { version: 2, .. }
        ));
    }

    #[test]
    fn inconsistent_snapshots_are_rejected() {
        let good = populated_state().to_snapshot();
        let mut leader_outside = good.clone();
        leader_outside.topics[0].partitions[0].isr = vec![3];
        let mut unknown_replica = good.clone();
        unknown_replica.topics[0].partitions[0].replicas.push(42);
        let mut dup_broker = good.clone();
        dup_broker.brokers.push(dup_broker.brokers[0].clone());
        let mut dup_topic = good.clone();
        let mut other = dup_topic.topics[0].clone();
        other.topic_id = vec![77; 16];
        dup_topic.topics.push(other);
        let mut no_partitions = good.clone();
        no_partitions.topics[0].partitions.clear();
        let mut negative_pid = good.clone();
        negative_pid.next_producer_id = -1;
        let mut dup_quota = good.clone();
        dup_quota
            .client_quotas
            .push(dup_quota.client_quotas[0].clone());
        let mut no_quota_values = good.clone();
        no_quota_values.client_quotas[0].values.clear();
        let mut bad_quota_value = good.clone();
        bad_quota_value.client_quotas[0]
            .values
            .insert("producer_byte_rate".into(), 0.5);
        let mut ip_entity = good.clone();
        ip_entity.client_quotas[0].entity[0].entity_type = "ip".into();
        let mut dup_broker_configs = good.clone();
        (dup_broker_configs.broker_configs).push(dup_broker_configs.broker_configs[0].clone());
        let mut no_broker_configs = good.clone();
        no_broker_configs.broker_configs[0].configs.clear();
        let mut unregistered_configs = good.clone();
        unregistered_configs.broker_configs[1].broker_id = Some(42);
        let mut dup_credential = good.clone();
        (dup_credential.scram_credentials).push(dup_credential.scram_credentials[0].clone());
        let mut short_key = good.clone();
        short_key.scram_credentials[0].server_key.pop();
        let mut unknown_mechanism = good.clone();
        unknown_mechanism.scram_credentials[0].mechanism = 3;
        let mut few_iterations = good.clone();
        few_iterations.scram_credentials[0].iterations = 100;
        let mut dup_acl = good.clone();
        dup_acl.acls.push(dup_acl.acls[0].clone());
        let mut unsorted_acls = good.clone();
        unsorted_acls.acls.swap(0, 1);
        let mut invalid_acl = good;
        invalid_acl.acls[0].principal = "alice".into();
        for bad in [
            leader_outside,
            unknown_replica,
            dup_broker,
            dup_topic,
            no_partitions,
            negative_pid,
            dup_quota,
            no_quota_values,
            bad_quota_value,
            ip_entity,
            dup_broker_configs,
            no_broker_configs,
            unregistered_configs,
            dup_credential,
            short_key,
            unknown_mechanism,
            few_iterations,
            dup_acl,
            unsorted_acls,
            invalid_acl,
        ] {
            let result = MetadataState::from_snapshot_bytes(&bad.encode_to_vec());
            assert!(result.is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn sample_topics_exist_in_snapshot() {
        // Guards the fixtures the other snapshot tests mutate.
        let snapshot = populated_state().to_snapshot();
        assert_eq!(snapshot.brokers.len(), 3);
        assert_eq!(snapshot.topics.len(), 1);
        assert_eq!(snapshot.client_quotas.len(), 1);
        assert_eq!(snapshot.broker_configs.len(), 2);
        assert_eq!(snapshot.scram_credentials.len(), 1);
        assert_eq!(snapshot.acls.len(), 2);
        assert_eq!(snapshot.remote_segments.len(), 2);
        assert_eq!(sample_records().len(), 28);
    }

    proptest! {
        #[test]
        fn random_snapshot_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = MetadataState::from_snapshot_bytes(&bytes);
        }
    }
}
