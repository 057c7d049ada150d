//! The controller: writes computed by `crate::controller` and proposed through Raft, broker
//! sessions, and the leader-only loop that fences expired brokers and restores preferred
//! leaders.
//!
//! Writes are serialized by one lock held until their records apply, so each decision sees
//! every earlier one (the controller module's requirement).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chronik_raft::{MembershipChange, Role};
use prost::Message as _;
use tokio::time::Instant;

use super::sessions::{Sessions, StreamId};
use super::{MetaNode, NodeError};
use crate::controller::{self, AlterPartitionRequest, BrokerRegistration, NewTopic};
use crate::grpc::pb::{ApplyResult, NodeCommand, VoterAddress};
use crate::proto::{RemoteLogStartChange, RemoteSegmentChange};
use crate::{BrokerId, ConfigResource, MetadataState, QuotaEntity, Record, TopicId, Uuid};

const LOOP_PERIOD: Duration = Duration::from_millis(200);
/// Longest wait for a proposal to apply (a leader cut off from its quorum never commits);
/// bounded so one stuck write cannot hold the write lock for ever.
const PROPOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a broker whose session stream closed keeps its session (at most the session
/// itself): time for a live broker that merely lost the stream to attach again.
const DETACH_GRACE: Duration = Duration::from_millis(200);

/// A broker's session stream, held open on this node while it leads `term`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionHold {
    pub broker: BrokerId,
    pub incarnation: Uuid,
    pub term: u64,
    stream: StreamId,
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
    /// Replicas per partition chosen by the operator; empty: the controller places them.
    pub assignment: Vec<Vec<BrokerId>>,
}

impl MetaNode {
    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        (self.inner.sessions.lock()).unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Session length brokers must heartbeat within.
    pub fn session_timeout(&self) -> Duration {
        self.sessions().timeout()
    }

    /// Fails with [`NodeError::NotLeader`] (naming the leader) unless this node leads.
    pub async fn ensure_leader(&self) -> Result<(), NodeError> {
        self.leading_term().await.map(|_| ())
    }

    /// The term this node leads; [`NodeError::NotLeader`] (naming the leader) unless it leads.
    async fn leading_term(&self) -> Result<u64, NodeError> {
        let status = self.inner.raft.status().await?;
        if status.role == Role::Leader {
            return Ok(status.term);
        }
        let leader_address = status.leader_id.and_then(|id| self.leader_address(id));
        Err(NodeError::NotLeader {
            leader_id: status.leader_id,
            leader_address,
        })
    }

    /// The address of voter `id`, as replicated or configured.
    pub fn leader_address(&self, id: u64) -> Option<String> {
        if id == self.inner.id {
            return Some(self.inner.address.clone());
        }
        (self.inner.shared.voter_addresses().remove(&id))
            .or_else(|| self.inner.transport.peers().remove(&id))
    }

    /// Proposes `command` and waits until it applied; the per-record errors come back.
    pub(super) async fn propose(&self, command: NodeCommand) -> Result<ApplyResult, NodeError> {
        let proposal = self.inner.raft.propose(command.encode_to_vec());
        let result = tokio::time::timeout(PROPOSE_TIMEOUT, proposal)
            .await
            .map_err(|_| NodeError::ProposalTimeout(PROPOSE_TIMEOUT))??;
        ApplyResult::decode(result.as_slice())
            .map_err(|e| NodeError::Rejected(format!("apply result does not decode: {e}")))
    }

    /// Registers (or re-registers) a broker; it starts fenced and is unfenced by a heartbeat.
    pub async fn register_broker(&self, reg: BrokerRegistration) -> Result<(), NodeError> {
        let id = reg.broker_id;
        let live_other = self.inner.shared.metadata(|s| {
            s.broker(id)
                .is_some_and(|b| b.incarnation != reg.incarnation && !b.fenced)
        });
        if live_other && self.sessions().live(id, Instant::now()) {
            return Err(NodeError::DuplicateRegistration(id));
        }
        self.decide(|s| controller::register_broker(s, &reg))
            .await?;
        self.heard_from(id).await?;
        Ok(())
    }

    /// Whether `broker` is fenced, once this node is known to lead and `incarnation` to be
    /// the broker's current one.
    async fn check_incarnation(
        &self,
        broker: BrokerId,
        incarnation: Uuid,
    ) -> Result<bool, NodeError> {
        self.ensure_leader().await?;
        let known =
            (self.inner.shared).metadata(|s| s.broker(broker).map(|b| (b.incarnation, b.fenced)));
        let Some((current, fenced)) = known else {
            return Err(crate::ControllerError::UnknownBroker(broker).into());
        };
        if current != incarnation {
            return Err(NodeError::StaleIncarnation(broker));
        }
        Ok(fenced)
    }

    /// Renews a broker's session; a fenced broker is unfenced. Returns whether it is fenced.
    pub async fn heartbeat(&self, broker: BrokerId, incarnation: Uuid) -> Result<bool, NodeError> {
        let fenced = self.check_incarnation(broker, incarnation).await?;
        self.heard_from(broker).await?;
        if fenced {
            // A decommissioned broker stays fenced: its heartbeat is answered "fenced".
            match self.decide(|s| controller::unfence_broker(s, broker)).await {
                Ok(_)
                | Err(NodeError::Controller(
                    crate::ControllerError::BrokerNotFenced(_)
                    | crate::ControllerError::BrokerDecommissioned(_),
                )) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self
            .inner
            .shared
            .metadata(|s| s.broker(broker).is_none_or(|b| b.fenced)))
    }

    /// Controlled shutdown: fences a live broker at its own request, which moves its
    /// leaderships to other in-sync replicas now rather than after its session expires.
    pub async fn shutdown_broker(
        &self,
        broker: BrokerId,
        incarnation: Uuid,
    ) -> Result<(), NodeError> {
        self.check_incarnation(broker, incarnation).await?;
        match self.decide(|s| controller::fence_broker(s, broker)).await {
            Ok(_) | Err(NodeError::Controller(crate::ControllerError::BrokerAlreadyFenced(_))) => {}
            Err(e) => return Err(e),
        }
        self.sessions().forget(broker);
        Ok(())
    }

    /// A broker opened its session stream: renews its session, and from now on the stream's
    /// closing ([`MetaNode::detach_session`]) cuts it short.
    pub async fn attach_session(
        &self,
        broker: BrokerId,
        incarnation: Uuid,
    ) -> Result<SessionHold, NodeError> {
        self.check_incarnation(broker, incarnation).await?;
        let term = self.leading_term().await?;
        let stream = self.inner.next_stream.fetch_add(1, Ordering::Relaxed);
        (self.sessions()).attached(term, broker, stream, Instant::now());
        Ok(SessionHold {
            broker,
            incarnation,
            term,
            stream,
        })
    }

    /// The broker's session stream closed: unless the broker attaches again or heartbeats
    /// within a short grace, the controller fences it then.
    pub fn detach_session(&self, hold: &SessionHold) {
        let current = (self.inner.shared)
            .metadata(|s| s.broker(hold.broker).map(|b| b.incarnation))
            == Some(hold.incarnation);
        let grace = DETACH_GRACE.min(self.session_timeout());
        let cut = current
            && (self.sessions()).detached(
                hold.term,
                hold.broker,
                hold.stream,
                Instant::now(),
                grace,
            );
        if !cut {
            return;
        }
        tracing::info!(
            broker = hold.broker,
            "broker's session stream closed; its session ends in {grace:?} unless it comes back"
        );
        let node = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            node.inner.session_check.notify_one();
        });
    }

    /// Fails with [`NodeError::NotLeader`] unless this node still leads the term `hold` was
    /// attached in; leading a later term names this node, where the broker attaches anew.
    pub async fn ensure_leads(&self, hold: &SessionHold) -> Result<(), NodeError> {
        match self.leading_term().await? {
            term if term == hold.term => Ok(()),
            _ => Err(NodeError::NotLeader {
                leader_id: Some(self.inner.id),
                leader_address: Some(self.inner.address.clone()),
            }),
        }
    }

    /// Renews `broker`'s session in the term this node leads; fails unless it leads.
    async fn heard_from(&self, broker: BrokerId) -> Result<(), NodeError> {
        let term = self.leading_term().await?;
        (self.sessions()).heard_from(term, broker, Instant::now());
        Ok(())
    }

    /// Fences the live brokers whose session in `term` ran out. Each is judged again inside
    /// its decision, so a heartbeat that arrives while an earlier fence is being committed,
    /// or a leadership change meanwhile, spares it.
    async fn fence_expired(&self, term: u64) {
        let live: Vec<BrokerId> =
            (self.inner.shared).metadata(|s| s.live_brokers().map(|b| b.id).collect());
        let expired = self.sessions().expired_of(term, live, Instant::now());
        for broker in expired {
            // A leader that cannot hear its peers probably cannot hear the brokers either:
            // the silence is its own, and it is about to step down.
            let leads = (self.inner.raft.status().await)
                .is_ok_and(|s| s.role == Role::Leader && s.term == term && s.quorum_active);
            if !leads || !self.sessions().expired(term, broker, Instant::now()) {
                continue;
            }
            tracing::info!(broker, term, "broker session expired; fencing it");
            let decision = |s: &MetadataState| {
                if self.sessions().expired(term, broker, Instant::now()) {
                    controller::fence_broker(s, broker)
                } else {
                    Ok(Vec::new())
                }
            };
            if let Err(e) = self.decide(decision).await {
                tracing::warn!(broker, error = %e, "fencing failed");
            }
        }
    }

    /// Creates a topic with a fresh random id; returns the id.
    pub async fn create_topic(&self, spec: NewTopicSpec) -> Result<TopicId, NodeError> {
        let topic_id = Uuid(rand::random::<[u8; 16]>());
        let req = NewTopic {
            name: spec.name,
            topic_id,
            partitions: spec.partitions,
            replication_factor: spec.replication_factor,
            configs: spec.configs,
            assignment: spec.assignment,
        };
        self.decide(|s| controller::create_topic(s, &req)).await?;
        Ok(topic_id)
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), NodeError> {
        self.decide(|s| controller::delete_topic(s, name))
            .await
            .map(drop)
    }

    /// Grows topic `name` to `total` partitions, placed by the controller or as `assignment`
    /// (replicas of each new partition) says.
    pub async fn create_partitions(
        &self,
        name: &str,
        total: i32,
        assignment: &[Vec<BrokerId>],
    ) -> Result<(), NodeError> {
        (self
            .decide(|s| controller::create_partitions(s, name, total, assignment))
            .await)
            .map(drop)
    }

    /// Sets and deletes configs of `resource`; with `expected`, only while its configs are
    /// exactly those.
    pub async fn change_configs(
        &self,
        resource: &ConfigResource,
        set: &BTreeMap<String, String>,
        delete: &[String],
        expected: Option<&BTreeMap<String, String>>,
    ) -> Result<(), NodeError> {
        (self.decide(|s| controller::change_configs(s, resource, set, delete, expected)))
            .await
            .map(drop)
    }

    /// Sets the client quotas `set` of `entity` and removes those named in `remove`.
    pub async fn alter_client_quota(
        &self,
        entity: &QuotaEntity,
        set: &BTreeMap<String, f64>,
        remove: &[String],
    ) -> Result<(), NodeError> {
        (self.decide(|s| controller::alter_client_quota(s, entity, set, remove)))
            .await
            .map(drop)
    }

    /// Upserts or deletes one SCRAM credential (see [`controller::alter_scram_credential`]).
    pub async fn alter_scram_credential(
        &self,
        alteration: &crate::ScramAlteration,
    ) -> Result<(), NodeError> {
        (self.decide(|s| controller::alter_scram_credential(s, alteration)))
            .await
            .map(drop)
    }

    /// Creates one ACL (see [`controller::create_acl`]); one that exists is left as it is.
    pub async fn create_acl(&self, acl: &chronik_auth::acl::AclBinding) -> Result<(), NodeError> {
        (self.decide(|s| controller::create_acl(s, acl)))
            .await
            .map(drop)
    }

    /// Deletes every ACL `filters` match, in one Raft entry; returns each filter's matches
    /// (see [`controller::delete_acls`]). They are computed against the state the deletion
    /// applies to, so each listed ACL is one this call removed.
    pub async fn delete_acls(
        &self,
        filters: &[chronik_auth::acl::AclFilter],
    ) -> Result<Vec<Vec<chronik_auth::acl::AclBinding>>, NodeError> {
        let mut matched = Vec::new();
        (self.decide(|s| {
            let deletion = controller::delete_acls(s, filters)?;
            matched = deletion.matched;
            Ok(deletion.records)
        }))
        .await?;
        Ok(matched)
    }

    /// The next step of moving a partition's replicas to `target` (see
    /// [`controller::reassign_partition`]); repeat until it answers `Done`.
    pub async fn reassign_partition(
        &self,
        topic: &str,
        partition: i32,
        target: Vec<BrokerId>,
    ) -> Result<controller::ReassignStep, NodeError> {
        let mut step = controller::ReassignStep::CatchingUp;
        self.decide(|s| {
            let (records, next) = controller::reassign_partition(s, topic, partition, &target)?;
            step = next;
            Ok(records)
        })
        .await?;
        Ok(step)
    }

    /// Starts moving `topic`'s `partition` to `target` (replacing a running reassignment), or
    /// with no target cancels the running one; the controller loop finishes it once in sync.
    pub async fn alter_reassignment(
        &self,
        topic: &str,
        partition: i32,
        target: Option<&[BrokerId]>,
    ) -> Result<(), NodeError> {
        self.decide(|s| match target {
            Some(t) => controller::start_reassignment(s, topic, partition, t),
            None => controller::cancel_reassignment(s, topic, partition),
        })
        .await
        .map(drop)
    }

    /// Starts (or with `cancel` stops) decommissioning `broker`; the controller loop does the
    /// moves.
    pub async fn decommission_broker(
        &self,
        broker: BrokerId,
        cancel: bool,
    ) -> Result<(), NodeError> {
        (self.decide(|s| controller::decommission_broker(s, broker, cancel)))
            .await
            .map(drop)
    }

    /// Runs an operator's leader election (see [`controller::elect_leaders`]) and returns each
    /// partition's outcome once the new leaders are committed.
    pub async fn elect_leaders(
        &self,
        kind: controller::ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<controller::ElectionResult>, NodeError> {
        let mut results = Vec::new();
        self.decide(|s| {
            let (records, outcomes) = controller::elect_leaders(s, kind, partitions.as_deref());
            results = outcomes;
            Ok(records)
        })
        .await?;
        Ok(results)
    }

    /// Applies an ISR change asked for by a partition leader.
    pub async fn alter_partition(&self, req: AlterPartitionRequest) -> Result<(), NodeError> {
        self.decide(|s| controller::alter_partition(s, &req))
            .await
            .map(drop)
    }

    /// Records a step of one remote segment copy for partition leader `broker`.
    pub async fn change_remote_segment(
        &self,
        broker: BrokerId,
        change: RemoteSegmentChange,
    ) -> Result<(), NodeError> {
        self.decide(|s| controller::change_remote_segment(s, broker, &change))
            .await
            .map(drop)
    }

    /// Moves a partition's log start over both tiers forward for its leader `broker`.
    pub async fn move_remote_log_start(
        &self,
        broker: BrokerId,
        change: RemoteLogStartChange,
    ) -> Result<(), NodeError> {
        self.decide(|s| controller::move_remote_log_start(s, broker, &change))
            .await
            .map(drop)
    }

    /// Hands `broker` a block of producer ids: (first id, count).
    pub async fn allocate_producer_ids(&self, broker: BrokerId) -> Result<(i64, i32), NodeError> {
        let records = self
            .decide(|s| controller::allocate_producer_ids(s, broker))
            .await?;
        records
            .iter()
            .find_map(|r| match r.payload() {
                Ok(Record::AllocateProducerIds(a)) => Some((a.first_id, a.count)),
                _ => None,
            })
            .ok_or_else(|| NodeError::Rejected("no producer id block was allocated".into()))
    }

    /// Adds a voter: its address is replicated first, so every voter can reach it.
    pub async fn add_voter(&self, id: u64, address: &str) -> Result<Vec<u64>, NodeError> {
        if address.is_empty() {
            return Err(NodeError::Config("a new voter needs an address".into()));
        }
        let _serial = self.inner.write_lock.lock().await;
        self.ensure_leader().await?;
        self.propose(voter_address(id, address)).await?;
        let conf = (self.inner.raft)
            .change_membership(MembershipChange::AddVoter(id))
            .await?;
        Ok(conf.voters)
    }

    /// Removes a voter, then forgets its address.
    pub async fn remove_voter(&self, id: u64) -> Result<Vec<u64>, NodeError> {
        let _serial = self.inner.write_lock.lock().await;
        self.ensure_leader().await?;
        let conf = (self.inner.raft)
            .change_membership(MembershipChange::RemoveVoter(id))
            .await?;
        if id != self.inner.id
            && let Err(e) = self.propose(voter_address(id, "")).await
        {
            tracing::warn!(voter = id, error = %e, "removed voter's address not forgotten");
        }
        Ok(conf.voters)
    }

    /// One pass of the leader's housekeeping.
    async fn control_once(&self, last_preferred: &mut Instant) {
        let Ok(status) = self.inner.raft.status().await else {
            return;
        };
        self.record_metrics(&status);
        if status.role != Role::Leader {
            self.sessions().not_leading();
            return;
        }
        self.sessions().leading(status.term, Instant::now());
        self.fence_expired(status.term).await;
        let auto_balance = self.inner.auto_balance;
        let step = |s: &MetadataState| controller::replica_steps(s, auto_balance);
        // Checked on the applied state first: most passes have nothing to do.
        if !(self.inner.shared).metadata(|s| step(s).is_empty()) {
            match self.decide(|s| Ok(step(s))).await {
                Ok(records) if !records.is_empty() => {
                    tracing::info!(changes = records.len(), "replica reassignment advanced")
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "replica reassignment step skipped"),
            }
        }
        let now = Instant::now();
        if now.duration_since(*last_preferred) >= self.inner.preferred_leader_interval {
            *last_preferred = now;
            let elect = |s: &MetadataState| Ok(controller::preferred_leader_elections(s));
            match self.decide(elect).await {
                Ok(records) if !records.is_empty() => {
                    tracing::info!(changes = records.len(), "preferred leaders restored")
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "preferred leader election skipped"),
            }
        }
    }
}

impl MetaNode {
    /// Publishes Raft and cluster gauges (no-ops unless the binary installed a recorder).
    fn record_metrics(&self, status: &chronik_raft::ReplicaStatus) {
        let leader = status.leader_id.unwrap_or(0);
        // Taking the handle registers the counter, so it is scraped as 0 before any change.
        let leader_changes = metrics::counter!("chronik_meta_raft_leader_changes_total");
        if self.inner.last_leader.swap(leader, Ordering::Relaxed) != leader {
            leader_changes.increment(1);
        }
        metrics::gauge!("chronik_meta_raft_term").set(status.term as f64);
        metrics::gauge!("chronik_meta_raft_commit_index").set(status.commit_index as f64);
        metrics::gauge!("chronik_meta_raft_applied_index").set(status.applied_index as f64);
        metrics::gauge!("chronik_meta_raft_voters").set(status.voters.len() as f64);
        let is_leader = if status.role == Role::Leader {
            1.0
        } else {
            0.0
        };
        metrics::gauge!("chronik_meta_raft_is_leader").set(is_leader);
        let (live, fenced, topics, partitions, urp, offline) = self.inner.shared.metadata(|s| {
            let live = s.live_brokers().count();
            let total = s.brokers().count();
            (
                live,
                total - live,
                s.topics().count(),
                s.total_partitions(),
                s.under_replicated_partitions().count(),
                s.offline_partitions().count(),
            )
        });
        metrics::gauge!("chronik_meta_brokers", "state" => "live").set(live as f64);
        metrics::gauge!("chronik_meta_brokers", "state" => "fenced").set(fenced as f64);
        metrics::gauge!("chronik_meta_topics").set(topics as f64);
        metrics::gauge!("chronik_meta_partitions").set(partitions as f64);
        metrics::gauge!("chronik_meta_under_replicated_partitions").set(urp as f64);
        metrics::gauge!("chronik_meta_offline_partitions").set(offline as f64);
    }
}

fn voter_address(id: u64, address: &str) -> NodeCommand {
    NodeCommand {
        records: Vec::new(),
        voter_address: Some(VoterAddress {
            id,
            address: address.to_owned(),
        }),
    }
}

/// The controller loop: acts only while this node leads; ends when the node stops.
pub(crate) async fn run(node: MetaNode) {
    let mut last_preferred = Instant::now();
    let mut ticker = tokio::time::interval(LOOP_PERIOD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = node.stopping() => return,
            _ = ticker.tick() => node.control_once(&mut last_preferred).await,
            _ = node.inner.session_check.notified() => node.control_once(&mut last_preferred).await,
        }
    }
}
