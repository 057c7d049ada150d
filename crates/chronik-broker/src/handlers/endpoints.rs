//! Which address a client is told for each broker, as Kafka chooses it: the broker's endpoint
//! on the listener the client connected through (same name), so that a client of, say, the
//! SASL_SSL listener is sent to every broker's SASL_SSL port. A broker without that listener
//! is left out of Metadata's and DescribeCluster's broker lists; a partition it leads answers
//! LISTENER_NOT_FOUND (LEADER_NOT_AVAILABLE before Metadata v6) with no leader, and a
//! coordinator on it is COORDINATOR_NOT_AVAILABLE.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_metadata::{Broker, BrokerEndpoint, BrokerId, MetadataState, NO_LEADER};

use super::NONE;

/// Metadata v6 added LISTENER_NOT_FOUND; older clients get LEADER_NOT_AVAILABLE instead.
const LISTENER_NOT_FOUND_VERSION: i16 = 6;

/// The live brokers a client on `listener` can reach, each with its endpoint there.
pub(crate) fn live_brokers<'a>(
    state: &'a MetadataState,
    listener: &'a str,
) -> impl Iterator<Item = (&'a Broker, &'a BrokerEndpoint)> + 'a {
    (state.live_brokers()).filter_map(move |b| Some((b, b.endpoint(listener)?)))
}

/// The leader a Metadata answer (at `version`) names for a partition led by `leader`, and the
/// partition's error code, for a client on `listener`.
pub(crate) fn partition_leader(
    state: &MetadataState,
    leader: BrokerId,
    listener: &str,
    version: i16,
) -> (BrokerId, i16) {
    let not_available = ResponseError::LeaderNotAvailable.code();
    let Some(broker) = state.broker(leader) else {
        return (NO_LEADER, not_available);
    };
    match broker.endpoint(listener) {
        Some(_) => (leader, NONE),
        // The leader is there, but this client could not reach it: a misconfiguration
        // newer clients are told of by name.
        None if version >= LISTENER_NOT_FOUND_VERSION => {
            (NO_LEADER, ResponseError::ListenerNotFound.code())
        }
        None => (NO_LEADER, not_available),
    }
}

/// The address of coordinator `id` for a client on `listener`: live, with that listener.
pub(crate) fn coordinator<'a>(
    state: &'a MetadataState,
    id: BrokerId,
    listener: &str,
) -> Option<&'a BrokerEndpoint> {
    (state.broker(id))
        .filter(|b| b.is_live())
        .and_then(|b| b.endpoint(listener))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chronik_metadata::proto::{
        CreateTopic, Endpoint, PartitionAssignment, RegisterBroker, UnfenceBroker,
    };
    use chronik_metadata::{MetadataRecord, Record};

    use super::*;

    /// Brokers 1 and 2 with INTERNAL and EXTERNAL listeners, broker 3 with INTERNAL only, all
    /// live; topic "t" has a partition led by each (partition i by broker i + 1).
    fn cluster() -> MetadataState {
        let mut state = MetadataState::new();
        let mut records = Vec::new();
        for id in 1..=3 {
            let mut endpoints = vec![Endpoint {
                name: "INTERNAL".into(),
                host: format!("10.0.0.{id}"),
                port: 9092,
            }];
            if id < 3 {
                endpoints.push(Endpoint {
                    name: "EXTERNAL".into(),
                    host: format!("kafka-{id}.example"),
                    port: 19090 + id as u32,
                });
            }
            records.push(Record::RegisterBroker(RegisterBroker {
                broker_id: id,
                incarnation_id: vec![id as u8; 16],
                host: format!("10.0.0.{id}"),
                port: 9092,
                rack: None,
                endpoints,
            }));
            records.push(Record::UnfenceBroker(UnfenceBroker { broker_id: id }));
        }
        records.push(Record::CreateTopic(CreateTopic {
            name: "t".into(),
            topic_id: vec![9; 16],
            partitions: (0..3)
                .map(|i| PartitionAssignment {
                    partition_index: i,
                    replicas: vec![i + 1],
                    leader: i + 1,
                    isr: vec![i + 1],
                })
                .collect(),
            configs: BTreeMap::new(),
        }));
        for r in records {
            state.apply(&MetadataRecord::new(r)).expect("applies");
        }
        state
    }

    fn addresses(state: &MetadataState, listener: &str) -> Vec<(BrokerId, String, u16)> {
        (live_brokers(state, listener))
            .map(|(b, e)| (b.id, e.host.clone(), e.port))
            .collect()
    }

    #[test]
    fn every_broker_is_named_by_the_clients_listener() {
        let state = cluster();
        assert_eq!(
            addresses(&state, "EXTERNAL"),
            [
                (1, "kafka-1.example".into(), 19091),
                (2, "kafka-2.example".into(), 19092),
            ],
            "broker 3 has no EXTERNAL listener and is left out"
        );
        let internal: Vec<BrokerId> = (addresses(&state, "INTERNAL").iter())
            .map(|a| a.0)
            .collect();
        assert_eq!(internal, [1, 2, 3]);
        assert!(addresses(&state, "SASL_SSL").is_empty());
    }

    #[test]
    fn a_leader_without_the_listener_is_reported_as_kafka_does() {
        let state = cluster();
        let lnf = ResponseError::ListenerNotFound.code();
        let lna = ResponseError::LeaderNotAvailable.code();
        assert_eq!(partition_leader(&state, 1, "EXTERNAL", 12), (1, NONE));
        assert_eq!(partition_leader(&state, 3, "INTERNAL", 12), (3, NONE));
        assert_eq!(partition_leader(&state, 3, "EXTERNAL", 6), (NO_LEADER, lnf));
        assert_eq!(partition_leader(&state, 3, "EXTERNAL", 5), (NO_LEADER, lna));
        assert_eq!(
            partition_leader(&state, NO_LEADER, "EXTERNAL", 12),
            (NO_LEADER, lna)
        );
        assert_eq!(
            partition_leader(&state, 7, "INTERNAL", 12),
            (NO_LEADER, lna)
        );
    }

    #[test]
    fn a_coordinator_must_be_live_and_have_the_listener() {
        let mut state = cluster();
        let port = |s: &MetadataState, id, l: &str| coordinator(s, id, l).map(|e| e.port);
        assert_eq!(port(&state, 2, "EXTERNAL"), Some(19092));
        assert_eq!(port(&state, 3, "EXTERNAL"), None);
        assert_eq!(port(&state, 3, "INTERNAL"), Some(9092));
        let fence = Record::FenceBroker(chronik_metadata::proto::FenceBroker { broker_id: 2 });
        state.apply(&MetadataRecord::new(fence)).expect("fenced");
        assert_eq!(port(&state, 2, "EXTERNAL"), None);
        assert!(addresses(&state, "EXTERNAL").iter().all(|a| a.0 != 2));
    }
}
