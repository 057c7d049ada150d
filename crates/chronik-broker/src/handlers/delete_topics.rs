//! DeleteTopics through the metadata node; the reconciler then removes the partition logs.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use chronik_kafka::kafka_protocol::messages::{
    DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};

use super::{NONE, str_bytes};
use crate::kafka_errors;
use crate::services::Services;

/// DeleteTopics v6 names topics by name or id instead of by name only.
const BY_ID_VERSION: i16 = 6;

pub(crate) async fn handle(
    services: &Services,
    req: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let mut response = DeleteTopicsResponse::default();
    let targets: Vec<(Option<String>, uuid::Uuid)> = if version >= BY_ID_VERSION {
        (req.topics.iter())
            .map(|t| (t.name.as_ref().map(|n| n.0.as_str().to_owned()), t.topic_id))
            .collect()
    } else {
        (req.topic_names.iter())
            .map(|n| (Some(n.0.as_str().to_owned()), uuid::Uuid::nil()))
            .collect()
    };
    for (name, id) in targets {
        response.responses.push(delete(services, name, id).await);
    }
    services.layer.reconcile().await;
    response
}

async fn delete(services: &Services, name: Option<String>, id: uuid::Uuid) -> DeletableTopicResult {
    let name = name.or_else(|| {
        services.cluster.metadata(|s| {
            (s.topics())
                .find(|t| t.id.0 == *id.as_bytes())
                .map(|t| t.name.clone())
        })
    });
    let result = DeletableTopicResult::default().with_topic_id(id);
    let Some(name) = name else {
        return result.with_error_code(ResponseError::UnknownTopicId.code());
    };
    let result = result.with_name(Some(TopicName(str_bytes(&name))));
    if crate::services::is_internal_topic(&name) {
        let message = format!("'{name}' is an internal topic and cannot be deleted");
        return result
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes(&message)));
    }
    match services.cluster.delete_topic(&name).await {
        Ok(()) => result.with_error_code(NONE),
        Err(e) => result
            .with_error_code(kafka_errors::node_error(&e).code())
            .with_error_message(Some(str_bytes(&e.to_string()))),
    }
}
