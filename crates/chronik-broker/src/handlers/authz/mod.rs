//! ACL authorization of requests (`--authorizer acl`), before any handler runs. Each API is
//! checked for the operation Kafka's documentation lists for it (docs/security.md has the
//! table): a request wholly refused is answered here; a request refused in part (some topics,
//! some groups) goes on without those parts, and an [`Amend`] adds their errors to the
//! handler's response, as Kafka does.

mod admin;
mod data;
mod groups;
mod txn;

use std::net::SocketAddr;
use std::sync::Arc;

use chronik_auth::Principal;
use chronik_auth::acl::{AuthorizerConfig, CLUSTER_NAME, Operation, ResourceType, authorize};
use chronik_kafka::kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::services::Services;

/// The refusals, as Kafka's error codes.
const TOPIC_DENIED: i16 = 29;
const GROUP_DENIED: i16 = 30;
const CLUSTER_DENIED: i16 = 31;
const TXN_ID_DENIED: i16 = 53;
/// A topic a producer may write to but not create, when it does not exist.
const UNKNOWN_TOPIC: i16 = 3;

/// Who sent a request, as ACLs name them: `User:<name>` and the peer's IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Who {
    pub principal: String,
    pub host: String,
}

impl Who {
    pub fn new(principal: &Principal, peer: SocketAddr) -> Self {
        Who {
            principal: principal.to_string(),
            // An IPv4 client of a dual-stack socket is named as IPv4, as ACL hosts are.
            host: peer.ip().to_canonical().to_string(),
        }
    }

    pub fn as_principal(&self, principal: &Principal) -> Self {
        Who {
            principal: principal.to_string(),
            host: self.host.clone(),
        }
    }
}

/// One request's authorization questions: who asks, of what broker, under which ACLs.
pub(crate) struct Asked<'a> {
    services: &'a Arc<Services>,
    config: &'a AuthorizerConfig,
    who: &'a Who,
    /// The request's version, for the shape of refusals.
    pub version: i16,
}

impl<'a> Asked<'a> {
    pub fn new(
        services: &'a Arc<Services>,
        config: &'a AuthorizerConfig,
        who: &'a Who,
        version: i16,
    ) -> Self {
        Asked {
            services,
            config,
            who,
            version,
        }
    }

    /// Whether the client may do `operation` on the resource.
    pub fn may(&self, operation: Operation, resource_type: ResourceType, name: &str) -> bool {
        may(
            self.services,
            self.config,
            self.who,
            operation,
            resource_type,
            name,
        )
    }

    /// The same questions, askable after the request's borrows end (when amending a
    /// response).
    pub fn owned(&self) -> OwnedAsker {
        OwnedAsker {
            services: self.services.clone(),
            config: self.config.clone(),
            who: self.who.clone(),
        }
    }

    pub fn is_super_user(&self) -> bool {
        self.config.super_users.contains(&self.who.principal)
    }

    pub fn may_cluster(&self, operation: Operation) -> bool {
        self.may(operation, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// Whether some ACL lets the client do `operation` on some resource of the type (Kafka's
    /// authorizeByResourceType), whether or not such a resource exists yet.
    pub fn may_some(&self, operation: Operation, resource_type: ResourceType) -> bool {
        let (principal, host) = (&self.who.principal, &self.who.host);
        (self.services.cluster).metadata(|s| {
            chronik_auth::acl::authorize_any(
                self.config,
                s.acls(),
                principal,
                host,
                operation,
                resource_type,
            )
        })
    }

    /// Whether a topic the client writes to may be created for it: it exists, or the client
    /// may CREATE it.
    pub fn may_create_if_missing(&self, topic: &str) -> bool {
        let exists = (self.services.cluster).metadata(|s| s.topic_by_name(topic).is_some());
        exists || self.may_cluster(Operation::Create) || self.may_topic(Operation::Create, topic)
    }

    pub fn may_topic(&self, operation: Operation, topic: &str) -> bool {
        self.may(operation, ResourceType::Topic, topic)
    }

    pub fn may_group(&self, operation: Operation, group: &str) -> bool {
        self.may(operation, ResourceType::Group, group)
    }

    pub fn may_transactional_id(&self, operation: Operation, id: &str) -> bool {
        self.may(operation, ResourceType::TransactionalId, id)
    }

    pub fn services(&self) -> &Services {
        self.services
    }
}

fn may(
    services: &Services,
    config: &AuthorizerConfig,
    who: &Who,
    operation: Operation,
    resource_type: ResourceType,
    name: &str,
) -> bool {
    let (principal, host) = (&who.principal, &who.host);
    (services.cluster).metadata(|s| {
        authorize(
            config,
            s.acls(),
            principal,
            host,
            operation,
            resource_type,
            name,
        )
    })
}

/// [`Asked`] with owned parts, for closures that outlive the request.
pub(crate) struct OwnedAsker {
    services: Arc<Services>,
    config: AuthorizerConfig,
    who: Who,
}

impl OwnedAsker {
    pub fn may_topic(&self, operation: Operation, topic: &str) -> bool {
        may(
            &self.services,
            &self.config,
            &self.who,
            operation,
            ResourceType::Topic,
            topic,
        )
    }

    pub fn may_group(&self, operation: Operation, group: &str) -> bool {
        may(
            &self.services,
            &self.config,
            &self.who,
            operation,
            ResourceType::Group,
            group,
        )
    }

    pub fn may_transactional_id(&self, operation: Operation, id: &str) -> bool {
        let t = ResourceType::TransactionalId;
        may(&self.services, &self.config, &self.who, operation, t, id)
    }
}

/// What authorization makes of a request.
pub(crate) enum Gate {
    /// Serve this request (the parts the client may touch), then amend the response.
    Serve(RequestKind, Option<Amend>),
    /// Answer with this; the handler never sees the request.
    Refuse(ResponseKind),
    /// Close the connection unanswered (an API with no authorization rule).
    Close(&'static str),
}

/// Adds the refused parts of a request to its response.
#[derive(Clone)]
pub(crate) struct Amend(Arc<dyn Fn(&mut ResponseKind) + Send + Sync>);

impl Amend {
    pub fn new(f: impl Fn(&mut ResponseKind) + Send + Sync + 'static) -> Self {
        Amend(Arc::new(f))
    }

    pub fn apply(&self, body: &mut ResponseKind) {
        (self.0)(body)
    }
}

fn serve(request: RequestKind) -> Gate {
    Gate::Serve(request, None)
}

/// Splits `items` into those `keep` accepts and the rest, in order.
pub(crate) fn split<T>(items: Vec<T>, keep: impl Fn(&T) -> bool) -> (Vec<T>, Vec<T>) {
    items.into_iter().partition(|item| keep(item))
}

/// Checks one request. APIs every client needs before anything else (ApiVersions, SASL)
/// need no permission.
pub(crate) fn gate(asked: &Asked<'_>, request: RequestKind) -> Gate {
    use RequestKind as R;
    match request {
        R::ApiVersions(_) | R::SaslHandshake(_) | R::SaslAuthenticate(_) => serve(request),
        R::Produce(r) => data::produce(asked, r),
        R::Fetch(r) => data::fetch(asked, r),
        R::ListOffsets(r) => data::list_offsets(asked, r),
        R::OffsetForLeaderEpoch(r) => data::offset_for_leader_epoch(asked, r),
        R::Metadata(r) => data::metadata(asked, r),
        R::DeleteRecords(r) => data::delete_records(asked, r),
        R::DescribeProducers(r) => data::describe_producers(asked, r),
        R::OffsetCommit(r) => groups::offset_commit(asked, r),
        R::OffsetFetch(r) => groups::offset_fetch(asked, r),
        R::FindCoordinator(r) => groups::find_coordinator(asked, r),
        R::JoinGroup(r) => groups::join_group(asked, r),
        R::SyncGroup(r) => groups::sync_group(asked, r),
        R::Heartbeat(r) => groups::heartbeat(asked, r),
        R::LeaveGroup(r) => groups::leave_group(asked, r),
        R::DescribeGroups(r) => groups::describe_groups(asked, r),
        R::ListGroups(r) => groups::list_groups(asked, r),
        R::DeleteGroups(r) => groups::delete_groups(asked, r),
        R::OffsetDelete(r) => groups::offset_delete(asked, r),
        R::ConsumerGroupHeartbeat(r) => groups::consumer_group_heartbeat(asked, r),
        R::ConsumerGroupDescribe(r) => groups::consumer_group_describe(asked, r),
        R::InitProducerId(r) => txn::init_producer_id(asked, r),
        R::AddPartitionsToTxn(r) => txn::add_partitions_to_txn(asked, r),
        R::AddOffsetsToTxn(r) => txn::add_offsets_to_txn(asked, r),
        R::EndTxn(r) => txn::end_txn(asked, r),
        R::TxnOffsetCommit(r) => txn::txn_offset_commit(asked, r),
        R::WriteTxnMarkers(r) => txn::write_txn_markers(asked, r),
        R::DescribeTransactions(r) => txn::describe_transactions(asked, r),
        R::ListTransactions(r) => txn::list_transactions(asked, r),
        other => admin::gate(asked, other),
    }
}
