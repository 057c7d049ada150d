//! The `compaction` report: one JSON document, or a table.

use anyhow::Result;
use serde::Serialize;

use super::verify::Verified;
use super::{CompactionArgs, LogShape, Run};
use crate::report::{self, MIB, Summary, decimal, per_sec, round3};

/// The JSON document `compaction --output json` prints.
#[derive(Debug, Serialize)]
struct CompactionReport<'a> {
    data_dir: String,
    keys: u64,
    value_size: u32,
    tombstone_percent: u32,
    batch_records: u32,
    compression: String,
    segment_bytes: u64,
    dedupe_buffer_bytes: u64,
    records_before: u64,
    records_after: u64,
    batches_before: u64,
    batches_after: u64,
    log_before: LogShape,
    log_after: LogShape,
    build_seconds: f64,
    passes: u64,
    bytes_read: u64,
    bytes_written: u64,
    records_removed: u64,
    segments_replaced: u64,
    /// Every pass, assessments included.
    clean_seconds: f64,
    /// MiB read plus MiB written per second of `clean_seconds`.
    clean_mb_per_sec: f64,
    /// RSS when cleaning began, and the peak while it ran (the log's pages in the page
    /// cache are not counted).
    rss_before_clean_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
    /// False when the kernel refused to restart the peak: then it covers writing the log too.
    peak_rss_is_cleaning_only: bool,
    disk_mb: u64,
    disk_seq_write_mb_per_sec: f64,
    /// clean_mb_per_sec / disk_seq_write_mb_per_sec, both from this run.
    clean_vs_disk: f64,
    verified: &'a Verified,
}

pub fn emit(args: &CompactionArgs, run: &Run) -> Result<()> {
    let t = &run.totals;
    let clean_mb = per_sec((t.bytes_read + t.bytes_written) as f64 / MIB, t.elapsed);
    let disk_mb = per_sec(args.disk_mb as f64, run.disk_write);
    let doc = CompactionReport {
        data_dir: run.data_dir.display().to_string(),
        keys: args.keys,
        value_size: args.value_size,
        tombstone_percent: args.tombstone_percent,
        batch_records: args.batch_records,
        compression: format!("{:?}", args.compression).to_lowercase(),
        segment_bytes: args.segment_bytes,
        dedupe_buffer_bytes: args.dedupe_buffer,
        records_before: run.built.records,
        records_after: run.verified.records,
        batches_before: run.built.batches,
        batches_after: run.verified.batches,
        log_before: run.before,
        log_after: run.after,
        build_seconds: round3(run.build_time.as_secs_f64()),
        passes: t.passes,
        bytes_read: t.bytes_read,
        bytes_written: t.bytes_written,
        records_removed: t.records_removed,
        segments_replaced: t.segments_replaced,
        clean_seconds: round3(t.elapsed.as_secs_f64()),
        clean_mb_per_sec: round3(clean_mb),
        rss_before_clean_bytes: run.rss_before,
        peak_rss_bytes: run.peak_rss,
        peak_rss_is_cleaning_only: run.peak_rss_reset,
        disk_mb: args.disk_mb,
        disk_seq_write_mb_per_sec: round3(disk_mb),
        clean_vs_disk: if disk_mb > 0.0 {
            round3(clean_mb / disk_mb)
        } else {
            0.0
        },
        verified: &run.verified,
    };
    report::emit(args.out.output, &doc, &summary(&doc))
}

fn bytes(b: Option<u64>) -> String {
    b.map_or_else(|| "n/a".into(), chronik_cli::human_bytes)
}

fn summary(r: &CompactionReport<'_>) -> Summary {
    let mut s = Summary::new(format!(
        "compaction benchmark: {} keys · {} B values · {} · {} % tombstones · key map {}",
        report::count(r.keys),
        r.value_size,
        r.compression,
        r.tombstone_percent,
        chronik_cli::human_bytes(r.dedupe_buffer_bytes)
    ));
    let shape = |l: &LogShape| {
        format!(
            "{} in {} segments",
            chronik_cli::human_bytes(l.bytes),
            l.segments
        )
    };
    s.row("log before", shape(&r.log_before))
        .row("log after", shape(&r.log_after))
        .row(
            "records before → after",
            format!(
                "{} → {}",
                report::count(r.records_before),
                report::count(r.records_after)
            ),
        )
        .row("passes", report::count(r.passes))
        .row("bytes read", chronik_cli::human_bytes(r.bytes_read))
        .row("bytes written", chronik_cli::human_bytes(r.bytes_written))
        .row("cleaning", format!("{} s", decimal(r.clean_seconds, 2)))
        .row(
            "cleaner MB/s (read + written)",
            decimal(r.clean_mb_per_sec, 1),
        )
        .row(
            "disk sequential write MB/s",
            format!(
                "{} ({} MiB, same filesystem)",
                decimal(r.disk_seq_write_mb_per_sec, 1),
                r.disk_mb
            ),
        )
        .row("cleaner / disk", decimal(r.clean_vs_disk, 3))
        .row("RSS before cleaning", bytes(r.rss_before_clean_bytes))
        .row("peak RSS while cleaning", bytes(r.peak_rss_bytes))
        .row("check", check_text(r.verified));
    if !r.peak_rss_is_cleaning_only {
        s.note("peak RSS covers writing the log too (the kernel refused to restart VmHWM)");
    }
    s.note(format!(
        "MB = MiB ({MIB} bytes). Reads come mostly from the page cache (the log was just written)."
    ));
    s
}

fn check_text(v: &Verified) -> String {
    if v.ok {
        return format!(
            "ok: {} live keys each once with their latest value, {} deleted keys gone",
            report::count(v.live_keys),
            report::count(v.deleted_keys)
        );
    }
    format!(
        "FAILED: {} of {} live keys found; left behind: {} superseded, {} tombstones; {} wrong, {} out of order",
        report::count(v.live_keys_found),
        report::count(v.live_keys),
        report::count(v.superseded_left),
        report::count(v.tombstones_left),
        report::count(v.wrong_records),
        report::count(v.out_of_order)
    )
}
