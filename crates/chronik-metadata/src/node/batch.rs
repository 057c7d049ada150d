//! Group commit for controller decisions. Concurrent writers each compute their decision
//! against the state as it will be once everything already decided has applied (the applied
//! state plus the batches in flight), and their records travel together in one Raft entry. One
//! batch is proposed at a time; the next gathers while it commits, so a commit carries every
//! writer that arrived meanwhile instead of one.
//!
//! The projection is exact because the state machine is deterministic and every metadata write
//! of this leader goes through here: the same records applied in the same order to the same
//! state give the same result, rejected records included.

use tokio::sync::oneshot;

use super::{MetaNode, NodeError};
use crate::controller::Decision;
use crate::grpc::pb::NodeCommand;
use crate::{MetadataRecord, MetadataState};

type Reply = oneshot::Sender<Result<Vec<MetadataRecord>, NodeError>>;

/// Decisions gathered for the next proposal, and the projected state they were made against.
#[derive(Default)]
pub(crate) struct Batches {
    /// The applied state plus every batch gathered or in flight; `None` when nothing is.
    projected: Option<MetadataState>,
    open: Vec<(Vec<MetadataRecord>, Reply)>,
    proposing: bool,
}

impl MetaNode {
    /// Computes a decision against the projected state, proposes its records (batched with
    /// other writers') and waits for them to apply. Returns the records that applied.
    pub async fn decide(
        &self,
        decide: impl FnOnce(&MetadataState) -> Decision,
    ) -> Result<Vec<MetadataRecord>, NodeError> {
        let started = std::time::Instant::now();
        // Fail fast on a follower instead of gathering a decision that cannot commit.
        self.ensure_leader().await?;
        let (reply, lead) = {
            let mut batches = self.batches();
            let shared = &self.inner.shared;
            let projected = batches
                .projected
                .get_or_insert_with(|| shared.metadata(MetadataState::clone));
            let records = decide(projected)?;
            if records.is_empty() {
                return Ok(records);
            }
            for record in &records {
                // Exactly what the state machine does: a rejected record changes nothing.
                let _ = projected.apply(record);
            }
            let (tx, rx) = oneshot::channel();
            batches.open.push((records, tx));
            let lead = !batches.proposing;
            batches.proposing = true;
            (rx, lead)
        };
        if lead {
            // A task of its own, so that a caller giving up cannot strand the batches.
            let node = self.clone();
            tokio::spawn(async move { node.propose_batches().await });
        }
        let outcome = reply
            .await
            .map_err(|_| NodeError::Rejected("the meta node stopped".into()))?;
        // From the decision to its records applied: what a controller write costs.
        metrics::histogram!("chronik_meta_decision_seconds")
            .record(started.elapsed().as_secs_f64());
        outcome
    }

    fn batches(&self) -> std::sync::MutexGuard<'_, Batches> {
        self.inner.batches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Proposes gathered batches one at a time until none is left.
    async fn propose_batches(&self) {
        loop {
            let batch = {
                let mut batches = self.batches();
                if batches.open.is_empty() {
                    batches.proposing = false;
                    batches.projected = None;
                    return;
                }
                std::mem::take(&mut batches.open)
            };
            let command = NodeCommand {
                records: (batch.iter())
                    .flat_map(|(records, _)| records.iter().map(MetadataRecord::to_bytes))
                    .collect(),
                voter_address: None,
            };
            let result = {
                let _serial = self.inner.write_lock.lock().await;
                match self.ensure_leader().await {
                    Ok(()) => self.propose(command).await,
                    Err(e) => Err(e),
                }
            };
            match result {
                Ok(applied) => answer(batch, &applied.errors),
                Err(e) => self.fail_all(batch, &e),
            }
        }
    }

    /// Fails a batch that did not commit, and every gathered one: they were decided on top of
    /// it. The projection starts again from the applied state.
    fn fail_all(&self, batch: Vec<(Vec<MetadataRecord>, Reply)>, e: &NodeError) {
        let gathered = {
            let mut batches = self.batches();
            batches.projected = None;
            std::mem::take(&mut batches.open)
        };
        for (_, reply) in batch.into_iter().chain(gathered) {
            let _ = reply.send(Err(copy_error(e)));
        }
    }
}

/// Hands each writer its records' outcome: the first rejection among them, or the records.
fn answer(batch: Vec<(Vec<MetadataRecord>, Reply)>, errors: &[String]) {
    let mut at = 0;
    for (records, reply) in batch {
        let mine = errors.get(at..at + records.len()).unwrap_or(&[]);
        at += records.len();
        let outcome = match mine.iter().find(|e| !e.is_empty()) {
            Some(error) => Err(NodeError::Rejected(error.clone())),
            None if mine.len() == records.len() => Ok(records),
            None => Err(NodeError::Rejected(
                "the apply result is missing records".into(),
            )),
        };
        let _ = reply.send(outcome);
    }
}

/// The same failure for each writer of a batch (errors are not `Clone`; redirects must survive).
fn copy_error(e: &NodeError) -> NodeError {
    match e {
        NodeError::NotLeader {
            leader_id,
            leader_address,
        } => NodeError::NotLeader {
            leader_id: *leader_id,
            leader_address: leader_address.clone(),
        },
        NodeError::ProposalTimeout(d) => NodeError::ProposalTimeout(*d),
        other => NodeError::Rejected(other.to_string()),
    }
}
