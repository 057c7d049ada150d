//! FindCoordinator: the leader of the group's `__consumer_offsets` partition, or of the
//! transactional id's `__transaction_state` partition, at its address on the client's
//! listener. Each internal topic is created on its first lookup.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::find_coordinator_response::Coordinator;
use chronik_kafka::kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;

use crate::groups::{OFFSETS_PARTITIONS, OFFSETS_TOPIC, partition_for};
use crate::handlers::{NONE, endpoints, str_bytes};
use crate::services::Services;
use crate::transactions::{MAX_TXN_ID_BYTES, TXN_PARTITIONS, TXN_TOPIC};

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
    listener: &str,
) -> FindCoordinatorResponse {
    if version >= BATCHED_VERSION {
        let mut coordinators = Vec::new();
        for key in req.coordinator_keys {
            let found = find(services, req.key_type, key.as_str(), listener).await;
            coordinators.push(coordinator(key, found));
        }
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let found = find(services, req.key_type, req.key.as_str(), listener).await;
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

async fn find(services: &Services, key_type: i8, key: &str, listener: &str) -> Found {
    let (topic, partitions, not_available) = match key_type {
        GROUP_KEY => (
            OFFSETS_TOPIC,
            OFFSETS_PARTITIONS,
            "the group coordinator is not available yet",
        ),
        TRANSACTION_KEY if key.is_empty() || key.len() > MAX_TXN_ID_BYTES => {
            return Err((
                ResponseError::InvalidRequest.code(),
                "a transactional id must be 1 to 32767 bytes",
            ));
        }
        TRANSACTION_KEY => (
            TXN_TOPIC,
            TXN_PARTITIONS,
            "the transaction coordinator is not available yet",
        ),
        _ => {
            return Err((
                ResponseError::InvalidRequest.code(),
                "unknown coordinator key type",
            ));
        }
    };
    if services
        .cluster
        .metadata(|s| s.topic_by_name(topic).is_none())
    {
        // First need: create it now rather than waiting for a later lookup.
        if let Err(e) = services
            .cluster
            .create_internal_topic(topic, partitions)
            .await
        {
            tracing::debug!(error = %e, "cannot create {topic} yet");
        }
        services.layer.reconcile().await;
    }
    let not_available = (ResponseError::CoordinatorNotAvailable.code(), not_available);
    services.cluster.metadata(|s| {
        // The topic's actual partition count, whatever it was created with.
        let t = s.topic_by_name(topic).ok_or(not_available)?;
        let count = i32::try_from(t.partitions.len())
            .ok()
            .filter(|n| *n > 0)
            .ok_or(not_available)?;
        let partition = partition_for(key, count);
        let p = t.partition(partition);
        let leader = p.map(|p| p.leader).ok_or(not_available)?;
        // A coordinator this client cannot reach on its listener is as good as none (Kafka).
        let at = endpoints::coordinator(s, leader, listener).ok_or(not_available)?;
        Ok((leader, at.host.clone(), i32::from(at.port)))
    })
}
