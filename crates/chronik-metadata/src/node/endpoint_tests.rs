//! Broker listeners through a real meta node: registered over gRPC, shown by Status, refused
//! when malformed, and kept across snapshots and restarts.

use super::tests::{WAIT, leader_of};
use super::{MetaNode, NodeConfig};
use crate::grpc::pb::{Endpoint, RegisterBrokerRequest, StatusRequest};
use crate::grpc::{ClientError, connect};
use crate::{BrokerEndpoint, ErrorKind};

async fn start(dir: &std::path::Path) -> MetaNode {
    let listen = "127.0.0.1:0".parse().expect("addr");
    let mut cfg = NodeConfig::new(1, listen, dir.to_path_buf());
    // A snapshot every 2 entries: the registrations end up in snapshots, not the log.
    cfg.snapshot_entries = 2;
    let node = MetaNode::start(cfg).await.expect("start");
    leader_of(std::slice::from_ref(&node)).await;
    node
}

fn request(id: i32, incarnation: u8, listeners: &[(&str, u32)]) -> RegisterBrokerRequest {
    RegisterBrokerRequest {
        broker_id: id,
        incarnation_id: vec![incarnation; 16],
        host: "127.0.0.1".into(),
        port: listeners.first().map_or(9092, |l| l.1),
        rack: None,
        endpoints: (listeners.iter())
            .map(|(name, port)| Endpoint {
                name: (*name).into(),
                host: format!("{}.example", name.to_lowercase()),
                port: *port,
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_are_registered_shown_and_survive_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = start(dir.path()).await;
    let address = node.local_addr().to_string();
    let mut client = connect(&address, None, WAIT).await.expect("connect");
    for id in 1..=3 {
        let listeners = [
            ("INTERNAL", 9000 + id as u32),
            ("EXTERNAL", 19000 + id as u32),
        ];
        (client.register_broker(request(id, 1, &listeners)).await).expect("registered");
    }
    // Broker 3 restarted with a different set: the new incarnation's listeners replace them.
    let restarted = [("INTERNAL", 9003), ("SASL_SSL", 29003)];
    (client.register_broker(request(3, 2, &restarted)).await).expect("registered again");
    // Broker 4 registers the way brokers did before listeners: one PLAINTEXT listener.
    (client.register_broker(request(4, 1, &[])).await).expect("registered without listeners");

    // A name used twice is refused with the reason, and changes nothing.
    let before = node.state().metadata(|s| s.to_snapshot_bytes());
    let twice = request(5, 1, &[("INTERNAL", 9005), ("INTERNAL", 9006)]);
    let refused = client.register_broker(twice).await.expect_err("refused");
    assert!(refused.message().contains("INTERNAL"), "{refused:?}");
    let kind = ClientError::Status(refused).into_node_error().kind();
    assert_eq!(kind, ErrorKind::InvalidRequest);
    assert_eq!(node.state().metadata(|s| s.to_snapshot_bytes()), before);

    let status = (client.status(StatusRequest {}).await).expect("status");
    let shown: Vec<(i32, Vec<String>)> = (status.into_inner().brokers.iter())
        .map(|b| (b.id, b.endpoints.iter().map(|e| e.name.clone()).collect()))
        .collect();
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        shown,
        [
            (1, names(&["INTERNAL", "EXTERNAL"])),
            (2, names(&["INTERNAL", "EXTERNAL"])),
            (3, names(&["INTERNAL", "SASL_SSL"])),
            (4, names(&["PLAINTEXT"])),
        ]
    );

    let endpoints = |node: &MetaNode| {
        node.state().metadata(|s| {
            (s.brokers())
                .map(|b| b.endpoints.clone())
                .collect::<Vec<_>>()
        })
    };
    let kept = endpoints(&node);
    drop(client);
    node.shutdown().await;
    drop(node);
    let node = start(dir.path()).await;
    assert_eq!(endpoints(&node), kept);
    assert_eq!(
        kept[2][1],
        BrokerEndpoint {
            name: "SASL_SSL".into(),
            host: "sasl_ssl.example".into(),
            port: 29003,
        }
    );
    node.shutdown().await;
}
