//! The handle an append waits on until it is as durable as its log's fsync policy promises.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::{Result, WalError};

/// The handle an append returns: resolves once the append is as durable as its log's fsync
/// policy promises (after its fsync when every append waits for one; at once otherwise).
#[derive(Debug)]
#[must_use = "an append is only durable once its handle resolves"]
pub struct Durable {
    /// The log's name, shared rather than copied: a handle is made per append.
    log: Arc<str>,
    rx: Option<oneshot::Receiver<Result<(), String>>>,
}

impl Durable {
    pub(crate) fn ready(log: &Arc<str>) -> Self {
        Self {
            log: log.clone(),
            rx: None,
        }
    }

    pub(crate) fn waiting(log: &Arc<str>, rx: oneshot::Receiver<Result<(), String>>) -> Self {
        Self {
            log: log.clone(),
            rx: Some(rx),
        }
    }

    fn outcome(&self, got: Result<Result<(), String>, oneshot::error::RecvError>) -> Result<()> {
        match got {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) if reason == WalError::Truncated.to_string() => {
                Err(WalError::Truncated)
            }
            Ok(Err(reason)) => Err(WalError::LogFailed {
                log: self.log.to_string(),
                reason,
            }),
            Err(_) => Err(WalError::Closed(self.log.to_string())),
        }
    }

    /// Whether the append has resolved, without waiting: `None` while it is still pending.
    pub fn try_wait(&mut self) -> Option<Result<()>> {
        let Some(rx) = self.rx.as_mut() else {
            return Some(Ok(()));
        };
        let got = match rx.try_recv() {
            Err(oneshot::error::TryRecvError::Empty) => return None,
            Ok(v) => Ok(v),
            Err(oneshot::error::TryRecvError::Closed) => Err(()),
        };
        self.rx = None;
        Some(match got {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(WalError::LogFailed {
                log: self.log.to_string(),
                reason,
            }),
            Err(()) => Err(WalError::Closed(self.log.to_string())),
        })
    }

    /// Waits in a blocking thread. Must not be called from inside an async task.
    pub fn wait(mut self) -> Result<()> {
        match self.rx.take() {
            None => Ok(()),
            Some(rx) => self.outcome(rx.blocking_recv()),
        }
    }

    /// Waits from async code.
    pub async fn wait_async(mut self) -> Result<()> {
        match self.rx.take() {
            None => Ok(()),
            Some(rx) => {
                let got = rx.await;
                self.outcome(got)
            }
        }
    }
}
