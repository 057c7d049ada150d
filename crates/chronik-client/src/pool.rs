//! One live connection per broker address, opened on demand.
//!
//! The address map's lock is only held to find an address's slot, never across a connect: an
//! open (up to the connect timeout plus an ApiVersions round trip) holds only that address's
//! slot, so a dead broker delays calls to that broker alone. Callers that arrive while an open is
//! in progress wait for it and share its outcome, success or failure, instead of each retrying
//! in turn; a caller arriving after a failed open starts a fresh attempt.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::Result;
use crate::conn::{ConnConfig, Connection};

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    /// Held by the task opening a connection to this address.
    opening: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct SlotState {
    conn: Option<Arc<Connection>>,
    /// Finished open attempts, and the outcome of the last one when it failed.
    attempts: u64,
    last_error: Option<crate::ClientError>,
}

impl Slot {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live connection, or the number of finished attempts seen.
    fn live(&self) -> std::result::Result<Arc<Connection>, u64> {
        let s = self.state();
        match &s.conn {
            Some(c) if !c.is_closed() => Ok(c.clone()),
            _ => Err(s.attempts),
        }
    }
}

#[derive(Default)]
pub(crate) struct Pool {
    slots: Mutex<HashMap<SocketAddr, Arc<Slot>>>,
}

impl Pool {
    fn slot(&self, addr: SocketAddr) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(addr).or_default().clone()
    }

    /// The live connection to `addr`, opening one if needed.
    pub async fn get(&self, addr: SocketAddr, cfg: &ConnConfig) -> Result<Arc<Connection>> {
        let slot = self.slot(addr);
        let seen = match slot.live() {
            Ok(c) => return Ok(c),
            Err(attempts) => attempts,
        };
        let _opening = slot.opening.lock().await;
        {
            let s = slot.state();
            if let Some(c) = s.conn.as_ref().filter(|c| !c.is_closed()) {
                return Ok(c.clone());
            }
            // An attempt finished while we waited: its failure is ours too.
            if s.attempts != seen
                && let Some(e) = &s.last_error
            {
                return Err(e.clone());
            }
        }
        let opened = Connection::open(addr, cfg).await.map(Arc::new);
        let mut s = slot.state();
        s.attempts += 1;
        match &opened {
            Ok(c) => {
                s.conn = Some(c.clone());
                s.last_error = None;
            }
            Err(e) => {
                s.conn = None;
                s.last_error = Some(e.clone());
            }
        }
        opened
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use tokio::net::TcpListener;

    use super::*;

    /// A listener that accepts connections and never answers; counts the accepts.
    async fn silent() -> (SocketAddr, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(s);
            }
        });
        (addr, accepted)
    }

    fn cfg(request_timeout: Duration) -> ConnConfig {
        ConnConfig {
            client_id: "t".into(),
            request_timeout,
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 1 << 20,
            tls: None,
            sasl: None,
        }
    }

    async fn until(what: &str, deadline: Duration, check: impl Fn() -> bool) {
        let end = Instant::now() + deadline;
        while !check() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_stuck_open_does_not_block_other_brokers() {
        let pool = Arc::new(Pool::default());
        let (stuck, stuck_accepts) = silent().await;
        let (other, other_accepts) = silent().await;
        let cfg = cfg(Duration::from_secs(30));
        let (p, c) = (pool.clone(), cfg.clone());
        let first = tokio::spawn(async move { p.get(stuck, &c).await.map(|_| ()) });
        until("the first open to connect", Duration::from_secs(5), || {
            stuck_accepts.load(Ordering::SeqCst) == 1
        })
        .await;
        // The first open now waits up to 30 s for ApiVersions; the other broker is reached now.
        let (p, c) = (pool.clone(), cfg.clone());
        let second = tokio::spawn(async move { p.get(other, &c).await.map(|_| ()) });
        until("the other broker's open", Duration::from_secs(5), || {
            other_accepts.load(Ordering::SeqCst) == 1
        })
        .await;
        first.abort();
        second.abort();
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_open_and_its_failure() {
        let pool = Arc::new(Pool::default());
        let (addr, accepts) = silent().await;
        let cfg = cfg(Duration::from_millis(300));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (p, c) = (pool.clone(), cfg.clone());
            tasks.push(tokio::spawn(
                async move { p.get(addr, &c).await.map(|_| ()) },
            ));
        }
        let start = Instant::now();
        for t in tasks {
            let err = tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("open finishes within its timeout")
                .unwrap()
                .unwrap_err();
            assert_eq!(err.name(), "RequestTimedOut", "{err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "one shared attempt, not four in turn"
        );
        assert_eq!(accepts.load(Ordering::SeqCst), 1, "one connection attempt");
        // A caller after the failure tries again.
        let _ = pool.get(addr, &cfg).await;
        assert_eq!(accepts.load(Ordering::SeqCst), 2);
    }
}
