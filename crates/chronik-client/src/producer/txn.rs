//! A transactional producer's requests to its transaction coordinator: InitProducerId with the
//! transactional id, AddPartitionsToTxn and EndTxn. Coordinator moves and loading are retried
//! (the coordinator is looked up again), as is CONCURRENT_TRANSACTIONS (the previous
//! transaction's markers are still being written), until the transaction timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse,
    InitProducerIdRequest, InitProducerIdResponse, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::Mutex;

use crate::cluster::Client;
use crate::group::rpc::find_coordinator_of;
use crate::{ClientError, Result};

/// Wait between retries of a coordinator request.
const BACKOFF: Duration = Duration::from_millis(20);

pub(crate) struct Coordinator {
    client: Client,
    txn_id: String,
    timeout: Duration,
    /// Where the coordinator was last found.
    addr: Mutex<Option<SocketAddr>>,
}

impl Coordinator {
    pub fn new(client: Client, txn_id: String, timeout: Duration) -> Self {
        Coordinator {
            client,
            txn_id,
            timeout,
            addr: Mutex::new(None),
        }
    }

    fn id(&self) -> TransactionalId {
        TransactionalId(StrBytes::from_string(self.txn_id.clone()))
    }

    /// Runs `call` against the coordinator until it answers with no error, one not worth a
    /// retry, or the transaction timeout passes; the coordinator is looked up again after it
    /// moved.
    async fn retrying<F, Fut>(&self, what: &str, mut call: F) -> Result<()>
    where
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = Result<i16>>,
    {
        let deadline = Instant::now() + self.timeout;
        loop {
            let addr = {
                let mut addr = self.addr.lock().await;
                match *addr {
                    Some(a) => Ok(a),
                    None => find_coordinator_of(&self.client, &self.txn_id, 1)
                        .await
                        .inspect(|a| *addr = Some(*a)),
                }
            };
            let outcome = match addr {
                Ok(addr) => call(addr).await,
                Err(e) => Err(e),
            };
            let code = match outcome {
                Ok(0) => return Ok(()),
                Ok(code) => code,
                Err(e) if e.is_retriable() && Instant::now() < deadline => {
                    *self.addr.lock().await = None;
                    tokio::time::sleep(BACKOFF).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let moved = code == ResponseError::NotCoordinator.code()
                || code == ResponseError::CoordinatorNotAvailable.code();
            let busy = code == ResponseError::CoordinatorLoadInProgress.code()
                || code == ResponseError::ConcurrentTransactions.code();
            if (moved || busy) && Instant::now() < deadline {
                if moved {
                    *self.addr.lock().await = None;
                }
                tokio::time::sleep(BACKOFF).await;
                continue;
            }
            return ClientError::check(code, || {
                format!("{what} for transactional id {}", self.txn_id)
            });
        }
    }

    /// InitProducerId with the transactional id: the producer id and epoch to use.
    pub async fn init(&self) -> Result<(i64, i16)> {
        let timeout_ms = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(self.id()))
            .with_transaction_timeout_ms(timeout_ms)
            .with_producer_id((-1).into())
            .with_producer_epoch(-1);
        let ids = std::sync::Mutex::new((-1, -1));
        self.retrying("InitProducerId", |addr| {
            let (req, ids) = (&req, &ids);
            async move {
                let conn = self.client.conn(addr).await?;
                let resp: InitProducerIdResponse = conn.call(req, self.client.client_id()).await?;
                *ids.lock().unwrap_or_else(|p| p.into_inner()) =
                    (resp.producer_id.0, resp.producer_epoch);
                Ok(resp.error_code)
            }
        })
        .await?;
        Ok(ids.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    /// AddPartitionsToTxn: `partitions` of `topic` join the producer's transaction.
    pub async fn add_partitions(
        &self,
        producer: (i64, i16),
        topic: &str,
        partitions: &[i32],
    ) -> Result<()> {
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(self.id())
            .with_v3_and_below_producer_id(producer.0.into())
            .with_v3_and_below_producer_epoch(producer.1)
            .with_v3_and_below_topics(vec![
                AddPartitionsToTxnTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                    .with_partitions(partitions.to_vec()),
            ]);
        self.retrying("AddPartitionsToTxn", |addr| {
            let req = &req;
            async move {
                let conn = self.client.conn(addr).await?;
                let resp: AddPartitionsToTxnResponse =
                    conn.call(req, self.client.client_id()).await?;
                let codes = (resp.results_by_topic_v3_and_below.iter()).flat_map(|t| {
                    t.results_by_partition
                        .iter()
                        .map(|p| p.partition_error_code)
                });
                Ok(codes.into_iter().find(|c| *c != 0).unwrap_or(0))
            }
        })
        .await
    }

    /// EndTxn: commits or aborts the producer's transaction. Every batch of it must have been
    /// answered first.
    pub async fn end(&self, producer: (i64, i16), commit: bool) -> Result<()> {
        let req = EndTxnRequest::default()
            .with_transactional_id(self.id())
            .with_producer_id(producer.0.into())
            .with_producer_epoch(producer.1)
            .with_committed(commit);
        self.retrying("EndTxn", |addr| {
            let req = &req;
            async move {
                let conn = self.client.conn(addr).await?;
                let resp: EndTxnResponse = conn.call(req, self.client.client_id()).await?;
                Ok(resp.error_code)
            }
        })
        .await
    }
}
