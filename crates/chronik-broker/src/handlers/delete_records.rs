//! DeleteRecords: moves partitions' log start offsets up (as their leader), answering each
//! with its low watermark once the ISR has followed, or REQUEST_TIMED_OUT.

use std::sync::Arc;
use std::time::Duration;

use chronik_kafka::kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use chronik_kafka::kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use chronik_types::TopicPartition;
use tokio::task::JoinSet;

use super::NONE;
use crate::kafka_errors::partition_error_code;
use crate::services::Services;

/// The longest a request waits for the ISR, whatever its timeout says.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) async fn handle(
    services: Arc<Services>,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let timeout =
        Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0)).min(MAX_TIMEOUT);
    // Every partition moves at once; each answer waits for its own ISR.
    let mut tasks = JoinSet::new();
    for (t, topic) in req.topics.iter().enumerate() {
        for (p, part) in topic.partitions.iter().enumerate() {
            let tp = TopicPartition::new(topic.name.0.as_str(), part.partition_index);
            let (services, offset) = (services.clone(), part.offset);
            tasks.spawn(async move {
                let outcome = services.layer.delete_records(&tp, offset, timeout).await;
                if let Err(e) = &outcome {
                    tracing::debug!(partition = %tp, offset, error = %e, "delete records refused");
                }
                (t, p, outcome.map_err(|e| partition_error_code(&e)))
            });
        }
    }
    let mut response = DeleteRecordsResponse::default();
    response.topics = (req.topics.iter())
        .map(|topic| {
            let partitions = (topic.partitions.iter())
                .map(|part| {
                    DeleteRecordsPartitionResult::default()
                        .with_partition_index(part.partition_index)
                        .with_low_watermark(-1)
                        .with_error_code(
                            chronik_kafka::kafka_protocol::error::ResponseError::UnknownServerError
                                .code(),
                        )
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    while let Some(joined) = tasks.join_next().await {
        let Ok((t, p, outcome)) = joined else {
            continue;
        };
        let slot = &mut response.topics[t].partitions[p];
        match outcome {
            Ok(low) => {
                slot.low_watermark = low;
                slot.error_code = NONE;
            }
            Err(code) => slot.error_code = code,
        }
    }
    response
}
