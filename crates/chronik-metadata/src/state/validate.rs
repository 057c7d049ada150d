//! Checks shared by record application and snapshot restore: whatever enters the state passes
//! through these, so the state's invariants hold however it was built.

use std::collections::BTreeMap;

use crate::Result;
use crate::configs::ConfigResource;
use crate::error::StateError;
use crate::ids::{
    BrokerId, MAX_CONFIG_ENTRIES, MAX_CONFIG_KEY_LEN, MAX_CONFIG_VALUE_LEN, MAX_ENDPOINTS,
    MAX_NAME_LEN, MAX_PARTITIONS_PER_TOPIC, MAX_REPLICAS, NO_LEADER, Uuid,
};
use crate::proto::Endpoint;
use crate::state::{Broker, BrokerEndpoint, DEFAULT_LISTENER, PartitionState};

/// The fields of a broker as a record or a snapshot carries them.
pub(crate) struct BrokerFields<'a> {
    pub id: BrokerId,
    pub incarnation: &'a [u8],
    pub host: &'a str,
    pub port: u32,
    pub rack: Option<&'a str>,
    pub fenced: bool,
    /// Every listener; none stands for one [`DEFAULT_LISTENER`] at `host:port`.
    pub endpoints: &'a [Endpoint],
}

/// Builds a broker from record fields, checking each.
pub(crate) fn build_broker(fields: BrokerFields<'_>) -> Result<Broker> {
    let id = fields.id;
    if id < 0 {
        return Err(StateError::NegativeBrokerId(id));
    }
    let invalid = |reason: String| StateError::InvalidBroker { broker: id, reason };
    let incarnation = Uuid::from_field("incarnation_id", fields.incarnation)?;
    check_name("host", fields.host).map_err(invalid)?;
    let port = u16::try_from(fields.port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| invalid(format!("port {} is not in 1..=65535", fields.port)))?;
    if let Some(rack) = fields.rack {
        check_name("rack", rack).map_err(invalid)?;
    }
    let endpoints = if fields.endpoints.is_empty() {
        vec![BrokerEndpoint {
            name: DEFAULT_LISTENER.to_string(),
            host: fields.host.to_string(),
            port,
        }]
    } else {
        build_endpoints(fields.endpoints).map_err(invalid)?
    };
    Ok(Broker {
        id,
        incarnation,
        host: fields.host.to_string(),
        port,
        endpoints,
        rack: fields.rack.map(str::to_string),
        fenced: fields.fenced,
        decommissioning: false,
    })
}

/// A broker's listeners: at most [`MAX_ENDPOINTS`], names unique, each with a host and a
/// non-zero port.
fn build_endpoints(endpoints: &[Endpoint]) -> std::result::Result<Vec<BrokerEndpoint>, String> {
    if endpoints.len() > MAX_ENDPOINTS {
        return Err(format!(
            "{} endpoints is more than {MAX_ENDPOINTS}",
            endpoints.len()
        ));
    }
    let mut out: Vec<BrokerEndpoint> = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        check_name("listener name", &e.name)?;
        let what = |field: &str| format!("listener {}: {field}", e.name);
        check_name(&what("host"), &e.host)?;
        let port = u16::try_from(e.port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{} {} is not in 1..=65535", what("port"), e.port))?;
        if out.iter().any(|o| o.name == e.name) {
            return Err(format!("listener {} is named twice", e.name));
        }
        out.push(BrokerEndpoint {
            name: e.name.clone(),
            host: e.host.clone(),
            port,
        });
    }
    Ok(out)
}

/// The endpoints of `broker` as records and snapshots carry them.
pub(crate) fn endpoint_fields(broker: &Broker) -> Vec<Endpoint> {
    (broker.endpoints.iter())
        .map(|e| Endpoint {
            name: e.name.clone(),
            host: e.host.clone(),
            port: u32::from(e.port),
        })
        .collect()
}

/// A host, rack or cluster id: 1 to 255 characters, no control characters.
pub(crate) fn check_name(what: &str, value: &str) -> std::result::Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(format!("{what} is longer than {MAX_NAME_LEN} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what} contains control characters"));
    }
    Ok(())
}

/// A partition count a topic may have.
pub(crate) fn check_partition_count(count: usize) -> Result<()> {
    if count > MAX_PARTITIONS_PER_TOPIC {
        return Err(StateError::TooMany {
            what: "partitions in one topic",
            count,
            max: MAX_PARTITIONS_PER_TOPIC,
        });
    }
    Ok(())
}

/// Checks one partition against the registered brokers: replicas distinct and registered, ISR
/// a non-empty subset of them, leader absent or in the ISR, epochs not negative.
pub(crate) fn check_partition(
    brokers: &BTreeMap<BrokerId, Broker>,
    topic: &str,
    index: i32,
    p: &PartitionState,
) -> Result<()> {
    let invalid = |reason: String| StateError::InvalidPartition {
        topic: topic.to_string(),
        partition: index,
        reason,
    };
    check_replicas(brokers, &p.replicas).map_err(invalid)?;
    check_isr(&p.replicas, &p.isr).map_err(invalid)?;
    if p.leader != NO_LEADER && !p.isr.contains(&p.leader) {
        return Err(StateError::LeaderNotInIsr {
            topic: topic.to_string(),
            partition: index,
            leader: p.leader,
            isr: p.isr.clone(),
        });
    }
    if p.leader_epoch < 0 || p.partition_epoch < 0 {
        return Err(invalid("epochs may not be negative".to_string()));
    }
    check_reassignment(p).map_err(invalid)
}

/// A running reassignment names its original and target replicas, neither empty (nor
/// over-long, nor with a broker twice), and the replicas are exactly the two merged.
fn check_reassignment(p: &PartitionState) -> std::result::Result<(), String> {
    match (p.moving_from.is_empty(), p.moving_to.is_empty()) {
        (true, true) => return Ok(()),
        (false, false) => {}
        _ => return Err("a reassignment needs both its original and its target replicas".into()),
    }
    for (what, ids) in [("original", &p.moving_from), ("target", &p.moving_to)] {
        if ids.len() > MAX_REPLICAS {
            return Err(format!(
                "{} {what} replicas is more than {MAX_REPLICAS}",
                ids.len()
            ));
        }
        if let Some(dup) = first_duplicate(ids) {
            return Err(format!(
                "broker {dup} appears twice among the {what} replicas"
            ));
        }
    }
    let merged = super::merged_replicas(&p.moving_to, &p.moving_from);
    if merged != p.replicas {
        return Err(format!(
            "the replicas {:?} are not the target followed by the original ones ({merged:?})",
            p.replicas
        ));
    }
    Ok(())
}

fn check_replicas(
    brokers: &BTreeMap<BrokerId, Broker>,
    replicas: &[BrokerId],
) -> std::result::Result<(), String> {
    if replicas.is_empty() {
        return Err("a partition needs at least one replica".to_string());
    }
    if replicas.len() > MAX_REPLICAS {
        return Err(format!(
            "{} replicas is more than the limit of {MAX_REPLICAS}",
            replicas.len()
        ));
    }
    if let Some(dup) = first_duplicate(replicas) {
        return Err(format!("broker {dup} appears twice in the replicas"));
    }
    if let Some(unknown) = replicas.iter().find(|id| !brokers.contains_key(id)) {
        return Err(format!("replica {unknown} is not a registered broker"));
    }
    Ok(())
}

fn check_isr(replicas: &[BrokerId], isr: &[BrokerId]) -> std::result::Result<(), String> {
    if isr.is_empty() {
        return Err("the ISR may not be empty".to_string());
    }
    if let Some(outsider) = isr.iter().find(|id| !replicas.contains(id)) {
        return Err(format!("ISR member {outsider} is not a replica"));
    }
    if let Some(dup) = first_duplicate(isr) {
        return Err(format!("broker {dup} appears twice in the ISR"));
    }
    Ok(())
}

/// The first id that appears twice. Called only on lists already bounded in length.
pub(crate) fn first_duplicate(ids: &[BrokerId]) -> Option<BrokerId> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// Checks the whole config map of a topic or broker against the size limits.
pub(crate) fn check_configs(
    resource: &ConfigResource,
    configs: &BTreeMap<String, String>,
) -> Result<()> {
    if configs.len() > MAX_CONFIG_ENTRIES {
        return Err(StateError::TooMany {
            what: "config entries of one topic or broker",
            count: configs.len(),
            max: MAX_CONFIG_ENTRIES,
        });
    }
    for (key, value) in configs {
        check_config_key(resource, key)?;
        if value.len() > MAX_CONFIG_VALUE_LEN {
            return Err(StateError::InvalidConfig {
                resource: resource.to_string(),
                reason: format!("value of '{key}' is longer than {MAX_CONFIG_VALUE_LEN} bytes"),
            });
        }
    }
    Ok(())
}

/// A config key: 1 to 255 bytes, no control characters.
pub(crate) fn check_config_key(resource: &ConfigResource, key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_CONFIG_KEY_LEN || key.chars().any(char::is_control) {
        return Err(StateError::InvalidConfig {
            resource: resource.to_string(),
            reason: format!(
                "config key {key:?} must be 1 to {MAX_CONFIG_KEY_LEN} bytes without control characters"
            ),
        });
    }
    Ok(())
}
