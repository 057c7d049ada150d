//! Config changes of topics and brokers: the records that take a resource's configs to new
//! values, never overwriting a change made since the caller read them.

use std::collections::BTreeMap;

use crate::MetadataRecord;
use crate::configs::ConfigResource;
use crate::controller::Decision;
use crate::error::ControllerError;
use crate::ids::BrokerId;
use crate::proto::metadata_record::Record;
use crate::proto::{BrokerConfigChange, ConfigChange};
use crate::state::MetadataState;
use crate::state::validate::check_configs;

/// Sets and deletes configs of `resource`; nothing when the change alters nothing. With
/// `expected`, only while the resource's configs are exactly those: a change computed from an
/// older copy of them is refused rather than overwriting what changed since. The state machine
/// checks sizes and key syntax when the record is applied; which keys and values are valid is
/// the broker's to check, since it is the broker that follows them.
pub fn change_configs(
    state: &MetadataState,
    resource: &ConfigResource,
    set: &BTreeMap<String, String>,
    delete: &[String],
    expected: Option<&BTreeMap<String, String>>,
) -> Decision {
    // Whose record a change is, found together with the configs it changes.
    let (owner, existing) = match resource {
        ConfigResource::Topic(name) => {
            let topic = state.topic_by_name(name);
            let topic = topic.ok_or_else(|| ControllerError::UnknownTopic(name.clone()))?;
            (Owner::Topic(topic.id.to_vec()), &topic.configs)
        }
        ConfigResource::Broker(Some(id)) if state.broker(*id).is_none() => {
            return Err(ControllerError::UnknownBroker(*id));
        }
        ConfigResource::Broker(broker) => (Owner::Broker(*broker), state.broker_configs(*broker)),
    };
    if expected.is_some_and(|e| e != existing) {
        return Err(ControllerError::ConfigsChanged(resource.to_string()));
    }
    check_configs(resource, set).map_err(|e| ControllerError::InvalidConfig(e.to_string()))?;
    let set: BTreeMap<String, String> = (set.iter())
        .filter(|(k, v)| existing.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let delete: Vec<String> = (delete.iter())
        .filter(|k| existing.contains_key(*k) && !set.contains_key(*k))
        .cloned()
        .collect();
    if set.is_empty() && delete.is_empty() {
        return Ok(Vec::new());
    }
    let record = match owner {
        Owner::Topic(topic_id) => Record::ConfigChange(ConfigChange {
            topic_id,
            set,
            delete,
        }),
        Owner::Broker(broker_id) => Record::BrokerConfigChange(BrokerConfigChange {
            broker_id,
            set,
            delete,
        }),
    };
    Ok(vec![MetadataRecord::new(record)])
}

/// The owner of configs as their change record names it.
enum Owner {
    Topic(Vec<u8>),
    Broker(Option<BrokerId>),
}
