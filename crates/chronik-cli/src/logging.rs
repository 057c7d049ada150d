//! Log lines on stderr: human-readable text, or one JSON object per line for journald and log
//! shippers.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level",
    /// "target", "message" and the event's own fields, all at the top level.
    Json,
}

/// The format chosen by [`init_tracing`], for [`report_error`] and the panic hook.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Logs to stderr in `format`; `RUST_LOG` wins over `default_level` (e.g. "info",
/// "chronik_wal=debug"). With JSON, a panic is logged as one JSON line too, so that every
/// line a process writes parses.
pub fn init_tracing(default_level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .try_init(),
    };
    if installed.is_ok() {
        let _ = FORMAT.set(format);
        if format == LogFormat::Json {
            std::panic::set_hook(Box::new(log_panic));
        }
    }
}

/// Reports a failure that ends the command: `error: LINE` on stderr, or an error-level log
/// event when the logs are JSON (so the last line of a failed run parses like the others).
pub fn report_error(line: &str) {
    if FORMAT.get() == Some(&LogFormat::Json) {
        tracing::error!(target: "chronik", "{line}");
    } else {
        eprintln!("error: {line}");
    }
}

fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = (payload.downcast_ref::<&str>().copied())
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a non-text panic payload)");
    let location = info.location().map(ToString::to_string);
    let thread = std::thread::current();
    tracing::error!(
        target: "panic",
        thread = thread.name().unwrap_or("unnamed"),
        location = location.as_deref().unwrap_or("unknown"),
        "panicked: {message}"
    );
}
