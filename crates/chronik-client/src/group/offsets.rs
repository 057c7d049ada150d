//! A group's committed offsets without joining it: Kafka's "simple consumer" commits
//! (generation -1, no member id), which coordinators accept for groups that have no members,
//! and OffsetFetch. Tools and benchmarks use it; a consumer in a group uses [`GroupConsumer`].
//!
//! [`GroupConsumer`]: super::GroupConsumer

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::rpc::{self, Coordinator};
use crate::Result;
use crate::cluster::Client;

/// Talks to one group's coordinator, as found when created (no retries: the caller decides
/// what a refusal means, e.g. COORDINATOR_LOAD_IN_PROGRESS right after a restart).
pub struct GroupOffsets {
    coord: Coordinator,
}

impl GroupOffsets {
    /// Finds `group`'s coordinator (FindCoordinator).
    pub async fn find(client: &Client, group: &str) -> Result<Self> {
        let addr = rpc::find_coordinator(client, group).await?;
        Ok(Self {
            coord: Coordinator {
                client: client.clone(),
                addr,
                group: group.to_owned(),
            },
        })
    }

    pub fn coordinator(&self) -> SocketAddr {
        self.coord.addr
    }

    /// Commits `offsets` (partition → next offset to read) of `topic` as no member: refused
    /// by the coordinator when the group has members.
    pub async fn commit(&self, topic: &str, offsets: &BTreeMap<i32, i64>) -> Result<()> {
        self.coord.commit(-1, "", topic, offsets).await
    }

    /// The committed offsets of `partitions` of `topic`; partitions without one are absent.
    pub async fn fetch(&self, topic: &str, partitions: &[i32]) -> Result<BTreeMap<i32, i64>> {
        self.coord.fetch_offsets(topic, partitions).await
    }
}
