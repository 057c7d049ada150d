//! Cleaning one compacted partition log (Kafka's `Cleaner`): chronik-compaction decides, this
//! crate reads the segments, writes the cleaned ones through chronik-wal's crash-safe swap,
//! holds the I/O to a rate and saves the cleaner checkpoint. Which log to clean when is the
//! broker's business (its cleaner tasks call [`assess`] on every compacted log they host).

mod pass;
mod throttle;

pub use pass::{CleanError, CleanSettings, PassContext, PassReport, assess, clean};
pub use throttle::Throttle;
