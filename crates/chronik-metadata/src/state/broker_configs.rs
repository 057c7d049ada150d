//! Dynamic broker configs in the state: applying a `BrokerConfigChange`, and restoring them
//! from a snapshot. The state checks only sizes and key syntax; which keys and values a broker
//! accepts is the broker's to check before it proposes a change.

use crate::Result;
use crate::configs::ConfigResource;
use crate::error::StateError;
use crate::proto::{BrokerConfigChange, BrokerConfigSnapshot};
use crate::state::apply::changed_configs;
use crate::state::validate::check_configs;
use crate::state::{BrokerConfigs, MetadataState};

impl MetadataState {
    pub(crate) fn change_broker_config(&mut self, r: &BrokerConfigChange) -> Result<()> {
        if let Some(id) = r.broker_id.filter(|id| !self.brokers.contains_key(id)) {
            return Err(StateError::UnknownBroker(id));
        }
        let resource = ConfigResource::Broker(r.broker_id);
        let current = self.broker_configs(r.broker_id);
        let next = changed_configs(&resource, current, &r.set, &r.delete)?;
        match next.is_empty() {
            true => self.broker_configs.remove(&r.broker_id),
            false => self.broker_configs.insert(r.broker_id, next),
        };
        Ok(())
    }
}

/// The broker configs of a snapshot, the cluster-wide ones first, then by broker.
pub(crate) fn broker_config_snapshots(configs: &BrokerConfigs) -> Vec<BrokerConfigSnapshot> {
    (configs.iter())
        .map(|(broker_id, configs)| BrokerConfigSnapshot {
            broker_id: *broker_id,
            configs: configs.clone(),
        })
        .collect()
}

/// Restores broker configs from a snapshot, with the checks a change gets.
pub(crate) fn restore_broker_configs(
    state: &MetadataState,
    snapshots: &[BrokerConfigSnapshot],
) -> Result<BrokerConfigs> {
    let mut out = BrokerConfigs::new();
    for s in snapshots {
        let resource = ConfigResource::Broker(s.broker_id);
        if let Some(id) = s.broker_id.filter(|id| state.broker(*id).is_none()) {
            return Err(StateError::InvalidSnapshot(format!(
                "configs of broker {id}, which is not registered"
            )));
        }
        if s.configs.is_empty() {
            return Err(StateError::InvalidSnapshot(format!(
                "{resource} has no configs"
            )));
        }
        check_configs(&resource, &s.configs)?;
        if out.insert(s.broker_id, s.configs.clone()).is_some() {
            return Err(StateError::InvalidSnapshot(format!(
                "{resource} appears twice"
            )));
        }
    }
    Ok(out)
}
