//! Asking a coordinator on another broker about a transactional write, with the batched
//! AddPartitionsToTxn Kafka's brokers send each other: whether the partition is in the
//! producer's ongoing transaction (KIP-890 part 1, v4 with `verify_only`), or to add it
//! (KIP-890 part 2, v5).

use std::sync::Arc;

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use chronik_kafka::kafka_protocol::messages::{
    AddPartitionsToTxnRequest, ProducerId, TopicName, TransactionalId,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_types::TopicPartition;

use super::TXN_TOPIC;
use super::coordinator::{TxnCoordinator, Verified};

/// The first AddPartitionsToTxn version with batched transactions and `verify_only`.
pub(crate) const VERIFY_VERSION: i16 = 4;
/// The AddPartitionsToTxn version a broker adds a partition for a producer with (KIP-890 part 2).
const ADD_VERSION: i16 = 5;

/// What a broker asks the coordinator of a transactional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    /// Is the partition in the ongoing transaction?
    Verify,
    /// Add the partition to the transaction, beginning one if needed.
    Add,
}

impl TxnCoordinator {
    pub(super) async fn ask_remote(
        self: &Arc<Self>,
        txn_id: &str,
        producer: (i64, i16),
        tp: &TopicPartition,
        ask: Ask,
    ) -> Verified {
        let leader = self.cluster.metadata(|s| {
            let topic = s.topic_by_name(TXN_TOPIC)?;
            let count = i32::try_from(topic.partitions.len()).ok()?;
            let partition = crate::groups::partition_for(txn_id, count);
            Some(topic.partition(partition)?.leader)
        });
        let Some(leader) = leader.filter(|l| *l >= 0) else {
            return Verified::Unavailable("the transaction coordinator is not known".into());
        };
        let Some(peer) = self.cluster.peer_address(leader).await else {
            return Verified::Unavailable(format!("broker {leader} has no address"));
        };
        let conn = match self.peers.connection(&self.cluster, &peer).await {
            Ok(c) => c,
            Err(e) => return Verified::Unavailable(format!("cannot reach broker {leader}: {e}")),
        };
        let txn = AddPartitionsToTxnTransaction::default()
            .with_transactional_id(TransactionalId(StrBytes::from_string(txn_id.to_owned())))
            .with_producer_id(ProducerId(producer.0))
            .with_producer_epoch(producer.1)
            .with_verify_only(ask == Ask::Verify)
            .with_topics(vec![
                AddPartitionsToTxnTopic::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![tp.partition]),
            ]);
        let req = AddPartitionsToTxnRequest::default().with_transactions(vec![txn]);
        let version = match ask {
            Ask::Verify => VERIFY_VERSION,
            Ask::Add => ADD_VERSION,
        };
        let response = match conn.call_at(&req, version, "chronik-txn-verify").await {
            Ok(r) => r,
            Err(e) => return Verified::Unavailable(format!("verification failed: {e}")),
        };
        if response.error_code != 0 {
            return Verified::Unavailable(format!("coordinator answered {}", response.error_code));
        }
        let code = (response.results_by_transaction.iter())
            .flat_map(|t| t.topic_results.iter())
            .flat_map(|t| t.results_by_partition.iter())
            .map(|p| p.partition_error_code)
            .next();
        match code {
            Some(0) => Verified::InTransaction,
            Some(c) if c == ResponseError::InvalidTxnState.code() => Verified::NotInTransaction,
            Some(c)
                if c == ResponseError::ProducerFenced.code()
                    || c == ResponseError::InvalidProducerEpoch.code() =>
            {
                Verified::Fenced
            }
            Some(c) => Verified::Unavailable(format!("coordinator answered {c}")),
            None => Verified::Unavailable("the coordinator answered nothing".into()),
        }
    }
}
