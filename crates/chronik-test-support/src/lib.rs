//! What tests across the workspace share: waiting for a condition with a deadline (polling,
//! never a bare sleep as synchronisation), ephemeral loopback ports, and the simulated network
//! of the deterministic simulations ([`net`]).
//!
//! A timed-out wait panics with what it waited for, so a failing test says which condition
//! never held.

pub mod net;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a wait checks its condition again.
const POLL: Duration = Duration::from_millis(20);

/// A loopback port nobody listens on right now (the OS's next ephemeral port), never one this
/// process handed out before: the OS may give a port just released to the next bind, so two
/// servers of one test could otherwise be told to share it.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
        let port = listener
            .local_addr()
            .expect("read the bound address")
            .port();
        let mut handed_out = HANDED_OUT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// Calls `check` until it yields a value; panics naming `what` once `timeout` has passed.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Waits until `ready` holds; panics naming `what` once `timeout` has passed.
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    eventually(what, timeout, || ready().then_some(()));
}

/// [`eventually`] for async checks, on tokio's clock (so a test with a paused clock waits in
/// simulated time).
pub async fn eventually_async<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::{eventually, free_port, wait_until};

    #[test]
    fn a_wait_returns_the_first_value_its_check_yields() {
        let mut calls = 0;
        let got = eventually("the third call", Duration::from_secs(5), || {
            calls += 1;
            (calls == 3).then_some(calls * 10)
        });
        assert_eq!(got, 30);
    }

    #[test]
    #[should_panic(expected = "waiting for a condition that never holds")]
    fn a_wait_past_its_deadline_names_what_it_waited_for() {
        wait_until(
            "a condition that never holds",
            Duration::from_millis(50),
            || false,
        );
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port();
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
    }

    #[test]
    fn a_port_is_handed_out_once() {
        let ports: BTreeSet<u16> = (0..200).map(|_| free_port()).collect();
        assert_eq!(ports.len(), 200);
    }
}
