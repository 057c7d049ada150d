//! The local image of an external quorum's metadata, following its committed records through
//! `Watch` (docs/architecture.md, "Metadata change").

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chronik_metadata::MetadataState;
use chronik_metadata::grpc::{MetaClient, apply_watch_event};
use tokio::sync::watch;
use tokio_stream::StreamExt;

use super::external::{CALL_TIMEOUT, TOTAL_TIMEOUT};

/// Pause before re-opening a broken watch.
const REWATCH_PAUSE: Duration = Duration::from_millis(200);

/// The local copy of the quorum's metadata.
pub(crate) struct Image {
    state: RwLock<MetadataState>,
    /// Counts the watch events applied, so waiters learn of every change.
    applied: watch::Sender<u64>,
}

impl Image {
    pub fn new() -> Image {
        Image {
            state: RwLock::new(MetadataState::new()),
            applied: watch::channel(0).0,
        }
    }

    pub fn metadata<R>(&self, f: impl FnOnce(&MetadataState) -> R) -> R {
        f(&self.state.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }
}

/// Follows the quorum's committed records into `image` for as long as the broker runs,
/// re-opening the watch (on any meta node) where it broke.
pub(super) async fn follow(client: MetaClient, image: Arc<Image>) {
    let mut client = client.with_timeouts(CALL_TIMEOUT, TOTAL_TIMEOUT);
    let mut from = 0u64;
    loop {
        match client.watch(from).await {
            Ok((node, mut stream)) => {
                tracing::debug!(%node, from, "watching metadata");
                while let Some(event) = stream.next().await {
                    let event = match event {
                        Ok(event) => event,
                        Err(status) => {
                            tracing::debug!(%node, %status, "metadata watch ended");
                            break;
                        }
                    };
                    tracing::trace!(index = event.index, "metadata event");
                    let applied = {
                        let mut state = image.state.write().unwrap_or_else(|p| p.into_inner());
                        apply_watch_event(&mut state, &event)
                    };
                    match applied {
                        Ok(next) => {
                            from = next;
                            image.applied.send_modify(|n| *n += 1);
                        }
                        Err(e) => {
                            // A record this image cannot apply: start over from a snapshot.
                            tracing::warn!(error = %e, index = event.index, "metadata record not applicable; re-reading from the start");
                            from = 0;
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot watch the metadata quorum; retrying"),
        }
        tokio::time::sleep(REWATCH_PAUSE).await;
    }
}
