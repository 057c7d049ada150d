//! FindCoordinator: the leader of the group's `__consumer_offsets` partition. Transaction
//! coordinators (key type 1) do not exist: Chronik does not implement transactions.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::find_coordinator_response::Coordinator;
use chronik_kafka::kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;

use crate::groups::{OFFSETS_PARTITIONS, OFFSETS_TOPIC, offsets_partitions, partition_for};
use crate::handlers::{NONE, str_bytes};
use crate::services::Services;

const GROUP_KEY: i8 = 0;
const TRANSACTION_KEY: i8 = 1;
/// FindCoordinator v4 batched the keys.
const BATCHED_VERSION: i16 = 4;

/// Where one key's coordinator is: (node, host, port) or an error code with a message.
type Found = Result<(i32, String, i32), (i16, &'static str)>;

pub(crate) async fn handle(
    services: &Services,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    if version >= BATCHED_VERSION {
        let mut coordinators = Vec::new();
        for key in req.coordinator_keys {
            let found = find(services, req.key_type, key.as_str()).await;
            coordinators.push(coordinator(key, found));
        }
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let found = find(services, req.key_type, req.key.as_str()).await;
    let message = |m: &str| (version >= 1).then(|| str_bytes(m));
    match found {
        Ok((node, host, port)) => FindCoordinatorResponse::default()
            .with_error_code(NONE)
            .with_error_message(None)
            .with_node_id(BrokerId(node))
            .with_host(str_bytes(&host))
            .with_port(port),
        Err((code, text)) => FindCoordinatorResponse::default()
            .with_error_code(code)
            .with_error_message(message(text))
            .with_node_id(BrokerId(-1))
            .with_port(-1),
    }
}

fn coordinator(key: StrBytes, found: Found) -> Coordinator {
    let c = Coordinator::default().with_key(key);
    match found {
        Ok((node, host, port)) => c
            .with_node_id(BrokerId(node))
            .with_host(str_bytes(&host))
            .with_port(port)
            .with_error_code(NONE),
        Err((code, text)) => c
            .with_node_id(BrokerId(-1))
            .with_port(-1)
            .with_error_code(code)
            .with_error_message(Some(str_bytes(text))),
    }
}

async fn find(services: &Services, key_type: i8, key: &str) -> Found {
    match key_type {
        GROUP_KEY => {}
        TRANSACTION_KEY => {
            return Err((
                ResponseError::InvalidRequest.code(),
                "transactions are not supported by this broker",
            ));
        }
        _ => {
            return Err((
                ResponseError::InvalidRequest.code(),
                "unknown coordinator key type",
            ));
        }
    }
    if !services.cluster.offsets_topic_exists() {
        // First need: create it now rather than waiting for the reaper's next pass.
        if let Err(e) = services
            .cluster
            .create_offsets_topic(OFFSETS_PARTITIONS)
            .await
        {
            tracing::debug!(error = %e, "cannot create {OFFSETS_TOPIC} yet");
        }
        services.layer.reconcile().await;
    }
    let not_available = (
        ResponseError::CoordinatorNotAvailable.code(),
        "the group coordinator is not available yet",
    );
    services.cluster.metadata(|s| {
        // The topic's actual partition count, whatever it was created with.
        let count = offsets_partitions(s).ok_or(not_available)?;
        let partition = partition_for(key, count);
        let p = (s.topic_by_name(OFFSETS_TOPIC)).and_then(|t| t.partition(partition));
        let leader = p.map(|p| p.leader).ok_or(not_available)?;
        let broker = (s.live_brokers())
            .find(|b| b.id == leader)
            .ok_or(not_available)?;
        Ok((leader, broker.host.clone(), i32::from(broker.port)))
    })
}
