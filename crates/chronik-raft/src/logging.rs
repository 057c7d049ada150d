//! Routes raft-rs's slog records into `tracing` under the `raft` target, one level quieter.
//!
//! raft-rs logs every election and configuration switch at info; in a cluster that is noise, so
//! info becomes debug and debug becomes trace. Warnings (for example a leader stepping down
//! because it lost its quorum) stay warnings.

use std::fmt;

use slog::{Drain, KV, Level, OwnedKVList, Record};

/// The slog logger handed to every `RawNode`.
pub(crate) fn raft_logger() -> slog::Logger {
    slog::Logger::root(TracingDrain.fuse(), slog::o!())
}

struct TracingDrain;

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let level = quieter(record.level());
        if !enabled(level) {
            return Ok(());
        }
        let mut fields = Fields(String::new());
        // A serializer that only appends to a String cannot fail.
        let _ = record.kv().serialize(record, &mut fields);
        let _ = values.serialize(record, &mut fields);
        emit(level, record.msg(), &fields.0);
        Ok(())
    }
}

fn quieter(level: Level) -> tracing::Level {
    match level {
        Level::Critical | Level::Error => tracing::Level::ERROR,
        Level::Warning => tracing::Level::WARN,
        Level::Info => tracing::Level::DEBUG,
        Level::Debug | Level::Trace => tracing::Level::TRACE,
    }
}

fn enabled(level: tracing::Level) -> bool {
    match level {
        tracing::Level::ERROR => tracing::enabled!(target: "raft", tracing::Level::ERROR),
        tracing::Level::WARN => tracing::enabled!(target: "raft", tracing::Level::WARN),
        tracing::Level::INFO => tracing::enabled!(target: "raft", tracing::Level::INFO),
        tracing::Level::DEBUG => tracing::enabled!(target: "raft", tracing::Level::DEBUG),
        tracing::Level::TRACE => tracing::enabled!(target: "raft", tracing::Level::TRACE),
    }
}

fn emit(level: tracing::Level, msg: &fmt::Arguments<'_>, fields: &str) {
    match level {
        tracing::Level::ERROR => tracing::error!(target: "raft", "{msg}{fields}"),
        tracing::Level::WARN => tracing::warn!(target: "raft", "{msg}{fields}"),
        tracing::Level::INFO => tracing::info!(target: "raft", "{msg}{fields}"),
        tracing::Level::DEBUG => tracing::debug!(target: "raft", "{msg}{fields}"),
        tracing::Level::TRACE => tracing::trace!(target: "raft", "{msg}{fields}"),
    }
}

/// Collects key-value pairs as ` key=value` text.
struct Fields(String);

impl slog::Serializer for Fields {
    fn emit_arguments(&mut self, key: slog::Key, val: &fmt::Arguments<'_>) -> slog::Result {
        use fmt::Write;
        let _ = write!(self.0, " {key}={val}");
        Ok(())
    }
}
