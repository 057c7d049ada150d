//! Leadership as brokers come and go: fencing moves leadership away and shrinks ISRs,
//! unfencing brings offline partitions back, and preferred leaders are restored.

use crate::MetadataRecord;
use crate::controller::{Decision, partition_change};
use crate::error::ControllerError;
use crate::ids::{BrokerId, NO_LEADER, Uuid};
use crate::proto::metadata_record::Record;
use crate::proto::{Endpoint, FenceBroker, RegisterBroker, UnfenceBroker};
use crate::state::validate::{BrokerFields, build_broker};
use crate::state::{BrokerEndpoint, MetadataState, PartitionView};

/// A broker's registration request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub broker_id: BrokerId,
    pub incarnation: Uuid,
    /// The first listener's address, where other brokers reach this one.
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    /// Every listener, first one first; none stands for one PLAINTEXT listener at
    /// `host:port` (a broker from before listeners were registered).
    pub endpoints: Vec<BrokerEndpoint>,
}

/// Registers a broker (it starts fenced). A retried registration of the same incarnation
/// proposes nothing. A new incarnation of a live broker means it restarted, so its leadership
/// moves away as if it had been fenced. The caller rejects a registration while an earlier
/// incarnation still holds a live session (Kafka's DUPLICATE_BROKER_REGISTRATION).
pub fn register_broker(state: &MetadataState, reg: &BrokerRegistration) -> Decision {
    let incarnation = reg.incarnation.to_vec();
    let endpoints: Vec<Endpoint> = (reg.endpoints.iter())
        .map(|e| Endpoint {
            name: e.name.clone(),
            host: e.host.clone(),
            port: u32::from(e.port),
        })
        .collect();
    let broker = build_broker(BrokerFields {
        id: reg.broker_id,
        incarnation: &incarnation,
        host: &reg.host,
        port: u32::from(reg.port),
        rack: reg.rack.as_deref(),
        fenced: true,
        endpoints: &endpoints,
    })
    .map_err(|e| ControllerError::InvalidRequest(e.to_string()))?;
    let existing = state.broker(reg.broker_id);
    if let Some(old) = existing {
        let same = old.incarnation == broker.incarnation
            && old.host == broker.host
            && old.port == broker.port
            && old.endpoints == broker.endpoints
            && old.rack == broker.rack;
        if same {
            return Ok(Vec::new());
        }
    }
    let mut records = vec![MetadataRecord::new(Record::RegisterBroker(
        RegisterBroker {
            broker_id: reg.broker_id,
            incarnation_id: incarnation,
            host: reg.host.clone(),
            port: u32::from(reg.port),
            rack: reg.rack.clone(),
            endpoints,
        },
    ))];
    if existing.is_some_and(|b| b.is_live()) {
        records.extend(moves_away_from(state, reg.broker_id));
    }
    Ok(records)
}

/// Fences a live broker: every partition it led gets a new leader from the live ISR (in
/// replica order), or goes offline when there is none (unless the topic allows unclean
/// election), and it leaves the ISR of the partitions it followed, so the high watermark
/// stops waiting for it. An ISR is never emptied: the last member stays so it can be elected
/// when it returns.
pub fn fence_broker(state: &MetadataState, broker: BrokerId) -> Decision {
    let current = state
        .broker(broker)
        .ok_or(ControllerError::UnknownBroker(broker))?;
    if current.fenced {
        return Err(ControllerError::BrokerAlreadyFenced(broker));
    }
    let mut records = vec![MetadataRecord::new(Record::FenceBroker(FenceBroker {
        broker_id: broker,
    }))];
    records.extend(moves_away_from(state, broker));
    Ok(records)
}

/// Unfences a broker: offline partitions whose ISR holds it get it as leader (or, where the
/// topic allows unclean election, any offline partition it replicates).
pub fn unfence_broker(state: &MetadataState, broker: BrokerId) -> Decision {
    let current = state
        .broker(broker)
        .ok_or(ControllerError::UnknownBroker(broker))?;
    if !current.fenced {
        return Err(ControllerError::BrokerNotFenced(broker));
    }
    if current.decommissioning && super::replicas_held(state, broker) == 0 {
        return Err(ControllerError::BrokerDecommissioned(broker));
    }
    let mut records = vec![MetadataRecord::new(Record::UnfenceBroker(UnfenceBroker {
        broker_id: broker,
    }))];
    let live = |id: BrokerId| id == broker || state.is_live(id);
    for p in state.offline_partitions() {
        if !p.state.replicas.contains(&broker) {
            continue;
        }
        let unclean = state.unclean_election_allowed(p.topic);
        if let Some((leader, isr)) = elect(p, &p.state.isr, &live, unclean) {
            records.push(partition_change(p, leader, isr));
        }
    }
    Ok(records)
}

/// Moves leadership back to preferred leaders (first replicas) that are live and in the ISR.
pub fn preferred_leader_elections(state: &MetadataState) -> Vec<MetadataRecord> {
    state
        .partitions()
        .filter_map(|p| {
            let preferred = *p.state.replicas.first()?;
            let eligible = preferred != p.state.leader
                && p.state.isr.contains(&preferred)
                && state.is_live(preferred);
            eligible.then(|| partition_change(p, preferred, p.state.isr.clone()))
        })
        .collect()
}

/// The partition changes that take `gone` out of leadership and out of ISRs.
fn moves_away_from(state: &MetadataState, gone: BrokerId) -> Vec<MetadataRecord> {
    let live = |id: BrokerId| id != gone && state.is_live(id);
    state
        .partitions()
        .filter_map(|p| move_away(p, gone, &live, state.unclean_election_allowed(p.topic)))
        .collect()
}

fn move_away(
    p: PartitionView<'_>,
    gone: BrokerId,
    live: &impl Fn(BrokerId) -> bool,
    unclean: bool,
) -> Option<MetadataRecord> {
    let s = p.state;
    if s.leader != gone && !s.isr.contains(&gone) {
        return None;
    }
    let remaining: Vec<BrokerId> = s.isr.iter().copied().filter(|id| *id != gone).collect();
    if s.leader != gone {
        // A follower leaves the ISR, unless it is the last member.
        return (!remaining.is_empty()).then(|| partition_change(p, s.leader, remaining));
    }
    let (leader, isr) = elect(p, &remaining, live, unclean).unwrap_or_else(|| {
        let isr = if remaining.is_empty() {
            s.isr.clone()
        } else {
            remaining
        };
        (NO_LEADER, isr)
    });
    Some(partition_change(p, leader, isr))
}

/// Picks a leader for `p`: the first replica that is live and in `isr`, with the live part of
/// `isr` as the new ISR; failing that, with `unclean` (the topic allows unclean election), the
/// first live replica alone in a new ISR (its log becomes the truth, so acknowledged data may be
/// lost).
fn elect(
    p: PartitionView<'_>,
    isr: &[BrokerId],
    live: &impl Fn(BrokerId) -> bool,
    unclean: bool,
) -> Option<(BrokerId, Vec<BrokerId>)> {
    let live_isr: Vec<BrokerId> = isr.iter().copied().filter(|id| live(*id)).collect();
    let replicas = &p.state.replicas;
    if let Some(leader) = replicas.iter().copied().find(|r| live_isr.contains(r)) {
        return Some((leader, live_isr));
    }
    if !unclean {
        return None;
    }
    replicas
        .iter()
        .copied()
        .find(|r| live(*r))
        .map(|leader| (leader, vec![leader]))
}
