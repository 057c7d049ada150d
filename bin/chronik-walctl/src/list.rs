//! `list`: one row per partition, or per segment with `--segments`.

use std::path::Path;

use anyhow::Result;
use chronik_cli::{EXIT_OK, OutputFormat, human_bytes};
use chronik_types::Offset;
use chronik_wal::inspect::{PartitionSummary, SegmentSummary};
use serde::Serialize;

use crate::data::{self, file_name, path_text};
use crate::remote::{self, RemoteSummary};
use crate::{output, render};

/// A partition as `list --output json` prints it.
#[derive(Debug, Serialize)]
struct PartitionRow {
    topic: String,
    partition: i32,
    segments: usize,
    damaged_segments: usize,
    start_offset: Offset,
    end_offset: Offset,
    batches: u64,
    records: u64,
    bytes: u64,
    min_timestamp: Option<i64>,
    max_timestamp: Option<i64>,
    /// Where the log cleaner's next pass starts; `None`: never cleaned.
    cleaner_offset: Option<Offset>,
    /// Share of the bytes at or above the cleaner offset; `None`: never cleaned.
    dirty_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    segment_details: Option<Vec<SegmentRow>>,
    /// With `--remote-storage`: what the remote tier holds of the partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    remote: Option<RemoteSummary>,
}

/// A segment as `list --segments --output json` prints it.
#[derive(Debug, Serialize)]
struct SegmentRow {
    file: String,
    base_offset: Offset,
    next_offset: Offset,
    bytes: u64,
    batches: u64,
    records: u64,
    min_timestamp: Option<i64>,
    max_timestamp: Option<i64>,
    damaged: Option<String>,
}

impl SegmentRow {
    fn new(s: &SegmentSummary) -> Self {
        Self {
            file: path_text(&s.file),
            base_offset: s.base_offset,
            next_offset: s.next_offset,
            bytes: s.bytes,
            batches: s.batches,
            records: s.records,
            min_timestamp: s.min_timestamp,
            max_timestamp: s.max_timestamp,
            damaged: s.damaged.clone(),
        }
    }
}

impl PartitionRow {
    fn new(p: &PartitionSummary, with_segments: bool) -> Self {
        Self {
            topic: p.topic.clone(),
            partition: p.partition,
            segments: p.segments.len(),
            damaged_segments: p.segments.iter().filter(|s| s.damaged.is_some()).count(),
            start_offset: p.start_offset,
            end_offset: p.end_offset,
            batches: p.batches,
            records: p.records,
            bytes: p.bytes,
            min_timestamp: p.min_timestamp,
            max_timestamp: p.max_timestamp,
            cleaner_offset: p.cleaner_offset,
            dirty_ratio: p.dirty_ratio(),
            segment_details: with_segments
                .then(|| p.segments.iter().map(SegmentRow::new).collect()),
            remote: None,
        }
    }
}

/// Runs `list`.
pub fn run(
    dir: &Path,
    segments: bool,
    remote_storage: Option<&str>,
    format: OutputFormat,
) -> Result<i32> {
    let tps = data::partitions(dir)?;
    let summaries = data::summaries(dir, &tps)?;
    let mut rows: Vec<PartitionRow> = summaries
        .iter()
        .map(|p| PartitionRow::new(p, segments))
        .collect();
    if let Some(url) = remote_storage {
        for (row, remote) in rows
            .iter_mut()
            .zip(remote::summaries(dir, &tps, url, true)?)
        {
            row.remote = Some(remote);
        }
    }
    match format {
        OutputFormat::Json => {
            if !segments {
                for remote in rows.iter_mut().filter_map(|r| r.remote.as_mut()) {
                    remote.segment_details = None;
                }
            }
            output::json(&rows)?
        }
        OutputFormat::Table if segments => print_segments(&summaries, &rows)?,
        OutputFormat::Table => print_partitions(&rows)?,
    }
    Ok(EXIT_OK)
}

fn print_partitions(rows: &[PartitionRow]) -> Result<()> {
    let mut header = vec![
        "topic",
        "partition",
        "segments",
        "start",
        "end",
        "batches",
        "records",
        "size",
        "dirty",
        "time range",
    ];
    let with_remote = rows.iter().any(|r| r.remote.is_some());
    if with_remote {
        header.extend(["remote segments", "remote offsets", "remote size"]);
    }
    let mut table = chronik_cli::table(header);
    for r in rows {
        let segments = match r.damaged_segments {
            0 => r.segments.to_string(),
            n => format!("{} ({n} damaged)", r.segments),
        };
        let mut row = vec![
            r.topic.clone(),
            r.partition.to_string(),
            segments,
            r.start_offset.to_string(),
            r.end_offset.to_string(),
            r.batches.to_string(),
            r.records.to_string(),
            human_bytes(r.bytes),
            render::dirty_ratio(r.dirty_ratio),
            render::time_range(r.min_timestamp, r.max_timestamp),
        ];
        if let Some(remote) = &r.remote {
            row.extend(remote_cells(remote));
        }
        table.add_row(row);
    }
    output::table(&table, Some(&summary_line(rows.len(), "partition")))?;
    Ok(())
}

fn remote_cells(remote: &RemoteSummary) -> [String; 3] {
    let offsets = match (remote.start_offset, remote.end_offset) {
        (Some(start), Some(end)) => format!("{start}..{end}"),
        _ => String::new(),
    };
    let segments = match &remote.topic_id {
        Some(_) => remote.segments.to_string(),
        None => "unknown (no topic.id)".to_string(),
    };
    [segments, offsets, human_bytes(remote.bytes)]
}

/// Local segments, then (with `--remote-storage`) the remote ones, named `remote:KEY`.
fn print_segments(partitions: &[PartitionSummary], rows: &[PartitionRow]) -> Result<()> {
    let mut table = chronik_cli::table([
        "topic",
        "partition",
        "file",
        "base",
        "next",
        "size",
        "batches",
        "records",
        "damaged",
    ]);
    let mut count = 0;
    for p in partitions {
        for s in &p.segments {
            count += 1;
            table.add_row(vec![
                p.topic.clone(),
                p.partition.to_string(),
                file_name(&s.file),
                s.base_offset.to_string(),
                s.next_offset.to_string(),
                human_bytes(s.bytes),
                s.batches.to_string(),
                s.records.to_string(),
                s.damaged.clone().unwrap_or_default(),
            ]);
        }
    }
    for (p, remote) in rows.iter().filter_map(|r| Some((r, r.remote.as_ref()?))) {
        for s in remote.segment_details.iter().flatten() {
            count += 1;
            table.add_row(vec![
                p.topic.clone(),
                p.partition.to_string(),
                format!("remote:{}", s.key),
                s.base_offset.to_string(),
                s.next_offset.to_string(),
                human_bytes(s.bytes),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    output::table(&table, Some(&summary_line(count, "segment")))?;
    Ok(())
}

fn summary_line(count: usize, what: &str) -> String {
    match count {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}
