//! How results are shown: a table for people, or one JSON document on stdout for scripts (and
//! nothing else on stdout, so `| jq` always works).

use std::time::Duration;

use anyhow::Result;
use chronik_cli::OutputFormat;
use serde::Serialize;

use crate::latency::LatencySummary;

/// Bytes in the "MB" of every `mb_per_sec`: 1 MiB, so disk and engine figures compare directly.
pub const MIB: f64 = 1024.0 * 1024.0;

/// The output flag every subcommand shares.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// `table` for people, `json` for scripts (only the JSON document goes to stdout).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, env = "CHRONIK_OUTPUT")]
    pub output: OutputFormat,
}

/// The rows of a result table, plus notes printed under it.
pub struct Summary {
    title: String,
    rows: Vec<[String; 2]>,
    notes: Vec<String>,
}

impl Summary {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, label: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.rows.push([label.into(), value.into()]);
        self
    }

    /// One row per quantile, so the table stays narrow.
    pub fn latency_rows(&mut self, what: &str, latency: &LatencySummary) -> &mut Self {
        for (name, value) in [
            ("p50", latency.p50),
            ("p99", latency.p99),
            ("p99.9", latency.p999),
            ("max", latency.max),
            ("mean", latency.mean),
        ] {
            self.row(
                format!("{what} {name}"),
                format!("{} µs", decimal(value, 1)),
            );
        }
        self
    }

    pub fn note(&mut self, text: impl Into<String>) -> &mut Self {
        self.notes.push(text.into());
        self
    }
}

/// Prints the result in the chosen format.
pub fn emit<T: Serialize>(format: OutputFormat, json: &T, summary: &Summary) -> Result<()> {
    match format {
        OutputFormat::Json => chronik_cli::print_json(json)?,
        OutputFormat::Table => {
            let mut table = chronik_cli::table(["metric", "value"]);
            for row in &summary.rows {
                table.add_row(row.clone());
            }
            println!("{}\n{table}", summary.title);
            for note in &summary.notes {
                println!("{note}");
            }
        }
    }
    Ok(())
}

/// `count` per second of `elapsed` (0 when no time passed).
pub fn per_sec(count: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count / secs } else { 0.0 }
}

/// Rounds to three decimals so JSON stays readable; the measurements are not that exact anyway.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Rounds every field of a latency summary with [`round3`].
pub fn round_latency(l: LatencySummary) -> LatencySummary {
    LatencySummary {
        p50: round3(l.p50),
        p99: round3(l.p99),
        p999: round3(l.p999),
        max: round3(l.max),
        mean: round3(l.mean),
    }
}

/// `1234567.891` with `places` decimals and thousands separators: `1,234,567.9`.
pub fn decimal(value: f64, places: usize) -> String {
    let text = format!("{:.*}", places, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = group_digits(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if value < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// A whole number with thousands separators.
pub fn count(value: u64) -> String {
    group_digits(&value.to_string())
}

fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(decimal(1_234_567.891, 1), "1,234,567.9");
        assert_eq!(decimal(999.0, 0), "999");
        assert_eq!(decimal(0.05, 1), "0.1");
        assert_eq!(decimal(-1234.0, 0), "-1,234");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn rates_survive_zero_time() {
        assert_eq!(per_sec(10.0, Duration::ZERO), 0.0);
        assert_eq!(per_sec(10.0, Duration::from_millis(500)), 20.0);
        assert_eq!(round3(1.23456), 1.235);
    }
}
