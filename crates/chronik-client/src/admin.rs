//! Admin calls: create and delete topics, describe the cluster.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::cluster::{Client, ClusterMeta};
use crate::{ClientError, Result};

/// What `create_topic` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExisted,
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

impl Client {
    /// Creates `name` with `partitions` partitions (`replication_factor` -1: the broker default),
    /// then waits until metadata shows a leader for every partition.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<Created> {
        let timeout = self.config().request_timeout;
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX))
            .with_topics(vec![
                CreatableTopic::default()
                    .with_name(topic_name(name))
                    .with_num_partitions(partitions)
                    .with_replication_factor(replication_factor),
            ]);
        let resp: CreateTopicsResponse = self.call_any(&req).await?;
        let Some(t) = resp.topics.first() else {
            return Err(ClientError::InvalidInput(format!(
                "CreateTopics for {name}: the broker answered for no topic"
            )));
        };
        let created = if t.error_code == ResponseError::TopicAlreadyExists.code() {
            Created::AlreadyExisted
        } else {
            ClientError::check(t.error_code, || format!("create topic {name}"))?;
            Created::Created
        };
        self.wait_for_leaders(name, timeout).await?;
        Ok(created)
    }

    /// Polls metadata until every partition of `topic` has a leader, or `timeout` passes.
    pub async fn wait_for_leaders(&self, topic: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.refresh_metadata(&[topic.to_owned()]).await?;
            let ready = self
                .metadata()
                .topics
                .get(topic)
                .is_some_and(|ps| !ps.is_empty() && ps.iter().all(|p| p.leader >= 0));
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ClientError::NoLeader {
                    what: format!(
                        "topic {topic} has partitions without a leader after {timeout:?}"
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Deletes `name`.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let timeout = self.config().request_timeout;
        let req = DeleteTopicsRequest::default()
            .with_timeout_ms(i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX))
            .with_topic_names(vec![topic_name(name)]);
        let resp: DeleteTopicsResponse = self.call_any(&req).await?;
        let Some(r) = resp.responses.first() else {
            return Err(ClientError::InvalidInput(format!(
                "DeleteTopics for {name}: the broker answered for no topic"
            )));
        };
        ClientError::check(r.error_code, || format!("delete topic {name}"))?;
        self.refresh_metadata(&[name.to_owned()]).await
    }

    /// Brokers, controller and cluster id, freshly loaded (Metadata).
    pub async fn describe_cluster(&self) -> Result<ClusterMeta> {
        self.refresh_metadata(&[]).await?;
        Ok(self.metadata())
    }
}
