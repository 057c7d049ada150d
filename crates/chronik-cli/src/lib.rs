//! Pieces every Chronik binary shares, so they all look and behave alike: `--output table|json`,
//! tables, progress bars that appear only on a terminal, logging set-up and exit codes.

use std::io::IsTerminal;
use std::time::Duration;

pub mod config_file;
mod logging;
pub mod secret;

pub use logging::{LogFormat, init_tracing, report_error};

use comfy_table::{ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressStyle};

/// Bucket bounds (seconds) of every `*_seconds` latency histogram the binaries export: 50 µs
/// (an in-memory request) to 10 s (a stuck disk), about 2.5× apart.
pub const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// Exit code: success (and, for checks, nothing found).
pub const EXIT_OK: i32 = 0;
/// Exit code: the command ran but found a problem (corruption, an unhealthy cluster).
pub const EXIT_FOUND: i32 = 1;
/// Exit code: the command could not do its job (bad arguments, unreadable input, a lock held).
pub const EXIT_ERROR: i32 = 2;

/// How a command prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable tables.
    #[default]
    Table,
    /// One JSON document on stdout (stable keys, for scripts).
    Json,
}

/// A table with Chronik's house style.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    t
}

/// Writes `value` as pretty JSON and a newline to stdout. Returns the error rather than
/// panicking when the reader has gone away (`... | head`).
pub fn print_json<T: serde::Serialize>(value: &T) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()
}

/// A progress bar on stderr when stderr is a terminal; hidden (and free) otherwise.
pub fn progress(len: Option<u64>, message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {pos} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A failure as one line, each cause once: error types that put their source's message in
/// their own (so that a log line is complete) would otherwise repeat it down the chain.
pub fn error_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

/// Formats a byte count for people (KiB, MiB, GiB).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}

#[cfg(test)]
mod error_line_tests {
    use super::error_line;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the data dir: {0}")]
    struct Outer(#[from] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("data dir /d is locked by another process (pid 7)")]
    struct Inner;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = Outer(Inner);
        assert_eq!(
            error_line(&e),
            "cannot open the data dir: data dir /d is locked by another process (pid 7)"
        );
    }

    #[test]
    fn a_cause_not_in_the_message_is_appended() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot start the broker")]
        struct Top(#[source] Inner);
        assert_eq!(
            error_line(&Top(Inner)),
            "cannot start the broker: data dir /d is locked by another process (pid 7)"
        );
    }
}
