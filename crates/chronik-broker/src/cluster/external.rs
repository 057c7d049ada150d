//! An external metadata quorum (`--meta ADDR,...`): writes go to its leader over gRPC, and a
//! local [`Image`] of the metadata follows its committed records through `Watch`
//! (docs/architecture.md, "Metadata change").

mod acls;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chronik_auth::acl::{AclBinding, AclFilter};
use chronik_metadata::ErrorKind;
use chronik_metadata::controller::{BrokerRegistration, ElectionResult, ElectionType};
use chronik_metadata::grpc::pb::controller_client::ControllerClient;
use chronik_metadata::grpc::pb::{
    AllocateProducerIdsRequest, AlterBrokerConfigsRequest, AlterClientQuotasRequest,
    AlterPartitionRequest, AlterReassignmentsRequest, AlterScramCredentialsRequest,
    AlterTopicConfigsRequest, BrokerConfigChange, CreatePartitionsRequest, CreateTopicsRequest,
    DeleteTopicsRequest, ElectLeadersRequest, ExpectedConfigs, HeartbeatRequest, ItemResult,
    PartitionCount, PartitionReassignment, ReplicaAssignment, ShutdownBrokerRequest, StatusRequest,
    TopicConfigChange, TopicPartitionRef, TopicSpec,
};
use chronik_metadata::grpc::{
    ClientError, ClusterTls, MetaClient, client_quota_change, election_result,
    register_broker_request, scram_alteration_request,
};
use chronik_metadata::grpc::{change_remote_segment_request, move_remote_log_start_request};
use chronik_metadata::node::{NewTopicSpec, NodeError};
use chronik_metadata::proto::{RemoteLogStartChange, RemoteSegmentChange};
use chronik_metadata::{
    BrokerId, ConfigResource, MetadataState, QuotaEntity, QuotaValue, ScramAlteration, Uuid,
};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use super::image::{Image, follow};
use super::quorum::{MetadataQuorum, QuorumStatus, ReassignmentChange, VoterStatus, view_shows};

/// How long one call may take, and a call including leader changes.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(5);
pub(super) const TOTAL_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a write waits for the local image to show it.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(20);
/// The shortest a heartbeat attempt may take before another meta node is tried.
const MIN_HEARTBEAT_ATTEMPT: Duration = Duration::from_millis(100);
/// Pause between registration attempts while a previous incarnation's session is live.
const REGISTER_RETRY: Duration = Duration::from_millis(500);

/// Connection to an external quorum.
pub(crate) struct ExternalQuorum {
    /// Calls the leader; one call at a time keeps the leader hint consistent.
    client: Mutex<MetaClient>,
    /// Heartbeats have a client of their own, so a slow write cannot delay them past the
    /// session timeout.
    heartbeats: Mutex<MetaClient>,
    /// Opens the session stream; its own client, as the stream outlives the call.
    session_stream: Mutex<MetaClient>,
    image: Arc<Image>,
    watcher: JoinHandle<()>,
    cluster_id: String,
    /// The controller's broker session, in ms, as its heartbeat answers last said.
    session_timeout_ms: AtomicU64,
}

impl Drop for ExternalQuorum {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl ExternalQuorum {
    /// Reaches the quorum, starts following its records and waits until the local image has
    /// caught up with what its leader has applied.
    pub async fn connect(
        addresses: &[String],
        tls: Option<ClusterTls>,
    ) -> Result<ExternalQuorum, NodeError> {
        let client_of = || MetaClient::new(addresses.iter().cloned()).with_tls(tls.clone());
        let mut client = client_of().with_timeouts(CALL_TIMEOUT, TOTAL_TIMEOUT);
        let status = (client.call(|mut c| async move { c.status(StatusRequest {}).await }))
            .await
            .map_err(ClientError::into_node_error)?;
        let image = Arc::new(Image::new());
        let watcher = tokio::spawn(follow(client_of(), image.clone()));
        let heartbeats = client_of();
        let session_stream = client_of().with_timeouts(CALL_TIMEOUT, TOTAL_TIMEOUT);
        let quorum = ExternalQuorum {
            client: Mutex::new(client),
            heartbeats: Mutex::new(heartbeats),
            session_stream: Mutex::new(session_stream),
            image,
            watcher,
            cluster_id: status.cluster_id,
            session_timeout_ms: AtomicU64::new(session_ms(status.session_timeout_ms)),
        };
        // The first event of a watch from 0 is a snapshot taken after the status call.
        let mut events = quorum.image.subscribe();
        let first = events.wait_for(|n| *n > 0);
        if !matches!(
            tokio::time::timeout(CATCH_UP_TIMEOUT, first).await,
            Ok(Ok(_))
        ) {
            return Err(NodeError::Unreachable(format!(
                "no metadata arrived from the quorum within {CATCH_UP_TIMEOUT:?}"
            )));
        }
        tracing::info!(cluster_id = %quorum.cluster_id, leader = status.leader_address,
            "following the external metadata quorum");
        Ok(quorum)
    }

    /// Waits until the local image satisfies `done`: a write is answered by the leader once
    /// applied there, and the image (fed by a watch, possibly of another node) shows it a
    /// moment later. Waiting for what the write changed lets the caller read its own write.
    async fn wait_for_image(
        &self,
        what: &str,
        done: impl Fn(&MetadataState) -> bool,
    ) -> Result<(), NodeError> {
        match view_shows(self, done, CATCH_UP_TIMEOUT).await {
            true => Ok(()),
            false => Err(NodeError::Unreachable(format!(
                "the quorum accepted the change, but this broker's metadata did not show {what} \
                 within {CATCH_UP_TIMEOUT:?}"
            ))),
        }
    }

    async fn register_once(&self, reg: &BrokerRegistration) -> Result<(), NodeError> {
        let req = register_broker_request(reg);
        self.call(|mut c| {
            let req = req.clone();
            async move { c.register_broker(req).await }
        })
        .await
        .map(drop)
    }

    /// One call to the quorum's leader through the shared client.
    async fn call<R, F, Fut>(&self, call: F) -> Result<R, NodeError>
    where
        F: FnMut(ControllerClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    {
        let mut client = self.client.lock().await;
        (client.call(call).await).map_err(ClientError::into_node_error)
    }

    /// The first refusal among `results`, else waits for the local image to show the write.
    async fn finish_write(
        &self,
        results: Vec<ItemResult>,
        what: &str,
        done: impl Fn(&MetadataState) -> bool,
    ) -> Result<(), NodeError> {
        if let Some(refused) = results.into_iter().find(|r| r.error != 0) {
            return Err(refusal(refused));
        }
        self.wait_for_image(what, done).await
    }
}

#[async_trait::async_trait]
impl MetadataQuorum for ExternalQuorum {
    fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.session_timeout_ms.load(Ordering::Relaxed))
    }

    fn offsets_replication(&self, configured: i16) -> i16 {
        configured
    }

    fn with_metadata(&self, f: &mut dyn FnMut(&MetadataState)) {
        self.image.metadata(f)
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.image.subscribe()
    }

    /// A previous incarnation of this broker (before a restart) keeps its session until it
    /// expires, so a duplicate registration is retried until then; another live broker with
    /// the same id keeps refusing us, and we give up.
    async fn register(&self, reg: &BrokerRegistration) -> Result<(), NodeError> {
        let deadline = tokio::time::Instant::now() + self.session_timeout() * 3;
        loop {
            match self.register_once(reg).await {
                Err(e)
                    if e.kind() == ErrorKind::DuplicateRegistration
                        && tokio::time::Instant::now() < deadline =>
                {
                    tracing::info!(
                        broker = reg.broker_id,
                        "waiting for this broker's previous session to expire"
                    );
                    tokio::time::sleep(REGISTER_RETRY).await;
                }
                other => return other,
            }
        }
    }

    async fn heartbeat(&self, broker: BrokerId, incarnation: Uuid) -> Result<bool, NodeError> {
        let req = HeartbeatRequest {
            broker_id: broker,
            incarnation_id: incarnation.0.to_vec(),
        };
        let mut client = self.heartbeats.lock().await;
        // An attempt that hangs (a meta node cut off, or no longer leading) must leave time
        // to find the leader elsewhere before the session runs out.
        let session = self.session_timeout();
        client.set_timeouts(
            (session / 4).max(MIN_HEARTBEAT_ATTEMPT),
            (session / 2).max(MIN_HEARTBEAT_ATTEMPT),
        );
        (client.call(|mut c| {
            let req = req.clone();
            async move { c.heartbeat(req).await }
        }))
        .await
        .map(|r| {
            if r.session_timeout_ms > 0 {
                (self.session_timeout_ms).store(r.session_timeout_ms, Ordering::Relaxed);
            }
            r.fenced
        })
        .map_err(ClientError::into_node_error)
    }

    async fn hold_session(&self, broker: BrokerId, incarnation: Uuid) -> Result<bool, NodeError> {
        let req = HeartbeatRequest {
            broker_id: broker,
            incarnation_id: incarnation.0.to_vec(),
        };
        let mut client = self.session_stream.lock().await;
        let opened = client.call(|mut c| {
            let req = req.clone();
            async move { c.hold_session(req).await }
        });
        let opened = opened.await;
        drop(client);
        let mut stream = opened.map_err(ClientError::into_node_error)?;
        // The controller sends nothing on it; it ends when the controller stops leading.
        while (stream.message().await)
            .map_err(|s| ClientError::Status(s).into_node_error())?
            .is_some()
        {}
        Ok(true)
    }

    async fn create_topic(&self, spec: NewTopicSpec) -> Result<(), NodeError> {
        let name = spec.name.clone();
        let req = CreateTopicsRequest {
            topics: vec![TopicSpec {
                name: spec.name,
                partitions: spec.partitions,
                replication_factor: i32::from(spec.replication_factor),
                configs: spec.configs.into_iter().collect(),
                assignment: (spec.assignment.into_iter())
                    .map(|replicas| ReplicaAssignment { replicas })
                    .collect(),
            }],
        };
        let results = self
            .call(|mut c| {
                let req = req.clone();
                async move { c.create_topics(req).await }
            })
            .await?
            .results;
        self.finish_write(results, "the new topic", |s| {
            s.topic_by_name(&name).is_some()
        })
        .await
    }

    async fn delete_topic(&self, name: &str) -> Result<(), NodeError> {
        let req = DeleteTopicsRequest {
            names: vec![name.to_owned()],
        };
        let results = self
            .call(|mut c| {
                let req = req.clone();
                async move { c.delete_topics(req).await }
            })
            .await?
            .results;
        self.finish_write(results, "the topic deleted", |s| {
            s.topic_by_name(name).is_none()
        })
        .await
    }

    async fn create_partitions(
        &self,
        name: &str,
        total: i32,
        assignment: &[Vec<BrokerId>],
    ) -> Result<(), NodeError> {
        let req = CreatePartitionsRequest {
            topics: vec![PartitionCount {
                name: name.to_owned(),
                total,
                assignment: (assignment.iter())
                    .map(|r| ReplicaAssignment {
                        replicas: r.clone(),
                    })
                    .collect(),
            }],
        };
        let results = self
            .call(|mut c| {
                let req = req.clone();
                async move { c.create_partitions(req).await }
            })
            .await?
            .results;
        let grown = |s: &MetadataState| {
            (s.topic_by_name(name))
                .is_some_and(|t| t.partitions.len() >= usize::try_from(total).unwrap_or(0))
        };
        self.finish_write(results, "the new partitions", grown)
            .await
    }

    async fn change_configs(
        &self,
        resource: &ConfigResource,
        set: BTreeMap<String, String>,
        delete: Vec<String>,
        expected: Option<BTreeMap<String, String>>,
    ) -> Result<(), NodeError> {
        let (want, gone) = (set.clone(), delete.clone());
        let expected = expected.map(|configs| ExpectedConfigs { configs });
        let results = match resource {
            ConfigResource::Topic(name) => {
                let req = AlterTopicConfigsRequest {
                    topics: vec![TopicConfigChange {
                        name: name.clone(),
                        set,
                        delete,
                        expected,
                    }],
                };
                let call = self.call(|mut c| {
                    let req = req.clone();
                    async move { c.alter_topic_configs(req).await }
                });
                call.await?.results
            }
            ConfigResource::Broker(broker_id) => {
                let change = BrokerConfigChange {
                    broker_id: *broker_id,
                    set,
                    delete,
                    expected,
                };
                let req = AlterBrokerConfigsRequest {
                    change: Some(change),
                };
                let call = self.call(|mut c| {
                    let req = req.clone();
                    async move { c.alter_broker_configs(req).await }
                });
                call.await?.results
            }
        };
        let applied = |s: &MetadataState| {
            resource.configs(s).is_some_and(|configs| {
                want.iter().all(|(k, v)| configs.get(k) == Some(v))
                    && gone.iter().all(|k| !configs.contains_key(k))
            })
        };
        self.finish_write(results, "the new configs", applied).await
    }

    async fn alter_client_quota(
        &self,
        entity: &QuotaEntity,
        set: BTreeMap<String, f64>,
        remove: Vec<String>,
    ) -> Result<(), NodeError> {
        let (want, gone) = (set.clone(), remove.clone());
        let req = AlterClientQuotasRequest {
            changes: vec![client_quota_change(entity, set, remove)],
        };
        let results = self
            .call(|mut c| {
                let req = req.clone();
                async move { c.alter_client_quotas(req).await }
            })
            .await?
            .results;
        let applied = |s: &MetadataState| {
            let quotas = s.client_quota(entity);
            let value = |k: &String| quotas.and_then(|q| q.get(k));
            want.iter().all(|(k, v)| value(k) == Some(&QuotaValue(*v)))
                && gone.iter().all(|k| value(k).is_none())
        };
        self.finish_write(results, "the new client quotas", applied)
            .await
    }

    /// Asks the controller to fence this broker now, then waits until the local image shows it
    /// leads nothing.
    async fn controlled_shutdown(&self, me: BrokerId, incarnation: Uuid) -> Result<(), NodeError> {
        let req = ShutdownBrokerRequest {
            broker_id: me,
            incarnation_id: incarnation.0.to_vec(),
        };
        self.call(|mut c| {
            let req = req.clone();
            async move { c.shutdown_broker(req).await }
        })
        .await?;
        let led_nothing = |s: &MetadataState| s.partitions_led_by(me).next().is_none();
        self.wait_for_image("leaderships moved away", led_nothing)
            .await
    }

    /// The new ISR reaches this broker through the watch like any metadata change.
    async fn alter_partition(
        &self,
        req: &chronik_metadata::controller::AlterPartitionRequest,
    ) -> Result<(), NodeError> {
        let req = AlterPartitionRequest {
            broker_id: req.broker_id,
            topic_id: req.topic_id.0.to_vec(),
            partition: req.partition,
            leader_epoch: req.leader_epoch,
            partition_epoch: req.partition_epoch,
            new_isr: req.new_isr.clone(),
        };
        self.call(|mut c| {
            let req = req.clone();
            async move { c.alter_partition(req).await }
        })
        .await
        .map(drop)
    }

    async fn elect_leaders(
        &self,
        kind: ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<ElectionResult>, NodeError> {
        let req = ElectLeadersRequest {
            election_type: chronik_metadata::grpc::pb::ElectionType::from(kind).into(),
            all_partitions: partitions.is_none(),
            partitions: (partitions.into_iter().flatten())
                .map(|(topic, partition)| TopicPartitionRef { topic, partition })
                .collect(),
        };
        let results = self
            .call(|mut c| {
                let req = req.clone();
                async move { c.elect_leaders(req).await }
            })
            .await?
            .results;
        (results.into_iter().map(election_result))
            .collect::<Result<_, _>>()
            .map_err(|e| NodeError::Remote {
                kind: ErrorKind::Internal,
                message: e,
            })
    }

    async fn alter_reassignments(
        &self,
        changes: &[ReassignmentChange],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        let req = AlterReassignmentsRequest {
            partitions: (changes.iter())
                .map(|c| PartitionReassignment {
                    topic: c.topic.clone(),
                    partition: c.partition,
                    target: (c.target.clone()).map(|replicas| ReplicaAssignment { replicas }),
                })
                .collect(),
        };
        let results = self
            .call(|mut c| {
                let req = req.clone();
                async move { c.alter_reassignments(req).await }
            })
            .await?
            .results;
        Ok((results.into_iter())
            .map(|r| match r.error {
                0 => Ok(()),
                _ => Err(refusal(r)),
            })
            .collect())
    }

    async fn quorum_status(&self) -> Result<QuorumStatus, NodeError> {
        let status = (self.call(|mut c| async move { c.status(StatusRequest {}).await })).await?;
        Ok(QuorumStatus {
            leader: (status.leader_id != 0).then_some(status.leader_id),
            term: status.term,
            commit_index: status.commit_index,
            voters: (status.voters.into_iter())
                .map(|v| VoterStatus {
                    id: v.id,
                    matched: v.match_index,
                    address: Some(v.address).filter(|a| !a.is_empty()),
                })
                .collect(),
        })
    }

    async fn alter_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        let req = AlterScramCredentialsRequest {
            alterations: alterations.iter().map(scram_alteration_request).collect(),
        };
        let results = self
            .call(|mut c| {
                let req = req.clone();
                async move { c.alter_scram_credentials(req).await }
            })
            .await?
            .results;
        if results.len() != alterations.len() {
            return Err(NodeError::Remote {
                kind: ErrorKind::Internal,
                message: format!(
                    "the quorum answered {} of {} SCRAM alterations; check that every meta node \
                     runs the same version",
                    results.len(),
                    alterations.len()
                ),
            });
        }
        let outcomes: Vec<Result<(), NodeError>> = (results.into_iter())
            .map(|r| match r.error {
                0 => Ok(()),
                _ => Err(refusal(r)),
            })
            .collect();
        // What each user and mechanism ends as: the last alteration of it that succeeded.
        let mut last = BTreeMap::new();
        for (a, outcome) in alterations.iter().zip(&outcomes) {
            if outcome.is_ok() {
                last.insert((a.user(), a.mechanism()), a);
            }
        }
        let applied = |s: &MetadataState| {
            last.values().all(|a| match a {
                ScramAlteration::Upsert { user, credential } => {
                    s.scram_credential(user, credential.mechanism) == Some(credential)
                }
                ScramAlteration::Delete { user, mechanism } => {
                    s.scram_credential(user, *mechanism).is_none()
                }
            })
        };
        self.wait_for_image("the new SCRAM credentials", applied)
            .await?;
        Ok(outcomes)
    }

    async fn create_acls(
        &self,
        acls: &[AclBinding],
    ) -> Result<Vec<Result<(), NodeError>>, NodeError> {
        acls::create(self, acls).await
    }

    async fn delete_acls(
        &self,
        filters: &[AclFilter],
    ) -> Result<Vec<Result<Vec<AclBinding>, NodeError>>, NodeError> {
        acls::delete(self, filters).await
    }

    async fn allocate_producer_ids(&self, broker: BrokerId) -> Result<(i64, i32), NodeError> {
        let req = AllocateProducerIdsRequest { broker_id: broker };
        self.call(|mut c| async move { c.allocate_producer_ids(req).await })
            .await
            .map(|r| (r.first_id, r.count))
    }

    async fn change_remote_segment(
        &self,
        broker: BrokerId,
        change: &RemoteSegmentChange,
    ) -> Result<(), NodeError> {
        let req = change_remote_segment_request(broker, change);
        self.call(|mut c| {
            let req = req.clone();
            async move { c.change_remote_segment(req).await }
        })
        .await?;
        self.wait_for_image("the remote segment change", |s| {
            s.shows_remote_segment_change(change)
        })
        .await
    }

    async fn move_remote_log_start(
        &self,
        broker: BrokerId,
        change: &RemoteLogStartChange,
    ) -> Result<(), NodeError> {
        let req = move_remote_log_start_request(broker, change);
        self.call(|mut c| {
            let req = req.clone();
            async move { c.move_remote_log_start(req).await }
        })
        .await?;
        self.wait_for_image("the log start move", |s| s.shows_remote_log_start(change))
            .await
    }

    /// Nothing runs in this process but the image's watch, which ends when the quorum handle
    /// is dropped.
    async fn shutdown(&self) {}
}

/// The refusal an item result carries.
fn refusal(r: ItemResult) -> NodeError {
    NodeError::Remote {
        // A kind this build does not know: refused, for a reason it cannot name.
        kind: ErrorKind::try_from(r.error).unwrap_or(ErrorKind::Internal),
        message: r.error_message,
    }
}

/// The session a meta node reported; its default when the node did not say (0).
fn session_ms(reported: u64) -> u64 {
    if reported > 0 {
        reported
    } else {
        u64::try_from(chronik_metadata::node::DEFAULT_SESSION_TIMEOUT.as_millis()).unwrap_or(2_000)
    }
}
