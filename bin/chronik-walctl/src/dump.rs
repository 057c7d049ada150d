//! `dump`: a partition's batches, and with `--records` their records. Output is streamed batch
//! by batch (JSON included), so dumping a large partition needs no more memory than one batch.

use std::cell::RefCell;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use chronik_cli::{EXIT_OK, OutputFormat};
use chronik_types::{Offset, TopicPartition};
use chronik_wal::inspect::{BatchView, for_each_batch};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::cli::DumpArgs;
use crate::data::{self, file_name, path_text};
use crate::records::{self, RecordView};
use crate::render;
use crate::txns::{self, MarkerRow, Transactions};

/// What to dump.
struct Selection<'a> {
    dir: &'a Path,
    tp: TopicPartition,
    from: Offset,
    limit: u64,
    records: bool,
}

/// One batch as `dump --output json` prints it. Batch-header fields are null when the payload
/// is not a readable v2 batch.
#[derive(Debug, Serialize)]
struct BatchRow {
    base_offset: Offset,
    last_offset: Offset,
    position: u64,
    file: String,
    max_timestamp: i64,
    leader_epoch: i32,
    producer_id: Option<i64>,
    producer_epoch: Option<i16>,
    base_sequence: Option<i32>,
    codec: &'static str,
    transactional: Option<bool>,
    control: Option<bool>,
    /// A control batch's transaction marker.
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<MarkerRow>,
    size: usize,
    records_count: Option<i32>,
    crc_ok: bool,
    #[serde(flatten)]
    records: Option<RecordsPart>,
}

/// The decoded records of a batch (only with `--records`).
#[derive(Debug, Serialize)]
struct RecordsPart {
    records: Vec<RecordView>,
    decode_error: Option<String>,
}

impl BatchRow {
    fn new(view: &BatchView, sel: &Selection<'_>) -> Self {
        let h = view.header.as_ref();
        let records = sel
            .records
            .then(|| match records::decode(&view.payload, h, sel.from) {
                Ok(records) => RecordsPart {
                    records,
                    decode_error: None,
                },
                Err(e) => RecordsPart {
                    records: Vec::new(),
                    decode_error: Some(e),
                },
            });
        Self {
            base_offset: view.meta.base_offset,
            last_offset: view.meta.last_offset,
            position: view.position,
            file: path_text(&view.file),
            max_timestamp: view.meta.max_timestamp,
            leader_epoch: view.meta.leader_epoch,
            producer_id: h.map(|h| h.producer_id),
            producer_epoch: h.map(|h| h.producer_epoch),
            base_sequence: h.map(|h| h.base_sequence),
            codec: h.map_or("unknown", |h| h.compression().name()),
            transactional: h.map(|h| h.is_transactional()),
            control: h.map(|h| h.is_control()),
            marker: h
                .filter(|h| h.is_control())
                .and_then(|_| txns::marker(&view.payload)),
            size: view.payload.len(),
            records_count: h.map(|h| h.records_count),
            crc_ok: view.crc_ok,
            records,
        }
    }
}

/// Calls `emit` for each selected batch until it returns false or the limit is reached; the
/// transactions of the batches walked go into `txns`.
fn walk(
    sel: &Selection<'_>,
    txns: &mut Transactions,
    mut emit: impl FnMut(BatchRow) -> bool,
) -> chronik_wal::Result<()> {
    if sel.limit == 0 {
        return Ok(());
    }
    let mut shown = 0;
    let damage = for_each_batch(sel.dir, &sel.tp, sel.from, |view| {
        shown += 1;
        let row = BatchRow::new(&view, sel);
        if let Some(h) = &view.header {
            txns.add(h, row.marker);
        }
        emit(row) && shown < sel.limit
    })?;
    txns.finish();
    for d in damage {
        eprintln!(
            "warning: {} is damaged at byte {} ({}); batches after it are not shown: run `chronik-walctl verify`",
            d.file.display(),
            d.position,
            d.reason
        );
    }
    Ok(())
}

/// Runs `dump`.
pub fn run(args: &DumpArgs, format: OutputFormat) -> Result<i32> {
    let dir = args.dir.dir.as_path();
    let sel = Selection {
        dir,
        tp: data::find_partition(dir, &args.topic, args.partition)?,
        from: args.from.unwrap_or(Offset::MIN),
        limit: args.limit.unwrap_or(u64::MAX),
        records: args.records,
    };
    match format {
        OutputFormat::Json => dump_json(&sel),
        OutputFormat::Table => dump_text(&sel),
    }
    .with_context(|| format!("dumping {}", sel.tp))?;
    Ok(EXIT_OK)
}

/// The batches of a selection, serialized as a JSON array while the log is read; their
/// transactions are gathered meanwhile, for the document's next field.
struct Batches<'a>(&'a Selection<'a>, &'a RefCell<Transactions>);

impl Serialize for Batches<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut failed = None;
        let mut txns = self.1.borrow_mut();
        let walked = walk(self.0, &mut txns, |row| match seq.serialize_element(&row) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        walked.map_err(S::Error::custom)?;
        seq.end()
    }
}

#[derive(Serialize)]
struct DumpDoc<'a> {
    topic: &'a str,
    partition: i32,
    batches: Batches<'a>,
    /// Filled while `batches` is written, so it must come after it.
    transactions: &'a RefCell<Transactions>,
}

fn dump_json(sel: &Selection<'_>) -> Result<()> {
    let txns = RefCell::new(Transactions::default());
    let doc = DumpDoc {
        topic: &sel.tp.topic,
        partition: sel.tp.partition,
        batches: Batches(sel, &txns),
        transactions: &txns,
    };
    crate::output::json(&doc)
}

fn dump_text(sel: &Selection<'_>) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut failed = None;
    let mut count = 0u64;
    let mut txns = Transactions::default();
    walk(sel, &mut txns, |row| {
        count += 1;
        match write_batch(&mut out, &row) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let plural = if count == 1 { "" } else { "es" };
    writeln!(out, "{count} batch{plural}")?;
    if txns.any() {
        write_transactions(&mut out, &txns)?;
    }
    out.flush()?;
    Ok(())
}

fn write_batch(out: &mut impl Write, b: &BatchRow) -> io::Result<()> {
    writeln!(
        out,
        "batch {}..{} | position {} | {} | max time {} | leader epoch {} | producer {} epoch {} seq {} | codec {} | {} bytes | {} records | crc {}",
        b.base_offset,
        b.last_offset,
        b.position,
        file_name(Path::new(&b.file)),
        render::timestamp(b.max_timestamp),
        b.leader_epoch,
        render::opt(b.producer_id),
        render::opt(b.producer_epoch),
        render::opt(b.base_sequence),
        b.codec,
        b.size,
        render::opt(b.records_count),
        if b.crc_ok { "ok" } else { "BAD" },
    )?;
    match (b.marker, b.transactional) {
        (Some(m), _) => writeln!(
            out,
            "  {} marker, coordinator epoch {}",
            m.kind, m.coordinator_epoch
        )?,
        (None, Some(true)) => writeln!(out, "  transactional")?,
        _ => {}
    }
    let Some(part) = &b.records else {
        return Ok(());
    };
    if let Some(e) = &part.decode_error {
        writeln!(out, "  cannot decode records: {e}")?;
    }
    for r in &part.records {
        write_record(out, r)?;
    }
    Ok(())
}

fn write_transactions(out: &mut impl Write, t: &Transactions) -> io::Result<()> {
    writeln!(
        out,
        "transactions: {} transactional batches, {} commit markers, {} abort markers",
        t.transactional_batches, t.commit_markers, t.abort_markers
    )?;
    for s in &t.aborted {
        writeln!(
            out,
            "  aborted: producer {} from offset {} to its marker at {}",
            s.producer_id,
            s.first_offset,
            render::opt(s.marker_offset)
        )?;
    }
    for s in &t.open {
        writeln!(
            out,
            "  open: producer {} from offset {}",
            s.producer_id, s.first_offset
        )?;
    }
    Ok(())
}

fn write_record(out: &mut impl Write, r: &RecordView) -> io::Result<()> {
    let headers: Vec<String> = r
        .headers
        .iter()
        .map(|h| format!("{}={}", show(Some(&h.key)), show(h.value.as_ref())))
        .collect();
    writeln!(
        out,
        "  offset {} | {} | key {} | value {} | headers [{}]",
        r.offset,
        render::timestamp(r.timestamp),
        show(r.key.as_ref()),
        show(r.value.as_ref()),
        headers.join(", ")
    )
}

/// A rendered key or value for text output: `null`, hex as is, text quoted.
fn show(value: Option<&String>) -> String {
    match value {
        None => "null".to_string(),
        Some(v) if v.starts_with("0x") => v.clone(),
        Some(v) => format!("{v:?}"),
    }
}
