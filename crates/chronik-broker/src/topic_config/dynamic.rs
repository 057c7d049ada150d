//! Broker configs changed at runtime (Kafka's dynamic broker configs): the broker configs that
//! hold topic defaults (`log.retention.ms`, `compression.type`, ...), set for every broker or
//! for one, kept in the metadata log and followed without a restart. A topic's default is
//! then, highest first: this broker's dynamic value, the cluster-wide dynamic value, the
//! broker's flag, the built-in default.

use std::collections::BTreeMap;

use chronik_metadata::{BrokerId, MetadataState};

use super::{KEYS, Key, Source, TopicSettings};

/// The topic config whose default broker config `name` holds, if `name` can change at
/// runtime.
pub(crate) fn dynamic_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.broker_name == Some(name))
}

/// The broker configs that change at runtime, by name.
pub(crate) fn dynamic_names() -> String {
    let mut names: Vec<&str> = KEYS.iter().filter_map(|k| k.broker_name).collect();
    names.sort_unstable();
    names.join(", ")
}

/// The layers a topic's defaults come from on one broker.
pub(crate) struct Defaults<'a> {
    /// From the broker's flags.
    flags: TopicSettings,
    /// The cluster-wide dynamic broker configs.
    cluster: &'a BTreeMap<String, String>,
    /// This broker's own dynamic broker configs.
    broker: &'a BTreeMap<String, String>,
}

impl<'a> Defaults<'a> {
    /// The defaults of broker `me`, whose flags give `flags`, as `state` has them.
    pub fn new(flags: TopicSettings, state: &'a MetadataState, me: BrokerId) -> Self {
        Defaults {
            flags,
            cluster: state.broker_configs(None),
            broker: state.broker_configs(Some(me)),
        }
    }

    /// The topic defaults in effect: every layer applied over the one below it.
    pub fn settings(&self) -> TopicSettings {
        Self::layered(self.flags.clone(), self.cluster, self.broker)
    }

    /// [`Self::settings`] without copying the flags' settings (Produce computes them per
    /// partition).
    pub fn into_settings(self) -> TopicSettings {
        Self::layered(self.flags, self.cluster, self.broker)
    }

    fn layered(
        mut settings: TopicSettings,
        cluster: &BTreeMap<String, String>,
        broker: &BTreeMap<String, String>,
    ) -> TopicSettings {
        for layer in [cluster, broker] {
            for (name, value) in layer {
                let Some(key) = dynamic_key(name) else {
                    continue;
                };
                if let Err(e) = settings.set(key.name, value) {
                    tracing::debug!(config = name, error = %e, "stored broker config ignored");
                }
            }
        }
        settings
    }

    /// Every layer that gives topic config `key` a default, highest first, each with its
    /// value as Kafka writes it; the last is the built-in default.
    pub fn synonyms(&self, key: &Key) -> Vec<(String, Source)> {
        let builtin = TopicSettings::builtin();
        let mut out = Vec::new();
        let dynamic = [
            (self.broker, Source::DynamicBroker),
            (self.cluster, Source::DynamicDefaultBroker),
        ];
        for (layer, source) in dynamic {
            let value = key.broker_name.and_then(|name| layer.get(name));
            let mut probe = builtin.clone();
            if value.is_some_and(|v| probe.set(key.name, v).is_ok()) {
                out.push((probe.value(key), source));
            }
        }
        let flag = self.flags.value(key);
        let default = builtin.value(key);
        if flag != default {
            out.push((flag, Source::StaticBroker));
        }
        out.push((default, Source::Default));
        out
    }
}
