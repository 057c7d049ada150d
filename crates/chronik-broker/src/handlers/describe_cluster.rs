//! DescribeCluster: the cluster id, the controller and the live brokers, each at its address
//! on the client's listener (brokers without that listener are left out, as Kafka does).

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use chronik_kafka::kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse,
};

use super::{NONE, endpoints, str_bytes};
use crate::services::Services;

/// DescribeCluster v1 endpoint types: brokers, or KRaft controllers (not exposed here).
const BROKERS: i8 = 1;
/// Kafka's "authorized operations not requested / not computed".
const NO_OPERATIONS: i32 = i32::MIN;

pub(crate) fn handle(
    services: &Services,
    req: DescribeClusterRequest,
    listener: &str,
) -> DescribeClusterResponse {
    tracing::debug!(endpoint_type = req.endpoint_type, "describe cluster");
    let response = DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(str_bytes(&services.cluster.cluster_id()))
        .with_cluster_authorized_operations(NO_OPERATIONS);
    if req.endpoint_type != BROKERS {
        return response
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(str_bytes(
                "only broker endpoints (type 1) are described; the metadata quorum is not a Kafka endpoint",
            )))
            .with_controller_id(BrokerId(-1));
    }
    let brokers = services.cluster.metadata(|s| {
        (endpoints::live_brokers(s, listener))
            .map(|(b, at)| {
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(b.id))
                    .with_host(str_bytes(&at.host))
                    .with_port(i32::from(at.port))
                    .with_rack(b.rack.as_deref().map(str_bytes))
            })
            .collect()
    });
    response
        .with_error_code(NONE)
        .with_controller_id(BrokerId(services.cluster.me))
        .with_brokers(brokers)
}
