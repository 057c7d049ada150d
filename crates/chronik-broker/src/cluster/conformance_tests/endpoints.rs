//! Broker listeners through both quorums: `Cluster::register` sends every listener, a new
//! incarnation's listeners replace the old ones, and malformed ones are refused.

use chronik_metadata::controller::BrokerRegistration;
use chronik_metadata::{BrokerEndpoint, ErrorKind, MetadataState};

use super::{Fixture, incarnation, kind};

fn listener(name: &str, host: &str, port: u16) -> BrokerEndpoint {
    BrokerEndpoint {
        name: name.into(),
        host: host.into(),
        port,
    }
}

fn endpoints_of(s: &MetadataState, id: i32) -> Vec<BrokerEndpoint> {
    s.broker(id)
        .map(|b| b.endpoints.clone())
        .unwrap_or_default()
}

pub(super) async fn every_listener_is_registered(f: Fixture) -> Fixture {
    let listeners = [
        listener("INTERNAL", "127.0.0.1", 9092),
        listener("EXTERNAL", "kafka-1.example", 19092),
    ];
    f.cluster.register(&listeners).await.expect("registered");
    f.cluster.metadata(|s| {
        let broker = s.broker(1).expect("broker 1");
        assert_eq!((broker.host.as_str(), broker.port), ("127.0.0.1", 9092));
        assert_eq!(broker.endpoints, listeners);
    });
    assert!(f.cluster.register(&[]).await.is_err(), "no listener");

    // Broker 2 restarts with another set of listeners: they replace the first set.
    let q = f.quorum();
    let reg = |n: u8, endpoints: Vec<BrokerEndpoint>| BrokerRegistration {
        broker_id: 2,
        incarnation: incarnation(n),
        host: "127.0.0.2".into(),
        port: 9092,
        rack: None,
        endpoints,
    };
    let first = vec![
        listener("INTERNAL", "127.0.0.2", 9092),
        listener("EXTERNAL", "kafka-2.example", 19092),
    ];
    q.register(&reg(1, first.clone()))
        .await
        .expect("registered");
    f.wait_for("broker 2's listeners", |s| endpoints_of(s, 2) == first)
        .await;
    let second = vec![
        listener("INTERNAL", "127.0.0.2", 9092),
        listener("SASL_SSL", "kafka-2.example", 19093),
    ];
    q.register(&reg(2, second.clone())).await.expect("again");
    f.wait_for("broker 2's new listeners", |s| endpoints_of(s, 2) == second)
        .await;

    let twice = vec![
        listener("INTERNAL", "127.0.0.2", 9092),
        listener("INTERNAL", "127.0.0.2", 9093),
    ];
    assert_eq!(
        kind(q.register(&reg(3, twice)).await),
        ErrorKind::InvalidRequest
    );
    let no_port = vec![listener("INTERNAL", "127.0.0.2", 0)];
    assert_eq!(
        kind(q.register(&reg(3, no_port)).await),
        ErrorKind::InvalidRequest
    );
    assert_eq!(f.cluster.metadata(|s| endpoints_of(s, 2)), second);
    f
}
