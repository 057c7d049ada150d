//! The controller gRPC service: a thin mapping between protobuf requests and [`MetaNode`].

use std::pin::Pin;
use std::time::Duration;

use chronik_raft::Role;
use tokio_stream::Stream;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

use super::pb::controller_server::Controller;
use super::pb::*;
use super::{
    ERROR_KIND_HEADER, LEADER_ADDRESS_HEADER, NOT_LEADER_MESSAGE, remote_log_start_change,
    remote_segment_change,
};
use crate::controller::AlterPartitionRequest as AlterRequest;
use crate::node::{MetaNode, NewTopicSpec, NodeError, WatchBatch};
use crate::{ConfigResource, PartitionView, Uuid};

/// Serves `chronik.rpc.Controller` for one [`MetaNode`].
pub struct ControllerService {
    node: MetaNode,
}

impl ControllerService {
    pub fn new(node: MetaNode) -> Self {
        ControllerService { node }
    }
}

/// The status a refused request is answered with; NOT_LEADER carries the leader's address.
pub(super) fn to_status(e: NodeError) -> Status {
    let mut status = match &e {
        NodeError::NotLeader { .. } => {
            Status::failed_precondition(format!("{NOT_LEADER_MESSAGE}: {e}"))
        }
        NodeError::Controller(crate::ControllerError::UnknownTopic(_))
        | NodeError::Controller(crate::ControllerError::UnknownTopicId(_))
        | NodeError::Controller(crate::ControllerError::UnknownPartition { .. })
        | NodeError::Controller(crate::ControllerError::UnknownBroker(_)) => {
            Status::not_found(e.to_string())
        }
        NodeError::Controller(crate::ControllerError::TopicAlreadyExists(_))
        | NodeError::DuplicateRegistration(_) => Status::already_exists(e.to_string()),
        NodeError::Controller(_) | NodeError::Config(_) => Status::invalid_argument(e.to_string()),
        NodeError::Rejected(_) | NodeError::StaleIncarnation(_) => Status::aborted(e.to_string()),
        NodeError::ProposalTimeout(_) => Status::deadline_exceeded(e.to_string()),
        _ => Status::unavailable(e.to_string()),
    };
    if let NodeError::NotLeader {
        leader_address: Some(address),
        ..
    } = &e
        && let Ok(value) = MetadataValue::try_from(address.as_str())
    {
        status.metadata_mut().insert(LEADER_ADDRESS_HEADER, value);
    }
    if let Ok(value) = MetadataValue::try_from((e.kind() as i32).to_string()) {
        status.metadata_mut().insert(ERROR_KIND_HEADER, value);
    }
    status
}

/// Per-item result: NOT_LEADER and unavailability fail the whole call so clients retry it.
pub(super) fn item(name: &str, outcome: Result<Vec<u8>, NodeError>) -> Result<ItemResult, Status> {
    match outcome {
        Ok(topic_id) => Ok(ItemResult {
            name: name.to_owned(),
            error: ErrorKind::None.into(),
            error_message: String::new(),
            topic_id,
        }),
        Err(e @ (NodeError::NotLeader { .. } | NodeError::Raft(_))) => Err(to_status(e)),
        Err(e) => Ok(ItemResult {
            name: name.to_owned(),
            error: e.kind().into(),
            error_message: e.to_string(),
            topic_id: Vec::new(),
        }),
    }
}

fn uuid(field: &'static str, bytes: &[u8]) -> Result<Uuid, Status> {
    Uuid::from_field(field, bytes).map_err(|e| Status::invalid_argument(e.to_string()))
}

pub(crate) fn partition_info(p: PartitionView<'_>) -> PartitionInfo {
    PartitionInfo {
        topic: p.topic.name.clone(),
        partition: p.index,
        leader: p.state.leader,
        replicas: p.state.replicas.clone(),
        isr: p.state.isr.clone(),
        leader_epoch: p.state.leader_epoch,
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Follower => "follower",
        Role::PreCandidate => "pre-candidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent, Status>> + Send>>;
type SessionStream = Pin<Box<dyn Stream<Item = Result<SessionEvent, Status>> + Send>>;

/// How often a held session stream checks that this node still leads the term it was opened
/// in; a stream left on a node that no longer leads would detect nothing.
const SESSION_LEADER_CHECK: Duration = Duration::from_millis(250);

#[tonic::async_trait]
impl Controller for ControllerService {
    async fn register_broker(
        &self,
        request: Request<RegisterBrokerRequest>,
    ) -> Result<Response<RegisterBrokerResponse>, Status> {
        let reg =
            super::broker_registration(request.into_inner()).map_err(Status::invalid_argument)?;
        self.node.register_broker(reg).await.map_err(to_status)?;
        Ok(Response::new(RegisterBrokerResponse {}))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let req = request.into_inner();
        let incarnation = uuid("incarnation_id", &req.incarnation_id)?;
        let fenced = (self.node.heartbeat(req.broker_id, incarnation).await).map_err(to_status)?;
        let session_timeout_ms =
            u64::try_from(self.node.session_timeout().as_millis()).unwrap_or(u64::MAX);
        Ok(Response::new(HeartbeatResponse {
            fenced,
            session_timeout_ms,
        }))
    }

    type HoldSessionStream = SessionStream;

    async fn hold_session(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<Self::HoldSessionStream>, Status> {
        let req = request.into_inner();
        let incarnation = uuid("incarnation_id", &req.incarnation_id)?;
        let node = self.node.clone();
        let hold = (node.attach_session(req.broker_id, incarnation).await).map_err(to_status)?;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    // The broker's end is gone: its process died, or it dropped the stream.
                    _ = tx.closed() => {
                        node.detach_session(&hold);
                        return;
                    }
                    _ = node.stopping() => return,
                    _ = tokio::time::sleep(SESSION_LEADER_CHECK) => {
                        if let Err(gone) = node.ensure_leads(&hold).await {
                            let _ = tx.send(Err(to_status(gone))).await;
                            return;
                        }
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn shutdown_broker(
        &self,
        request: Request<ShutdownBrokerRequest>,
    ) -> Result<Response<ShutdownBrokerResponse>, Status> {
        let req = request.into_inner();
        let incarnation = uuid("incarnation_id", &req.incarnation_id)?;
        (self.node.shutdown_broker(req.broker_id, incarnation).await).map_err(to_status)?;
        Ok(Response::new(ShutdownBrokerResponse {}))
    }

    async fn reassign_partition(
        &self,
        request: Request<ReassignPartitionRequest>,
    ) -> Result<Response<ReassignPartitionResponse>, Status> {
        let req = request.into_inner();
        let step = self
            .node
            .reassign_partition(&req.topic, req.partition, req.replicas)
            .await
            .map_err(to_status)?;
        Ok(Response::new(ReassignPartitionResponse {
            done: step == crate::controller::ReassignStep::Done,
        }))
    }

    async fn elect_leaders(
        &self,
        request: Request<ElectLeadersRequest>,
    ) -> Result<Response<ElectLeadersResponse>, Status> {
        let req = request.into_inner();
        let kind = ElectionType::try_from(req.election_type)
            .map_err(|_| Status::invalid_argument("unknown election type"))?;
        let partitions = (!req.all_partitions).then(|| {
            (req.partitions.into_iter())
                .map(|p| (p.topic, p.partition))
                .collect()
        });
        let results =
            (self.node.elect_leaders(kind.into(), partitions).await).map_err(to_status)?;
        Ok(Response::new(ElectLeadersResponse {
            results: results.into_iter().map(Into::into).collect(),
        }))
    }

    async fn decommission_broker(
        &self,
        request: Request<DecommissionBrokerRequest>,
    ) -> Result<Response<DecommissionBrokerResponse>, Status> {
        let req = request.into_inner();
        (self
            .node
            .decommission_broker(req.broker_id, req.cancel)
            .await)
            .map_err(to_status)?;
        Ok(Response::new(DecommissionBrokerResponse {}))
    }

    async fn alter_reassignments(
        &self,
        request: Request<AlterReassignmentsRequest>,
    ) -> Result<Response<AlterReassignmentsResponse>, Status> {
        let mut results = Vec::new();
        for p in request.into_inner().partitions {
            let target = p.target.map(|t| t.replicas);
            let outcome = (self.node)
                .alter_reassignment(&p.topic, p.partition, target.as_deref())
                .await;
            results.push(item(&p.topic, outcome.map(|()| Vec::new()))?);
        }
        Ok(Response::new(AlterReassignmentsResponse { results }))
    }

    async fn alter_partition(
        &self,
        request: Request<AlterPartitionRequest>,
    ) -> Result<Response<AlterPartitionResponse>, Status> {
        let req = request.into_inner();
        let topic_id = uuid("topic_id", &req.topic_id)?;
        let alter = AlterRequest {
            broker_id: req.broker_id,
            topic_id,
            partition: req.partition,
            leader_epoch: req.leader_epoch,
            partition_epoch: req.partition_epoch,
            new_isr: req.new_isr,
        };
        self.node.alter_partition(alter).await.map_err(to_status)?;
        let current = self.node.state().metadata(|s| {
            let p = s.topic(&topic_id)?.partition(req.partition)?;
            Some(AlterPartitionResponse {
                leader: p.leader,
                isr: p.isr.clone(),
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
            })
        });
        current
            .map(Response::new)
            .ok_or_else(|| Status::not_found("the partition no longer exists"))
    }

    async fn create_topics(
        &self,
        request: Request<CreateTopicsRequest>,
    ) -> Result<Response<CreateTopicsResponse>, Status> {
        let mut results = Vec::new();
        for topic in request.into_inner().topics {
            let name = topic.name.clone();
            let outcome = match i16::try_from(topic.replication_factor) {
                Ok(replication_factor) => {
                    let spec = NewTopicSpec {
                        name: topic.name,
                        partitions: topic.partitions,
                        replication_factor,
                        configs: topic.configs,
                        assignment: (topic.assignment.into_iter()).map(|a| a.replicas).collect(),
                    };
                    self.node.create_topic(spec).await.map(|id| id.to_vec())
                }
                Err(_) => Err(crate::ControllerError::InvalidReplicationFactor(
                    topic.replication_factor,
                )
                .into()),
            };
            results.push(item(&name, outcome)?);
        }
        Ok(Response::new(CreateTopicsResponse { results }))
    }

    async fn delete_topics(
        &self,
        request: Request<DeleteTopicsRequest>,
    ) -> Result<Response<DeleteTopicsResponse>, Status> {
        let mut results = Vec::new();
        for name in request.into_inner().names {
            let outcome = self.node.delete_topic(&name).await.map(|()| Vec::new());
            results.push(item(&name, outcome)?);
        }
        Ok(Response::new(DeleteTopicsResponse { results }))
    }

    async fn create_partitions(
        &self,
        request: Request<CreatePartitionsRequest>,
    ) -> Result<Response<CreatePartitionsResponse>, Status> {
        let mut results = Vec::new();
        for topic in request.into_inner().topics {
            let assignment: Vec<Vec<i32>> =
                topic.assignment.into_iter().map(|a| a.replicas).collect();
            let grown = self
                .node
                .create_partitions(&topic.name, topic.total, &assignment);
            let outcome = grown.await.map(|()| Vec::new());
            results.push(item(&topic.name, outcome)?);
        }
        Ok(Response::new(CreatePartitionsResponse { results }))
    }

    async fn change_remote_segment(
        &self,
        request: Request<ChangeRemoteSegmentRequest>,
    ) -> Result<Response<ChangeRemoteSegmentResponse>, Status> {
        let (broker, change) = remote_segment_change(request.into_inner());
        (self.node.change_remote_segment(broker, change).await).map_err(to_status)?;
        Ok(Response::new(ChangeRemoteSegmentResponse {}))
    }

    async fn move_remote_log_start(
        &self,
        request: Request<MoveRemoteLogStartRequest>,
    ) -> Result<Response<MoveRemoteLogStartResponse>, Status> {
        let (broker, change) = remote_log_start_change(request.into_inner());
        (self.node.move_remote_log_start(broker, change).await).map_err(to_status)?;
        Ok(Response::new(MoveRemoteLogStartResponse {}))
    }

    async fn allocate_producer_ids(
        &self,
        request: Request<AllocateProducerIdsRequest>,
    ) -> Result<Response<AllocateProducerIdsResponse>, Status> {
        let broker = request.into_inner().broker_id;
        let (first_id, count) =
            (self.node.allocate_producer_ids(broker).await).map_err(to_status)?;
        Ok(Response::new(AllocateProducerIdsResponse {
            first_id,
            count,
        }))
    }

    async fn alter_topic_configs(
        &self,
        request: Request<AlterTopicConfigsRequest>,
    ) -> Result<Response<AlterTopicConfigsResponse>, Status> {
        let mut results = Vec::new();
        for topic in request.into_inner().topics {
            let expected = topic.expected.as_ref().map(|e| &e.configs);
            let resource = ConfigResource::Topic(topic.name.clone());
            let outcome = (self.node)
                .change_configs(&resource, &topic.set, &topic.delete, expected)
                .await
                .map(|()| Vec::new());
            results.push(item(&topic.name, outcome)?);
        }
        Ok(Response::new(AlterTopicConfigsResponse { results }))
    }

    async fn alter_broker_configs(
        &self,
        request: Request<AlterBrokerConfigsRequest>,
    ) -> Result<Response<AlterBrokerConfigsResponse>, Status> {
        let change = (request.into_inner().change)
            .ok_or_else(|| Status::invalid_argument("the request carries no change"))?;
        let resource = ConfigResource::Broker(change.broker_id);
        let expected = change.expected.as_ref().map(|e| &e.configs);
        let outcome = (self.node)
            .change_configs(&resource, &change.set, &change.delete, expected)
            .await
            .map(|()| Vec::new());
        let results = vec![item(&resource.to_string(), outcome)?];
        Ok(Response::new(AlterBrokerConfigsResponse { results }))
    }

    async fn alter_client_quotas(
        &self,
        request: Request<AlterClientQuotasRequest>,
    ) -> Result<Response<AlterClientQuotasResponse>, Status> {
        let mut results = Vec::new();
        for change in request.into_inner().changes {
            let (name, outcome) = super::quotas::alter(&self.node, &change).await;
            results.push(item(&name, outcome.map(|()| Vec::new()))?);
        }
        Ok(Response::new(AlterClientQuotasResponse { results }))
    }

    async fn alter_scram_credentials(
        &self,
        request: Request<AlterScramCredentialsRequest>,
    ) -> Result<Response<AlterScramCredentialsResponse>, Status> {
        let mut results = Vec::new();
        for alteration in request.into_inner().alterations {
            let (name, outcome) = super::scram::alter(&self.node, &alteration).await;
            results.push(item(&name, outcome.map(|()| Vec::new()))?);
        }
        Ok(Response::new(AlterScramCredentialsResponse { results }))
    }

    async fn describe_scram_credentials(
        &self,
        request: Request<DescribeScramCredentialsRequest>,
    ) -> Result<Response<DescribeScramCredentialsResponse>, Status> {
        let wanted = request.into_inner().users;
        let users =
            (self.node.state()).metadata(|s| super::scram::describe_scram_credentials(s, &wanted));
        Ok(Response::new(DescribeScramCredentialsResponse { users }))
    }

    async fn create_acls(
        &self,
        request: Request<CreateAclsRequest>,
    ) -> Result<Response<CreateAclsResponse>, Status> {
        let acls = request.into_inner().acls;
        let results = super::acls::create(&self.node, &acls).await?;
        Ok(Response::new(CreateAclsResponse { results }))
    }

    async fn delete_acls(
        &self,
        request: Request<DeleteAclsRequest>,
    ) -> Result<Response<DeleteAclsResponse>, Status> {
        let filters = request.into_inner().filters;
        let results = super::acls::delete(&self.node, &filters).await?;
        Ok(Response::new(DeleteAclsResponse { results }))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let from_index = request.into_inner().from_index;
        let node = self.node.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            let mut applied = node.state().subscribe();
            let mut next = from_index;
            loop {
                let events = match node.state().watch_from(next) {
                    WatchBatch::Snapshot { index, state } => {
                        next = index + 1;
                        vec![WatchEvent {
                            index,
                            records: Vec::new(),
                            snapshot: Some(state),
                        }]
                    }
                    WatchBatch::Records(batches) => batches
                        .into_iter()
                        .map(|(index, records)| {
                            next = index + 1;
                            WatchEvent {
                                index,
                                records,
                                snapshot: None,
                            }
                        })
                        .collect(),
                };
                for event in events {
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    changed = applied.changed() => if changed.is_err() { return },
                    _ = node.stopping() => return,
                    _ = tx.closed() => return,
                }
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn status(
        &self,
        _request: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let raft = (self.node.raft().status().await).map_err(|e| to_status(e.into()))?;
        let addresses = self.node.state().voter_addresses();
        let matched =
            |id: u64| (raft.voter_match.iter()).find_map(|(v, m)| (*v == id).then_some(*m));
        let voters = (raft.voters.iter())
            .map(|id| VoterInfo {
                id: *id,
                address: (addresses.get(id).cloned())
                    .or_else(|| self.node.leader_address(*id))
                    .unwrap_or_default(),
                match_index: matched(*id),
            })
            .collect();
        let leader_id = raft.leader_id.unwrap_or(0);
        let leader_address = (raft.leader_id)
            .and_then(|id| self.node.leader_address(id))
            .unwrap_or_default();
        let mut response = self.node.state().metadata(|s| StatusResponse {
            cluster_id: s.cluster_id().unwrap_or(self.node.cluster_id()).to_owned(),
            brokers: (s.brokers())
                .map(|b| BrokerInfo {
                    id: b.id,
                    host: b.host.clone(),
                    port: u32::from(b.port),
                    fenced: b.fenced,
                    decommissioning: b.decommissioning,
                    replicas: u32::try_from(crate::controller::replicas_held(s, b.id))
                        .unwrap_or(u32::MAX),
                    endpoints: super::registration::broker_endpoints(b),
                })
                .collect(),
            topics: u32::try_from(s.topics().count()).unwrap_or(u32::MAX),
            partitions: u32::try_from(s.total_partitions()).unwrap_or(u32::MAX),
            under_replicated: s
                .under_replicated_partitions()
                .map(partition_info)
                .collect(),
            offline: s.offline_partitions().map(partition_info).collect(),
            ..StatusResponse::default()
        });
        response.node_id = raft.id;
        response.role = role_name(raft.role).to_owned();
        response.term = raft.term;
        response.leader_id = leader_id;
        response.leader_address = leader_address;
        response.commit_index = raft.commit_index;
        response.applied_index = raft.applied_index;
        response.session_timeout_ms =
            u64::try_from(self.node.session_timeout().as_millis()).unwrap_or(u64::MAX);
        response.voters = voters;
        response.snapshot_index = self.node.state().snapshot_index();
        response.snapshots_installed = self.node.state().snapshots_installed();
        Ok(Response::new(response))
    }

    async fn describe_topics(
        &self,
        request: Request<DescribeTopicsRequest>,
    ) -> Result<Response<DescribeTopicsResponse>, Status> {
        let names = request.into_inner().names;
        let topics = self.node.state().metadata(|s| {
            (s.topics())
                .filter(|t| names.is_empty() || names.contains(&t.name))
                .map(|t| TopicDescription {
                    name: t.name.clone(),
                    topic_id: t.id.to_vec(),
                    configs: t.configs.clone(),
                    partitions: (s.partitions())
                        .filter(|p| p.topic.id == t.id)
                        .map(partition_info)
                        .collect(),
                })
                .collect()
        });
        Ok(Response::new(DescribeTopicsResponse { topics }))
    }

    async fn add_voter(
        &self,
        request: Request<AddVoterRequest>,
    ) -> Result<Response<MembershipResponse>, Status> {
        let req = request.into_inner();
        let voters = (self.node.add_voter(req.id, &req.address).await).map_err(to_status)?;
        Ok(Response::new(MembershipResponse { voters }))
    }

    async fn remove_voter(
        &self,
        request: Request<RemoveVoterRequest>,
    ) -> Result<Response<MembershipResponse>, Status> {
        let id = request.into_inner().id;
        let voters = self.node.remove_voter(id).await.map_err(to_status)?;
        Ok(Response::new(MembershipResponse { voters }))
    }
}
