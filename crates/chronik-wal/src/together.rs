//! Appends made together. A caller that appends to many logs at once (one produce request's
//! partitions) holds back the flusher wake-ups of its appends until all of them are written:
//! the logs they make due are then synced in one round (one `syncfs` for many logs), not one
//! by one by workers woken by the first few appends while the rest are still being written.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::flusher::Shared;

/// One [`appends_together`] call: which it is, and the flushers whose wake-up it holds.
struct Held {
    call: u64,
    flushers: Vec<Arc<Shared>>,
}

thread_local! {
    /// While [`appends_together`] runs on this thread: what it holds.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Numbers the outermost [`appends_together`] calls of the process.
static NEXT_CALL: AtomicU64 = AtomicU64::new(0);

/// Runs `appends` (synchronous, so it cannot move to another thread midway) with the flusher
/// wake-ups of its appends held back until it returns or unwinds. A nested call joins the
/// outermost one.
pub fn appends_together<R>(appends: impl FnOnce() -> R) -> R {
    let outermost = HELD.with_borrow_mut(|held| {
        let outermost = held.is_none();
        held.get_or_insert_with(|| Held {
            call: NEXT_CALL.fetch_add(1, Ordering::Relaxed),
            flushers: Vec::new(),
        });
        outermost
    });
    let _release = outermost.then_some(Release);
    appends()
}

/// Wakes the held flushers when the outermost [`appends_together`] ends.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let held = HELD.with_borrow_mut(Option::take);
        for shared in held.map(|h| h.flushers).unwrap_or_default() {
            shared.wake.notify_one();
        }
    }
}

/// The outermost [`appends_together`] call running on this thread, if one is: appends of
/// one call are waited for together.
pub(crate) fn current_call() -> Option<u64> {
    HELD.with_borrow(|held| held.as_ref().map(|h| h.call))
}

/// Wakes a worker of `shared` now, or when the [`appends_together`] running on this thread
/// ends.
pub(crate) fn wake(shared: &Arc<Shared>) {
    let now = HELD.with_borrow_mut(|held| match held {
        None => true,
        Some(held) => {
            if !held.flushers.iter().any(|s| Arc::ptr_eq(s, shared)) {
                held.flushers.push(shared.clone());
            }
            false
        }
    });
    if now {
        shared.wake.notify_one();
    }
}
