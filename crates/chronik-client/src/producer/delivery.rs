//! How a record learns its fate: one shared slot per batch rather than a channel per record.
//! The batch's sender resolves the slot once (result and time of the answer); each record's
//! [`Delivery`] reads it at its own index.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::Notify;

use super::Written;
use crate::{ClientError, Result};

struct Slot {
    /// The batch's result (its base offset on success) and when the producer learned it.
    outcome: OnceLock<(Result<Written>, Instant)>,
    done: Notify,
}

/// The producer's side of a batch's slot: resolves every record of the batch at once. Dropped
/// unresolved (its worker stopped), it fails them with [`ClientError::ProducerClosed`].
pub(crate) struct Completion(Arc<Slot>);

impl Completion {
    pub fn new() -> Self {
        Self(Arc::new(Slot {
            outcome: OnceLock::new(),
            done: Notify::new(),
        }))
    }

    /// The delivery of the batch's `index`-th record.
    pub fn delivery(&self, index: usize) -> Delivery {
        Delivery {
            slot: self.0.clone(),
            index,
        }
    }

    /// Resolves the batch: on success its n-th record is at `base + n`. `at` is when the answer
    /// arrived (or the batch failed).
    pub fn complete(self, result: Result<Written>, at: Instant) {
        self.set(result, at);
    }

    fn set(&self, result: Result<Written>, at: Instant) {
        if self.0.outcome.set((result, at)).is_ok() {
            self.0.done.notify_waiters();
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if self.0.outcome.get().is_none() {
            self.set(Err(ClientError::ProducerClosed), Instant::now());
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: Result<Written>,
    /// When the producer learned it: the arrival of the batch's answer (for acks=0, the end of
    /// its write), or the failure. Every record of a batch has the same time, however late the
    /// caller looks at it.
    pub at: Instant,
}

/// Resolves once the record is acknowledged (or sent, with acks=0) or has failed for good.
pub struct Delivery {
    slot: Arc<Slot>,
    index: usize,
}

impl Delivery {
    /// The outcome if the record is already settled; never waits.
    pub fn try_outcome(&self) -> Option<Outcome> {
        let (result, at) = self.slot.outcome.get()?;
        let result = match result {
            Ok(Written::At(base)) => Ok(Written::At(base + self.index as i64)),
            Ok(other) => Ok(*other),
            Err(e) => Err(e.clone()),
        };
        Some(Outcome { result, at: *at })
    }

    /// Waits until the record is settled.
    pub async fn outcome(&self) -> Outcome {
        loop {
            let notified = self.slot.done.notified();
            tokio::pin!(notified);
            // Registered before looking, so a resolution in between still wakes us.
            notified.as_mut().enable();
            if let Some(o) = self.try_outcome() {
                return o;
            }
            notified.await;
        }
    }

    /// Waits until the record is settled and returns where it was written.
    pub async fn wait(self) -> Result<Written> {
        self.outcome().await.result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_record_of_a_batch_gets_its_offset_and_the_answer_time() {
        let c = Completion::new();
        let (d0, d2) = (c.delivery(0), c.delivery(2));
        assert!(d0.try_outcome().is_none());
        let waiter = tokio::spawn(async move { d2.outcome().await });
        tokio::task::yield_now().await;
        let at = Instant::now();
        c.complete(Ok(Written::At(40)), at);
        let o = waiter.await.unwrap();
        assert_eq!((o.result.unwrap(), o.at), (Written::At(42), at));
        assert_eq!(d0.wait().await.unwrap(), Written::At(40));
    }

    #[tokio::test]
    async fn an_abandoned_batch_fails_its_records() {
        let c = Completion::new();
        let d = c.delivery(0);
        drop(c);
        assert_eq!(d.wait().await.unwrap_err().name(), "ProducerClosed");
    }
}
