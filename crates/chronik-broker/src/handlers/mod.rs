//! One module per Kafka API. [`dispatch`] runs the part of a request that must happen in
//! request order (appends) and hands back the rest as a task, so a connection can pipeline.

mod acls;
mod alter_configs;
mod api_versions;
pub(crate) mod authz;
mod client_quotas;
mod create_partitions;
mod create_topics;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_log_dirs;
mod describe_quorum;
mod elect_leaders;
mod endpoints;
mod fetch;
mod fetch_remote;
mod groups;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offset_for_leader_epoch;
mod produce;
mod reassignments;
mod scram_credentials;
mod transactions;
mod transactions_admin;

use std::sync::Arc;

use bytes::Bytes;
use chronik_kafka::DecodedRequest;
use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::{
    ApiKey, RequestKind, ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use tokio::task::JoinHandle;

use crate::quotas::{Throttling, Timed};
use crate::services::Services;

/// The APIs this broker serves, and so exactly those ApiVersions advertises.
pub const IMPLEMENTED: &[ApiKey] = &[
    ApiKey::ApiVersions,
    ApiKey::Metadata,
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::DeleteRecords,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::DescribeLogDirs,
    ApiKey::ElectLeaders,
    ApiKey::DescribeQuorum,
    ApiKey::AlterPartitionReassignments,
    ApiKey::ListPartitionReassignments,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::InitProducerId,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
    ApiKey::ConsumerGroupHeartbeat,
    ApiKey::ConsumerGroupDescribe,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::EndTxn,
    ApiKey::WriteTxnMarkers,
    ApiKey::TxnOffsetCommit,
    ApiKey::DescribeTransactions,
    ApiKey::ListTransactions,
    ApiKey::DescribeProducers,
    ApiKey::DescribeClientQuotas,
    ApiKey::AlterClientQuotas,
    ApiKey::DescribeUserScramCredentials,
    ApiKey::AlterUserScramCredentials,
    ApiKey::DescribeAcls,
    ApiKey::CreateAcls,
    ApiKey::DeleteAcls,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
];

/// What a handler may need of the connection a request came on.
#[derive(Clone, Copy)]
pub(crate) struct Client<'a> {
    /// The listener the client connected to: it is told this broker's address on it.
    pub listener: &'a Arc<crate::accept::Listener>,
    /// Who sent the request and from where, for the ACL authorizer.
    pub who: &'a authz::Who,
}

/// What a connection writes back for one request.
pub(crate) enum Reply {
    /// No response (Produce with acks=0).
    Nothing,
    /// This frame.
    Frame(Bytes),
    /// The response cannot be produced: close the connection.
    Close,
}

/// The response for one request, possibly still being computed.
pub(crate) enum Pending {
    Now(Reply),
    Later(JoinHandle<Reply>),
}

/// Where a response goes: enough of the request header to encode it, and the client's
/// quotas, which the response settles.
#[derive(Clone)]
pub(crate) struct Header {
    pub api_key: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    /// `None` when no quota is configured or the request is exempt (ApiVersions, requests
    /// between brokers).
    pub throttling: Option<Throttling>,
    /// Adds what authorization refused to the response (the items the handler never saw).
    pub amend: Option<authz::Amend>,
}

impl Header {
    /// The header of a request no quota applies to.
    pub fn unthrottled(req: &DecodedRequest) -> Self {
        Header {
            api_key: req.api_key,
            version: req.api_version,
            correlation_id: req.correlation_id,
            throttling: None,
            amend: None,
        }
    }

    /// Encodes `body` as the response to this request (`None`: no response is sent).
    pub fn reply(self, mut body: Option<ResponseKind>) -> Reply {
        if let (Some(amend), Some(body)) = (&self.amend, body.as_mut()) {
            amend.apply(body);
        }
        if let Some(t) = &self.throttling {
            t.on_reply(self.api_key, self.version, body.as_mut());
        }
        let Some(body) = body else {
            return Reply::Nothing;
        };
        for code in crate::response_errors::error_codes(&body) {
            crate::metrics::response_error(self.api_key, code);
        }
        match chronik_kafka::encode_response(self.api_key, self.version, self.correlation_id, body)
        {
            Ok(frame) => Reply::Frame(frame),
            Err(e) => {
                tracing::warn!(error = %e, "closing the connection");
                Reply::Close
            }
        }
    }
}

/// Starts serving one decoded request. Produce appends, the group membership requests (a
/// join or sync is applied, its answer may wait) and the offset requests (OffsetCommit
/// applies, OffsetFetch answers) take effect before returning, so they follow the request
/// order as in Kafka, which serves a connection's requests one at a time; everything else
/// runs in a task of its own.
/// `throttling` is the request's part in the client quotas, if any applies (the connection
/// leaves it out for requests exempt from quotas).
pub(crate) async fn dispatch(
    services: &Arc<Services>,
    req: DecodedRequest,
    client: Client<'_>,
    throttling: Option<Throttling>,
) -> Pending {
    let mut header = Header {
        api_key: req.api_key,
        version: req.api_version,
        correlation_id: req.correlation_id,
        throttling,
        amend: None,
    };
    let v = req.api_version;
    let mut req = req;
    if let Some(config) = &services.config.authorizer {
        let asked = authz::Asked::new(services, config, client.who, v);
        match authz::gate(&asked, req.request) {
            authz::Gate::Serve(request, amend) => {
                req.request = request;
                header.amend = amend;
            }
            authz::Gate::Refuse(body) => return Pending::Now(header.reply(Some(body))),
            authz::Gate::Close(why) => {
                tracing::info!(api = ?header.api_key, principal = %client.who.principal, "closing the connection: {why}");
                return Pending::Now(Reply::Close);
            }
        }
    }
    let services = services.clone();
    let later = |f: std::pin::Pin<Box<dyn Future<Output = ResponseKind> + Send>>| {
        let header = header.clone();
        Pending::Later(tokio::spawn(async move {
            let body = match &header.throttling {
                Some(t) => Timed::new(f, t.busy()).await,
                None => f.await,
            };
            header.reply(Some(body))
        }))
    };
    match req.request {
        RequestKind::ApiVersions(_) => {
            Pending::Now(header.reply(Some(ResponseKind::ApiVersions(api_versions::handle()))))
        }
        RequestKind::Produce(r) => produce::admit(services, header, r).await,
        RequestKind::Metadata(r) => {
            let on = client.listener.clone();
            later(Box::pin(async move {
                let response = metadata::handle(&services, r, v, &on.config.name).await;
                ResponseKind::Metadata(response)
            }))
        }
        RequestKind::Fetch(r) => {
            let throttling = header.throttling.clone();
            later(Box::pin(async move {
                ResponseKind::Fetch(fetch::handle(&services, r, throttling).await)
            }))
        }
        RequestKind::ListOffsets(r) => later(Box::pin(async move {
            ResponseKind::ListOffsets(list_offsets::handle(&services, r, v).await)
        })),
        RequestKind::CreateTopics(r) => later(Box::pin(async move {
            ResponseKind::CreateTopics(create_topics::handle(&services, r).await)
        })),
        RequestKind::DeleteTopics(r) => later(Box::pin(async move {
            ResponseKind::DeleteTopics(delete_topics::handle(&services, r, v).await)
        })),
        RequestKind::DeleteRecords(r) => later(Box::pin(async move {
            ResponseKind::DeleteRecords(delete_records::handle(services, r).await)
        })),
        RequestKind::InitProducerId(r) => later(Box::pin(async move {
            ResponseKind::InitProducerId(init_producer_id::handle(&services, r, v).await)
        })),
        RequestKind::CreatePartitions(r) => later(Box::pin(async move {
            ResponseKind::CreatePartitions(create_partitions::handle(&services, r).await)
        })),
        RequestKind::DescribeConfigs(r) => later(Box::pin(async move {
            ResponseKind::DescribeConfigs(describe_configs::handle(&services, r, v))
        })),
        RequestKind::AlterConfigs(r) => later(Box::pin(async move {
            ResponseKind::AlterConfigs(alter_configs::handle(&services, r).await)
        })),
        RequestKind::IncrementalAlterConfigs(r) => later(Box::pin(async move {
            let response = alter_configs::handle_incremental(&services, r).await;
            ResponseKind::IncrementalAlterConfigs(response)
        })),
        RequestKind::DescribeCluster(r) => {
            let on = client.listener.clone();
            later(Box::pin(async move {
                let response = describe_cluster::handle(&services, r, &on.config.name);
                ResponseKind::DescribeCluster(response)
            }))
        }
        RequestKind::DescribeLogDirs(r) => later(Box::pin(async move {
            ResponseKind::DescribeLogDirs(describe_log_dirs::handle(&services, r, v))
        })),
        RequestKind::ElectLeaders(r) => later(Box::pin(async move {
            ResponseKind::ElectLeaders(elect_leaders::handle(&services, r, v).await)
        })),
        RequestKind::DescribeQuorum(r) => later(Box::pin(async move {
            ResponseKind::DescribeQuorum(describe_quorum::handle(&services, r, v).await)
        })),
        RequestKind::AlterPartitionReassignments(r) => later(Box::pin(async move {
            let response = reassignments::alter(&services, r).await;
            ResponseKind::AlterPartitionReassignments(response)
        })),
        RequestKind::ListPartitionReassignments(r) => later(Box::pin(async move {
            ResponseKind::ListPartitionReassignments(reassignments::list(&services, r))
        })),
        RequestKind::OffsetForLeaderEpoch(r) => later(Box::pin(async move {
            ResponseKind::OffsetForLeaderEpoch(offset_for_leader_epoch::handle(&services, r))
        })),
        RequestKind::FindCoordinator(r) => {
            let on = client.listener.clone();
            later(Box::pin(async move {
                let response = groups::find_coordinator::handle(&services, r, v, &on.config.name);
                ResponseKind::FindCoordinator(response.await)
            }))
        }
        RequestKind::JoinGroup(r) => {
            let joined = groups::membership::join(&services, r, v, req.client_id);
            later(Box::pin(
                async move { ResponseKind::JoinGroup(joined.await) },
            ))
        }
        RequestKind::SyncGroup(r) => {
            let synced = groups::membership::sync(&services, r, v);
            later(Box::pin(
                async move { ResponseKind::SyncGroup(synced.await) },
            ))
        }
        RequestKind::Heartbeat(r) => {
            let response = groups::membership::heartbeat(&services, r);
            Pending::Now(header.reply(Some(ResponseKind::Heartbeat(response))))
        }
        RequestKind::LeaveGroup(r) => {
            let response = groups::membership::leave(&services, r, v);
            Pending::Now(header.reply(Some(ResponseKind::LeaveGroup(response))))
        }
        RequestKind::OffsetCommit(r) => {
            let durable = groups::offsets::commit(&services, r, v);
            later(Box::pin(async move {
                ResponseKind::OffsetCommit(durable.await)
            }))
        }
        RequestKind::OffsetFetch(r) => {
            let fetched = groups::offsets::fetch(&services, r, v);
            Pending::Now(header.reply(Some(ResponseKind::OffsetFetch(fetched))))
        }
        RequestKind::DescribeGroups(r) => later(Box::pin(async move {
            ResponseKind::DescribeGroups(groups::admin::describe(&services, r, v))
        })),
        RequestKind::ListGroups(r) => later(Box::pin(async move {
            ResponseKind::ListGroups(groups::admin::list(&services, r, v))
        })),
        RequestKind::DeleteGroups(r) => later(Box::pin(async move {
            ResponseKind::DeleteGroups(groups::admin::delete(&services, r).await)
        })),
        RequestKind::OffsetDelete(r) => later(Box::pin(async move {
            ResponseKind::OffsetDelete(groups::admin::delete_offsets(&services, r).await)
        })),
        RequestKind::ConsumerGroupHeartbeat(r) => {
            let answered = groups::consumer::heartbeat(&services, r, v, req.client_id);
            later(Box::pin(async move {
                ResponseKind::ConsumerGroupHeartbeat(answered.await)
            }))
        }
        RequestKind::ConsumerGroupDescribe(r) => later(Box::pin(async move {
            ResponseKind::ConsumerGroupDescribe(groups::consumer::describe(&services, r, v))
        })),
        RequestKind::AddPartitionsToTxn(r) => later(Box::pin(async move {
            ResponseKind::AddPartitionsToTxn(transactions::add_partitions(&services, r, v).await)
        })),
        RequestKind::AddOffsetsToTxn(r) => later(Box::pin(async move {
            ResponseKind::AddOffsetsToTxn(transactions::add_offsets(&services, r, v).await)
        })),
        RequestKind::EndTxn(r) => later(Box::pin(async move {
            ResponseKind::EndTxn(transactions::end_txn(&services, r, v).await)
        })),
        RequestKind::TxnOffsetCommit(r) => later(Box::pin(async move {
            ResponseKind::TxnOffsetCommit(transactions::txn_offset_commit(&services, r, v).await)
        })),
        RequestKind::DescribeTransactions(r) => later(Box::pin(async move {
            let response = transactions_admin::describe_transactions(&services, r);
            ResponseKind::DescribeTransactions(response)
        })),
        RequestKind::ListTransactions(r) => later(Box::pin(async move {
            ResponseKind::ListTransactions(transactions_admin::list_transactions(&services, r))
        })),
        RequestKind::DescribeProducers(r) => later(Box::pin(async move {
            ResponseKind::DescribeProducers(transactions_admin::describe_producers(&services, r))
        })),
        RequestKind::DescribeClientQuotas(r) => later(Box::pin(async move {
            ResponseKind::DescribeClientQuotas(client_quotas::describe(&services, r))
        })),
        RequestKind::AlterClientQuotas(r) => later(Box::pin(async move {
            ResponseKind::AlterClientQuotas(client_quotas::alter(&services, r).await)
        })),
        RequestKind::DescribeUserScramCredentials(r) => later(Box::pin(async move {
            let response = scram_credentials::describe(&services, r);
            ResponseKind::DescribeUserScramCredentials(response)
        })),
        RequestKind::AlterUserScramCredentials(r) => later(Box::pin(async move {
            let response = scram_credentials::alter(&services, r).await;
            ResponseKind::AlterUserScramCredentials(response)
        })),
        RequestKind::DescribeAcls(r) => later(Box::pin(async move {
            ResponseKind::DescribeAcls(acls::describe(&services, r))
        })),
        RequestKind::CreateAcls(r) => later(Box::pin(async move {
            ResponseKind::CreateAcls(acls::create(&services, r).await)
        })),
        RequestKind::DeleteAcls(r) => later(Box::pin(async move {
            ResponseKind::DeleteAcls(acls::delete(&services, r).await)
        })),
        RequestKind::WriteTxnMarkers(r) => later(Box::pin(async move {
            ResponseKind::WriteTxnMarkers(transactions::write_txn_markers(&services, r).await)
        })),
        // A SASL listener answers these before dispatch; on any other they are out of place.
        RequestKind::SaslHandshake(_) => Pending::Now(
            header.reply(Some(ResponseKind::SaslHandshake(
                SaslHandshakeResponse::default()
                    .with_error_code(ResponseError::IllegalSaslState.code()),
            ))),
        ),
        RequestKind::SaslAuthenticate(_) => Pending::Now(
            header.reply(Some(ResponseKind::SaslAuthenticate(
                SaslAuthenticateResponse::default()
                    .with_error_code(ResponseError::IllegalSaslState.code())
                    .with_error_message(Some(str_bytes(
                        "this listener does not use SASL; connect to a SASL listener",
                    ))),
            ))),
        ),
        other => {
            tracing::debug!(api = ?header.api_key, "request for an API not served; closing");
            drop(other);
            Pending::Now(Reply::Close)
        }
    }
}

/// Kafka error code for "no error".
pub(crate) const NONE: i16 = 0;

pub(crate) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}
