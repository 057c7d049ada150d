//! `stats`: totals per topic plus a grand total.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use chronik_cli::{EXIT_OK, OutputFormat, human_bytes};
use chronik_wal::inspect::PartitionSummary;
use serde::Serialize;

use crate::{data, output, render};

/// One topic's totals, as `stats --output json` prints them.
#[derive(Debug, Default, Serialize)]
struct TopicStats {
    topic: String,
    partitions: u64,
    segments: u64,
    batches: u64,
    records: u64,
    bytes: u64,
    min_timestamp: Option<i64>,
    max_timestamp: Option<i64>,
    /// Aborted transactions in the segment indexes' sense: what read_committed readers skip.
    aborted_transactions: u64,
    /// Transactions with data and no marker yet.
    open_transactions: u64,
    /// The partitions the log cleaner has cleaned, with their dirty ratios.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cleaned: Vec<CleanedPartition>,
}

/// A partition the log cleaner has cleaned, as `stats` shows it.
#[derive(Debug, Serialize)]
struct CleanedPartition {
    partition: i32,
    cleaner_offset: i64,
    /// Share of the partition's bytes at or above the cleaner offset.
    dirty_ratio: f64,
}

impl TopicStats {
    fn add(&mut self, p: &PartitionSummary) {
        if let (Some(cleaner_offset), Some(dirty_ratio)) = (p.cleaner_offset, p.dirty_ratio()) {
            self.cleaned.push(CleanedPartition {
                partition: p.partition,
                cleaner_offset,
                dirty_ratio,
            });
        }
        self.partitions += 1;
        self.segments += p.segments.len() as u64;
        self.aborted_transactions += p.aborted_transactions;
        self.open_transactions += p.open_transactions;
        self.add_counts(
            p.batches,
            p.records,
            p.bytes,
            p.min_timestamp,
            p.max_timestamp,
        );
    }

    fn absorb(&mut self, t: &TopicStats) {
        self.partitions += t.partitions;
        self.segments += t.segments;
        self.aborted_transactions += t.aborted_transactions;
        self.open_transactions += t.open_transactions;
        self.add_counts(
            t.batches,
            t.records,
            t.bytes,
            t.min_timestamp,
            t.max_timestamp,
        );
    }

    fn add_counts(
        &mut self,
        batches: u64,
        records: u64,
        bytes: u64,
        min: Option<i64>,
        max: Option<i64>,
    ) {
        self.batches += batches;
        self.records += records;
        self.bytes += bytes;
        self.min_timestamp = pick(self.min_timestamp, min, i64::min);
        self.max_timestamp = pick(self.max_timestamp, max, i64::max);
    }
}

fn pick(a: Option<i64>, b: Option<i64>, f: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// Runs `stats`.
pub fn run(dir: &Path, format: OutputFormat) -> Result<i32> {
    let tps = data::partitions(dir)?;
    let summaries = data::summaries(dir, &tps)?;
    let mut topics: BTreeMap<String, TopicStats> = BTreeMap::new();
    for p in &summaries {
        topics
            .entry(p.topic.clone())
            .or_insert_with(|| TopicStats {
                topic: p.topic.clone(),
                ..TopicStats::default()
            })
            .add(p);
    }
    let topics: Vec<TopicStats> = topics.into_values().collect();
    match format {
        OutputFormat::Json => output::json(&topics)?,
        OutputFormat::Table => print(&topics)?,
    }
    Ok(EXIT_OK)
}

fn print(topics: &[TopicStats]) -> Result<()> {
    let mut table = chronik_cli::table([
        "topic",
        "partitions",
        "segments",
        "batches",
        "records",
        "size",
        "oldest",
        "newest",
    ]);
    let mut total = TopicStats {
        topic: "(total)".to_string(),
        ..TopicStats::default()
    };
    for t in topics {
        table.add_row(row(t));
        total.absorb(t);
    }
    table.add_row(row(&total));
    output::table(&table, None)?;
    print_transactions(topics, &total)?;
    let mut cleaned = chronik_cli::table(["topic", "partition", "cleaner offset", "dirty"]);
    for t in topics {
        for p in &t.cleaned {
            cleaned.add_row(vec![
                t.topic.clone(),
                p.partition.to_string(),
                p.cleaner_offset.to_string(),
                render::dirty_ratio(Some(p.dirty_ratio)),
            ]);
        }
    }
    if topics.iter().any(|t| !t.cleaned.is_empty()) {
        println!();
        output::table(&cleaned, None)?;
    }
    Ok(())
}

/// The topics with transactions, when any has some.
fn print_transactions(topics: &[TopicStats], total: &TopicStats) -> Result<()> {
    if total.aborted_transactions + total.open_transactions == 0 {
        return Ok(());
    }
    let mut table = chronik_cli::table(["topic", "aborted transactions", "open transactions"]);
    let with_txns = (topics.iter()).filter(|t| t.aborted_transactions + t.open_transactions > 0);
    for t in with_txns.chain([total]) {
        table.add_row(vec![
            t.topic.clone(),
            t.aborted_transactions.to_string(),
            t.open_transactions.to_string(),
        ]);
    }
    println!();
    output::table(&table, None)?;
    Ok(())
}

fn row(t: &TopicStats) -> Vec<String> {
    vec![
        t.topic.clone(),
        t.partitions.to_string(),
        t.segments.to_string(),
        t.batches.to_string(),
        t.records.to_string(),
        human_bytes(t.bytes),
        render::opt_timestamp(t.min_timestamp),
        render::opt_timestamp(t.max_timestamp),
    ]
}
