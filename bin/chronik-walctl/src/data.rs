//! Finding things in a data dir, with errors that tell the operator what to do next.

use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use chronik_types::TopicPartition;
use chronik_wal::inspect::{PartitionSummary, summarize_partition};
use chronik_wal::{PARTITIONS_DIR, list_partitions};

const WHAT_DIR_IS: &str = "pass the broker's data dir (the directory that holds partitions/)";

/// Checks that `dir` looks like a data dir before anything reads (or locks) it.
pub fn check_root(dir: &Path) -> Result<()> {
    let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
        ErrorKind::NotFound => anyhow!("data dir {} does not exist: {WHAT_DIR_IS}", dir.display()),
        _ => anyhow!(
            "cannot read data dir {}: {e}: check the path and its permissions",
            dir.display()
        ),
    })?;
    if !meta.is_dir() {
        bail!("{} is not a directory: {WHAT_DIR_IS}", dir.display());
    }
    if !dir.join(PARTITIONS_DIR).is_dir() {
        bail!(
            "{} has no {PARTITIONS_DIR}/ directory, so it is not a Chronik data dir: {WHAT_DIR_IS}",
            dir.display()
        );
    }
    Ok(())
}

/// Every partition in the data dir, sorted by topic then partition.
pub fn partitions(dir: &Path) -> Result<Vec<TopicPartition>> {
    check_root(dir)?;
    list_partitions(dir).with_context(|| format!("listing the partitions of {}", dir.display()))
}

/// The named partition, or an error listing what exists instead.
pub fn find_partition(dir: &Path, topic: &str, partition: i32) -> Result<TopicPartition> {
    let all = partitions(dir)?;
    let wanted = TopicPartition::new(topic, partition);
    if all.contains(&wanted) {
        return Ok(wanted);
    }
    let of_topic: Vec<String> = all
        .iter()
        .filter(|tp| tp.topic == topic)
        .map(|tp| tp.partition.to_string())
        .collect();
    if of_topic.is_empty() {
        bail!(
            "no topic {topic:?} in {}: run `chronik-walctl list {}` to see the topics it holds",
            dir.display(),
            dir.display()
        );
    }
    bail!(
        "topic {topic:?} has no partition {partition} in {}: it has partition(s) {}",
        dir.display(),
        of_topic.join(", ")
    )
}

/// Summaries of the given partitions, with a progress bar on a terminal.
pub fn summaries(dir: &Path, tps: &[TopicPartition]) -> Result<Vec<PartitionSummary>> {
    let bar = chronik_cli::progress(Some(tps.len() as u64), "reading partitions");
    let mut out = Vec::with_capacity(tps.len());
    for tp in tps {
        let summary = summarize_partition(dir, tp).with_context(|| format!("reading {tp}"))?;
        out.push(summary);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// A path for output: lossy UTF-8 so odd file names never make JSON output fail.
pub fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Just the file name of a path, for tables where the partition is already shown.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path_text(path), |n| n.to_string_lossy().into_owned())
}
