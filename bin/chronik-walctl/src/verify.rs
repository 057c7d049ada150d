//! `verify`: every frame CRC and batch CRC of every partition, naming each damaged place.

use std::path::Path;

use anyhow::{Context, Result};
use chronik_cli::{EXIT_FOUND, EXIT_OK, OutputFormat};
use chronik_types::Offset;
use chronik_wal::inspect::verify_partition;
use serde::Serialize;

use crate::data::{self, path_text};
use crate::output;
use crate::render;

/// `verify --output json`.
#[derive(Debug, Serialize)]
struct VerifyReport {
    clean: bool,
    partitions_checked: usize,
    corruptions: Vec<CorruptPlace>,
}

/// One damaged place.
#[derive(Debug, Serialize)]
struct CorruptPlace {
    topic: String,
    partition: i32,
    file: String,
    position: u64,
    offset: Option<Offset>,
    reason: String,
}

/// Runs `verify`: exit 0 when clean, 1 when anything is corrupt.
pub fn run(dir: &Path, format: OutputFormat) -> Result<i32> {
    let tps = data::partitions(dir)?;
    let bar = chronik_cli::progress(Some(tps.len() as u64), "verifying partitions");
    let mut corruptions = Vec::new();
    for tp in &tps {
        let found = verify_partition(dir, tp).with_context(|| format!("verifying {tp}"))?;
        corruptions.extend(found.into_iter().map(|c| CorruptPlace {
            topic: tp.topic.clone(),
            partition: tp.partition,
            file: path_text(&c.file),
            position: c.position,
            offset: c.offset,
            reason: c.reason,
        }));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let report = VerifyReport {
        clean: corruptions.is_empty(),
        partitions_checked: tps.len(),
        corruptions,
    };
    match format {
        OutputFormat::Json => output::json(&report)?,
        OutputFormat::Table => print(&report)?,
    }
    Ok(if report.clean { EXIT_OK } else { EXIT_FOUND })
}

fn print(report: &VerifyReport) -> Result<()> {
    let n = report.partitions_checked;
    if report.clean {
        output::line(&format!(
            "clean: {n} partition(s) checked, no corruption found"
        ))?;
        return Ok(());
    }
    let mut table =
        chronik_cli::table(["topic", "partition", "file", "position", "offset", "reason"]);
    for c in &report.corruptions {
        table.add_row(vec![
            c.topic.clone(),
            c.partition.to_string(),
            c.file.clone(),
            c.position.to_string(),
            render::opt(c.offset),
            c.reason.clone(),
        ]);
    }
    let summary = format!(
        "CORRUPT: {} damaged place(s) in {n} partition(s) checked; `chronik-walctl recover DIR --dry-run` shows what recovery would cut",
        report.corruptions.len()
    );
    output::table(&table, Some(&summary))?;
    Ok(())
}
