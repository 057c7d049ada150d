//! A metadata quorum for brokers started with `--meta`: one voter, in the test's process.

use std::net::SocketAddr;
use std::time::Duration;

use chronik_metadata::node::{MetaNode, NodeConfig};

use super::wait_until;

/// A single-voter meta node serving gRPC on an ephemeral loopback port, in this process.
pub fn start_meta(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> MetaNode {
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let node = rt
        .block_on(MetaNode::start(NodeConfig::new(
            1,
            listen,
            dir.join("meta"),
        )))
        .expect("start the meta node");
    wait_until(
        "the meta node to elect itself",
        Duration::from_secs(15),
        || rt.block_on(node.ensure_leader()).is_ok(),
    );
    node
}
