//! What a config change applies to: a topic, one broker, or the cluster-wide broker defaults.

use std::collections::BTreeMap;
use std::fmt;

use crate::ids::BrokerId;
use crate::state::MetadataState;

/// The owner of a set of configs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfigResource {
    Topic(String),
    /// The dynamic configs of one broker, or with `None` the cluster-wide defaults that every
    /// broker's own override (Kafka's broker resource named "").
    Broker(Option<BrokerId>),
}

impl ConfigResource {
    /// The resource's configs in `state`; `None` for a topic that does not exist. A broker
    /// resource always has configs (none set is an empty map).
    pub fn configs<'a>(&self, state: &'a MetadataState) -> Option<&'a BTreeMap<String, String>> {
        match self {
            ConfigResource::Topic(name) => state.topic_by_name(name).map(|t| &t.configs),
            ConfigResource::Broker(broker) => Some(state.broker_configs(*broker)),
        }
    }
}

impl fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigResource::Topic(name) => write!(f, "topic '{name}'"),
            ConfigResource::Broker(Some(id)) => write!(f, "broker {id}"),
            ConfigResource::Broker(None) => f.write_str("the cluster-wide broker defaults"),
        }
    }
}
