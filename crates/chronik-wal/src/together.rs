//! Appends made together. A caller that appends to many logs at once (one produce request's
//! partitions) holds back the flusher wake-ups of its appends until all of them are written:
//! the logs they make due are then synced in one round (one `syncfs` for many logs), not one
//! by one by workers woken by the first few appends while the rest are still being written.

use std::cell::RefCell;
use std::sync::Arc;

use crate::flusher::Shared;

thread_local! {
    /// While [`appends_together`] runs on this thread: the flushers whose wake-up it holds.
    static HELD: RefCell<Option<Vec<Arc<Shared>>>> = const { RefCell::new(None) };
}

/// Runs `appends` (synchronous, so it cannot move to another thread midway) with the flusher
/// wake-ups of its appends held back until it returns or unwinds. A nested call joins the
/// outermost one.
pub fn appends_together<R>(appends: impl FnOnce() -> R) -> R {
    let outermost = HELD.with_borrow_mut(|held| {
        let outermost = held.is_none();
        held.get_or_insert_with(Vec::new);
        outermost
    });
    let _release = outermost.then_some(Release);
    appends()
}

/// Wakes the held flushers when the outermost [`appends_together`] ends.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        for shared in HELD.with_borrow_mut(Option::take).unwrap_or_default() {
            shared.wake.notify_one();
        }
    }
}

/// Whether an [`appends_together`] runs on this thread.
pub(crate) fn active() -> bool {
    HELD.with_borrow(Option::is_some)
}

/// Wakes a worker of `shared` now, or when the [`appends_together`] running on this thread
/// ends.
pub(crate) fn wake(shared: &Arc<Shared>) {
    let now = HELD.with_borrow_mut(|held| match held {
        None => true,
        Some(held) => {
            if !held.iter().any(|s| Arc::ptr_eq(s, shared)) {
                held.push(shared.clone());
            }
            false
        }
    });
    if now {
        shared.wake.notify_one();
    }
}
