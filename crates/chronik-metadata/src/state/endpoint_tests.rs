//! Broker listeners (endpoints) in registrations and snapshots.

use super::*;
use crate::ids::MAX_ENDPOINTS;
use crate::proto::*;
use crate::testing::*;

fn endpoint(name: &str, host: &str, port: u16) -> BrokerEndpoint {
    BrokerEndpoint {
        name: name.into(),
        host: host.into(),
        port,
    }
}

#[test]
fn a_registration_keeps_every_listener_in_order() {
    let mut state = MetadataState::new();
    let listeners = [
        ("INTERNAL", "10.0.0.1", 9092),
        ("EXTERNAL", "kafka-1.example", 19092),
        ("SASL_SSL", "kafka-1.example", 19093),
    ];
    apply_all(&mut state, &[register_listeners(1, 1, &listeners)]);
    let broker = state.broker(1).expect("registered");
    assert_eq!((broker.host.as_str(), broker.port), ("10.0.0.1", 9092));
    assert_eq!(
        broker.endpoints,
        [
            endpoint("INTERNAL", "10.0.0.1", 9092),
            endpoint("EXTERNAL", "kafka-1.example", 19092),
            endpoint("SASL_SSL", "kafka-1.example", 19093),
        ]
    );
    assert_eq!(
        broker.endpoint("EXTERNAL").map(|e| e.port),
        Some(19092),
        "found by name"
    );
    assert!(broker.endpoint("PLAINTEXT").is_none());
}

#[test]
fn a_registration_without_endpoints_is_one_plaintext_listener() {
    let mut state = MetadataState::new();
    apply_all(&mut state, &[register(4)]);
    let broker = state.broker(4).expect("registered");
    assert_eq!(
        broker.endpoints,
        [endpoint(DEFAULT_LISTENER, "broker-4.local", 9092)]
    );
    // And so does a snapshot written before brokers registered their listeners.
    let mut old = state.to_snapshot();
    old.brokers[0].endpoints.clear();
    let restored = MetadataState::from_snapshot(&old).expect("an old snapshot loads");
    assert_eq!(restored, state);
}

#[test]
fn a_new_incarnation_replaces_the_listeners() {
    let mut state = MetadataState::new();
    let first = [("INTERNAL", "10.0.0.1", 9092), ("EXTERNAL", "a.example", 1)];
    let second = [("INTERNAL", "10.0.0.9", 9092), ("SASL_SSL", "b.example", 2)];
    apply_all(&mut state, &[register_listeners(1, 1, &first), unfence(1)]);
    apply_all(&mut state, &[register_listeners(1, 2, &second)]);
    let broker = state.broker(1).expect("registered");
    assert_eq!(
        broker.endpoints,
        [
            endpoint("INTERNAL", "10.0.0.9", 9092),
            endpoint("SASL_SSL", "b.example", 2),
        ]
    );
    assert!(broker.endpoint("EXTERNAL").is_none() && broker.fenced);
}

#[test]
fn bad_listeners_change_nothing() {
    let mut state = cluster(2);
    let good = ("INTERNAL", "10.0.0.1", 9092);
    let long_host = "h".repeat(300);
    let too_many: Vec<(String, &str, u32)> = (0..=MAX_ENDPOINTS)
        .map(|i| (format!("L{i}"), "h", 1))
        .collect();
    let too_many: Vec<(&str, &str, u32)> = (too_many.iter())
        .map(|(n, h, p)| (n.as_str(), *h, *p))
        .collect();
    let cases: Vec<Vec<(&str, &str, u32)>> = vec![
        vec![good, ("", "h", 1)],
        vec![good, ("EXTERNAL", "", 1)],
        vec![good, ("EXTERNAL", &long_host, 1)],
        vec![good, ("EXTERNAL", "h", 0)],
        vec![good, ("EXTERNAL", "h", 70_000)],
        vec![good, ("INTERNAL", "other", 9093)],
        vec![good, ("EXT\nERNAL", "h", 1)],
        too_many,
    ];
    for listeners in cases {
        // Broker 1 is live with one registration; none of these may replace it.
        let err = reject(&mut state, register_listeners(1, 9, &listeners));
        assert!(
            matches!(err, crate::StateError::InvalidBroker { broker: 1, .. }),
            "{listeners:?}: {err}"
        );
    }
    // The same in a snapshot: refused as a whole.
    let mut snapshot = state.to_snapshot();
    snapshot.brokers[0].endpoints = vec![
        Endpoint {
            name: "A".into(),
            host: "h".into(),
            port: 1,
        };
        2
    ];
    assert!(MetadataState::from_snapshot(&snapshot).is_err());
}

#[test]
fn listeners_survive_snapshots() {
    let state = populated_state();
    let broker = state.broker(1).expect("broker 1");
    assert_eq!(broker.endpoints.len(), 2, "sample_records gives it two");
    let restored =
        MetadataState::from_snapshot_bytes(&state.to_snapshot_bytes()).expect("restores");
    assert_eq!(restored.broker(1), Some(broker));
}
