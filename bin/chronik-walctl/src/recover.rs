//! `recover`: cut every log at its first torn or corrupt frame and finish or discard segment
//! swaps a crash interrupted, exactly as a broker's start-up recovery would (it is the same
//! code), or with `--dry-run` only report what would be done.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chronik_cli::{EXIT_OK, OutputFormat, human_bytes};
use chronik_types::{FsyncPolicy, Offset, TopicPartition};
use chronik_wal::inspect::partition_dir;
use chronik_wal::{
    Cut, DataDir, LogConfig, RecoveryOptions, RecoveryReport, SwapState, WalError, WalOptions,
    plan_recovery,
};
use serde::Serialize;

use crate::data::{self, path_text};
use crate::verify::SwapPlace;
use crate::{output, render};

/// Read everything and check batches too: an offline repair can afford the thorough scan.
const THOROUGH: RecoveryOptions = RecoveryOptions {
    full_scan: true,
    check_batches: true,
    opaque_payloads: false,
};

/// `recover --output json`.
#[derive(Debug, Serialize)]
struct RecoverReport {
    dry_run: bool,
    partitions: Vec<PartitionOutcome>,
}

/// One partition after (or, dry, before) recovery.
#[derive(Debug, Serialize)]
struct PartitionOutcome {
    topic: String,
    partition: i32,
    start_offset: Offset,
    end_offset: Offset,
    cut: Option<CutView>,
    interrupted_swaps: Vec<SwapPlace>,
}

/// What was (or would be) cut.
#[derive(Debug, Serialize)]
struct CutView {
    file: String,
    position: u64,
    reason: String,
    bytes: u64,
    frames: u64,
    first_offset: Option<Offset>,
    last_offset: Option<Offset>,
    segments_removed: Vec<String>,
}

impl PartitionOutcome {
    fn new(tp: &TopicPartition, report: &RecoveryReport) -> Self {
        Self {
            topic: tp.topic.clone(),
            partition: tp.partition,
            start_offset: report.start_offset,
            end_offset: report.end_offset,
            cut: report.cut.as_ref().map(CutView::new),
            interrupted_swaps: (report.swaps.iter())
                .map(|swap| SwapPlace::new(tp, swap))
                .collect(),
        }
    }
}

impl CutView {
    fn new(cut: &Cut) -> Self {
        Self {
            file: path_text(&cut.segment),
            position: cut.position,
            reason: cut.reason.clone(),
            bytes: cut.bytes,
            frames: cut.frames,
            first_offset: cut.first_offset,
            last_offset: cut.last_offset,
            segments_removed: cut.segments_removed.iter().map(|p| path_text(p)).collect(),
        }
    }
}

/// Runs `recover`.
pub fn run(dir: &Path, dry_run: bool, format: OutputFormat) -> Result<i32> {
    let tps = data::partitions(dir)?;
    let partitions = if dry_run {
        plan_all(dir, &tps)?
    } else {
        recover_all(dir, &tps)?
    };
    let report = RecoverReport {
        dry_run,
        partitions,
    };
    match format {
        OutputFormat::Json => output::json(&report)?,
        OutputFormat::Table => print(&report)?,
    }
    Ok(EXIT_OK)
}

fn plan_all(dir: &Path, tps: &[TopicPartition]) -> Result<Vec<PartitionOutcome>> {
    let bar = chronik_cli::progress(Some(tps.len() as u64), "planning recovery");
    let mut out = Vec::with_capacity(tps.len());
    for tp in tps {
        let report = plan_recovery(&partition_dir(dir, tp), &tp.dir_name(), THOROUGH)
            .with_context(|| format!("planning recovery of {tp}"))?;
        out.push(PartitionOutcome::new(tp, &report));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

fn recover_all(dir: &Path, tps: &[TopicPartition]) -> Result<Vec<PartitionOutcome>> {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Always)).map_err(|e| match e {
        WalError::DirLocked { path, holder } => anyhow!(
            "cannot recover {}: its lock is held by another process ({holder}): stop the broker \
             using it first (`recover --dry-run` shows what would be cut without the lock)",
            path.display()
        ),
        other => anyhow!(other).context(format!("opening data dir {}", dir.display())),
    })?;
    let bar = chronik_cli::progress(Some(tps.len() as u64), "recovering");
    let mut out = Vec::with_capacity(tps.len());
    for tp in tps {
        let (_log, report) = data
            .open_partition_with(tp, LogConfig::default(), THOROUGH)
            .with_context(|| format!("recovering {tp}"))?;
        if let Some(report) = report {
            out.push(PartitionOutcome::new(tp, &report));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    data.close()
        .with_context(|| format!("closing data dir {}", dir.display()))?;
    Ok(out)
}

fn print(report: &RecoverReport) -> Result<()> {
    let mut table =
        chronik_cli::table(["topic", "partition", "start", "end", "cut", "where and why"]);
    let mut cuts = 0;
    for p in &report.partitions {
        let (what, why) = match &p.cut {
            None => ("nothing".to_string(), String::new()),
            Some(c) => {
                cuts += 1;
                (
                    describe_cut(c),
                    format!("{} at byte {}: {}", c.file, c.position, c.reason),
                )
            }
        };
        table.add_row(vec![
            p.topic.clone(),
            p.partition.to_string(),
            p.start_offset.to_string(),
            p.end_offset.to_string(),
            what,
            why,
        ]);
    }
    let n = report.partitions.len();
    let mut summary = match (report.dry_run, cuts) {
        (true, 0) => format!("dry run: nothing to cut in {n} partition(s); nothing was changed"),
        (true, _) => {
            format!("dry run: {cuts} of {n} partition(s) would be cut; nothing was changed")
        }
        (false, 0) => format!("recovered {n} partition(s): nothing had to be cut"),
        (false, _) => format!("recovered {n} partition(s): cut {cuts}"),
    };
    summary.push_str(&describe_swaps(report));
    output::table(&table, Some(&summary))?;
    Ok(())
}

/// "1.2 KiB, 3 frames (offsets 10..14), 1 segment removed".
fn describe_cut(c: &CutView) -> String {
    let mut text = format!("{}, {} frame(s)", human_bytes(c.bytes), c.frames);
    if c.first_offset.is_some() || c.last_offset.is_some() {
        let (first, last) = (render::opt(c.first_offset), render::opt(c.last_offset));
        text.push_str(&format!(" (offsets {first}..{last})"));
    }
    if !c.segments_removed.is_empty() {
        text.push_str(&format!(
            ", {} segment(s) removed",
            c.segments_removed.len()
        ));
    }
    text
}

/// "; completed 1 and discarded 0 interrupted segment swap(s)", or nothing when there were none.
fn describe_swaps(report: &RecoverReport) -> String {
    let swaps = report.partitions.iter().flat_map(|p| &p.interrupted_swaps);
    let (decided, undecided): (Vec<&SwapPlace>, Vec<&SwapPlace>) =
        swaps.partition(|s| s.state == SwapState::Decided);
    if decided.is_empty() && undecided.is_empty() {
        return String::new();
    }
    let (d, u) = (decided.len(), undecided.len());
    if report.dry_run {
        format!("; would complete {d} and discard {u} interrupted segment swap(s)")
    } else {
        format!("; completed {d} and discarded {u} interrupted segment swap(s)")
    }
}
