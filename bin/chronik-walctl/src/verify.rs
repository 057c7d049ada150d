//! `verify`: every frame CRC and batch CRC of every partition, naming each damaged place, and
//! segment swaps a crash interrupted, which are not damage: opening the log finishes them.

use std::path::Path;

use anyhow::{Context, Result};
use chronik_cli::{EXIT_FOUND, EXIT_OK, OutputFormat};
use chronik_types::{Offset, TopicPartition};
use chronik_wal::inspect::{partition_swaps, verify_partition};
use chronik_wal::{InterruptedSwap, SwapState};
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
    /// Not corruption: opening the log (a broker start, `recover`) completes or discards them.
    interrupted_swaps: Vec<SwapPlace>,
}

/// A segment swap a crash interrupted.
#[derive(Debug, Serialize)]
pub struct SwapPlace {
    pub topic: String,
    pub partition: i32,
    pub file: String,
    pub base_offset: Offset,
    pub end_offset: Offset,
    pub state: SwapState,
    pub replaced_segments: Vec<String>,
    /// What opening the log does with it.
    pub on_open: &'static str,
}

impl SwapPlace {
    pub fn new(tp: &TopicPartition, swap: &InterruptedSwap) -> Self {
        Self {
            topic: tp.topic.clone(),
            partition: tp.partition,
            file: path_text(&swap.file),
            base_offset: swap.base_offset,
            end_offset: swap.end_offset,
            state: swap.state,
            replaced_segments: swap
                .replaced_segments
                .iter()
                .map(|p| path_text(p))
                .collect(),
            on_open: match swap.state {
                SwapState::Decided => {
                    "complete: delete the replaced segments, rename it to a segment"
                }
                SwapState::Undecided => "discard: delete it, keep the segments",
            },
        }
    }
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
    let mut interrupted_swaps = Vec::new();
    for tp in &tps {
        let swaps = partition_swaps(dir, tp).with_context(|| format!("listing swaps of {tp}"))?;
        interrupted_swaps.extend(swaps.iter().map(|swap| SwapPlace::new(tp, swap)));
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
        interrupted_swaps,
    };
    match format {
        OutputFormat::Json => output::json(&report)?,
        OutputFormat::Table => print(&report)?,
    }
    Ok(if report.clean { EXIT_OK } else { EXIT_FOUND })
}

fn print(report: &VerifyReport) -> Result<()> {
    if !report.interrupted_swaps.is_empty() {
        print_swaps(&report.interrupted_swaps)?;
    }
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

/// Interrupted swaps, with what to do about them.
pub fn print_swaps(swaps: &[SwapPlace]) -> Result<()> {
    let mut table = chronik_cli::table(["topic", "partition", "file", "replaces", "on open"]);
    for swap in swaps {
        table.add_row(vec![
            swap.topic.clone(),
            swap.partition.to_string(),
            data::file_name(Path::new(&swap.file)),
            format!(
                "offsets [{}, {}) ({} segment file(s) left)",
                swap.base_offset,
                swap.end_offset,
                swap.replaced_segments.len()
            ),
            swap.on_open.to_string(),
        ]);
    }
    let summary = format!(
        "INTERRUPTED SWAP: {} segment swap(s) a crash interrupted; this is not corruption: \
         starting the broker or `chronik-walctl recover DIR` completes a decided swap and \
         discards an undecided one",
        swaps.len()
    );
    output::table(&table, Some(&summary))?;
    Ok(())
}
