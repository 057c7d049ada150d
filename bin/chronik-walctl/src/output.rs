//! Writing results to stdout without panicking when the reader goes away (`walctl dump | head`).

use std::io::{self, Write};

use comfy_table::Table;

/// Writes `value` as pretty JSON and a newline.
pub fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    Ok(chronik_cli::print_json(value)?)
}

/// Writes a table, then an optional summary line.
pub fn table(table: &Table, summary: Option<&str>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{table}")?;
    if let Some(summary) = summary {
        writeln!(out, "{summary}")?;
    }
    out.flush()
}

/// Writes one line of text.
pub fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Whether an error is only the reader of stdout having gone away, which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}
