//! `list`, `dump` and `stats` on a data dir written by chronik-wal: the numbers printed are the
//! numbers written.

mod common;

use common::*;
use serde_json::Value;

fn find<'a>(rows: &'a [Value], topic: &str, partition: i64) -> &'a Value {
    rows.iter()
        .find(|r| r["topic"] == topic && r["partition"] == partition)
        .unwrap_or_else(|| panic!("no row for {topic}-{partition} in {rows:?}"))
}

fn bytes_on_disk(dir: &std::path::Path, tp: &chronik_types::TopicPartition) -> u64 {
    segments(dir, tp)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn list_json_reports_what_was_written() {
    let dir = fixture();
    let run = walctl_on("list", dir.path(), &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.json().as_array().unwrap().clone();
    assert_eq!(rows.len(), 3);
    let o0 = find(&rows, "orders", 0);
    assert_eq!(o0["start_offset"], 0);
    assert_eq!(o0["end_offset"], ORDERS0_BATCHES * 2);
    assert_eq!(o0["batches"], ORDERS0_BATCHES);
    assert_eq!(o0["records"], ORDERS0_BATCHES * 2);
    assert_eq!(o0["bytes"], bytes_on_disk(dir.path(), &orders0()));
    assert_eq!(o0["segments"], segments(dir.path(), &orders0()).len());
    assert_eq!(o0["min_timestamp"], T0);
    assert_eq!(o0["max_timestamp"], T0 + (ORDERS0_BATCHES - 1) * 1000);
    assert!(o0.get("segment_details").is_none());
    let e0 = find(&rows, "events", 0);
    assert_eq!(
        (e0["end_offset"].as_i64(), e0["records"].as_i64()),
        (Some(4), Some(4))
    );
    assert_eq!(find(&rows, "orders", 1)["end_offset"], 3);
}

#[test]
fn list_table_shows_partitions_and_time_range() {
    let dir = fixture();
    let run = walctl_on("list", dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for text in [
        "orders",
        "events",
        "24",
        "2023-11-14T22:13:20.000Z",
        "2023-11-14T22:13:31.000Z",
        "3 partitions",
    ] {
        assert!(
            run.stdout.contains(text),
            "{text:?} missing from:\n{}",
            run.stdout
        );
    }
}

#[test]
fn list_segments_has_a_row_per_segment_file() {
    let dir = fixture();
    let files = segments(dir.path(), &orders0());
    assert!(files.len() > 1, "the fixture should roll orders-0");
    let run = walctl_on("list", dir.path(), &["--segments", "--output", "json"]);
    let rows = run.json().as_array().unwrap().clone();
    let details = find(&rows, "orders", 0)["segment_details"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(details.len(), files.len());
    for (d, f) in details.iter().zip(&files) {
        assert!(
            d["file"]
                .as_str()
                .unwrap()
                .ends_with(&*f.file_name().unwrap().to_string_lossy())
        );
        assert_eq!(d["bytes"], std::fs::metadata(f).unwrap().len());
        assert_eq!(d["damaged"], Value::Null);
    }
    let counted: i64 = details.iter().map(|d| d["records"].as_i64().unwrap()).sum();
    assert_eq!(counted, ORDERS0_BATCHES * 2);
    assert_eq!(details[0]["base_offset"], 0);
    assert_eq!(details[1]["base_offset"], details[0]["next_offset"]);

    let table = walctl_on("list", dir.path(), &["--segments"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("00000000000000000000.wal"),
        "{}",
        table.stdout
    );
    assert!(
        table
            .stdout
            .contains(&format!("{} segments", files.len() + 2)),
        "{}",
        table.stdout
    );
}

#[test]
fn dump_lists_batches_without_records() {
    let dir = fixture();
    let batches = dumped_batches(dir.path(), &orders0());
    assert_eq!(batches.len() as i64, ORDERS0_BATCHES);
    for (i, b) in batches.iter().enumerate() {
        let base = i as i64 * 2;
        assert_eq!(
            (b["base_offset"].as_i64(), b["last_offset"].as_i64()),
            (Some(base), Some(base + 1))
        );
        assert_eq!(b["records_count"], 2);
        assert_eq!(b["crc_ok"], true);
        assert_eq!(b["codec"], "none");
        assert_eq!(b["leader_epoch"], 3);
        assert_eq!(b["max_timestamp"], T0 + i as i64 * 1000);
        assert!(b.get("records").is_none());
    }
    let run = walctl_on("dump", dir.path(), &["-t", "orders", "-p", "0"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("batch 0..1 | position 0 |"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("crc ok"), "{}", run.stdout);
    assert!(run.stdout.contains("12 batches"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("order-0-0"),
        "records shown without --records"
    );
}

#[test]
fn dump_records_shows_text_hex_and_compressed_records() {
    let dir = fixture();
    let args = ["-t", "events", "-p", "0", "--records"];
    let run = walctl_on("dump", dir.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for text in [
        "value \"hello world\"",
        "value 0xdeadbeef00",
        "codec gzip",
        "producer 42 epoch 1 seq 0",
        "offset 3 | 2023-11-14T22:13:20.002Z | key \"user-1\" | value \"{\\\"n\\\":1}\" | headers [\"trace\"=\"abc\"]",
    ] {
        assert!(
            run.stdout.contains(text),
            "{text:?} missing from:\n{}",
            run.stdout
        );
    }
    let json = walctl_on(
        "dump",
        dir.path(),
        &[&args[..], &["--output", "json"]].concat(),
    )
    .json();
    assert_eq!(json["topic"], "events");
    let batches = json["batches"].as_array().unwrap();
    assert_eq!(batches[0]["records"][0]["value"], "hello world");
    assert_eq!(batches[0]["records"][0]["key"], Value::Null);
    assert_eq!(batches[1]["records"][0]["value"], "0xdeadbeef00");
    let gzip = &batches[2];
    assert_eq!(
        (gzip["codec"].as_str(), gzip["decode_error"].is_null()),
        (Some("gzip"), true)
    );
    let offsets: Vec<i64> = gzip["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [2, 3]);
    assert_eq!(gzip["records"][0]["key"], "user-0");
    assert_eq!(gzip["records"][0]["headers"][0]["key"], "trace");
    assert_eq!(gzip["records"][0]["headers"][0]["value"], "abc");
}

#[test]
fn dump_from_and_limit_select_batches_and_records() {
    let dir = fixture();
    let args = [
        "-t",
        "orders",
        "-p",
        "0",
        "--from",
        "5",
        "--limit",
        "2",
        "--records",
        "-o",
        "json",
    ];
    let json = walctl_on("dump", dir.path(), &args).json();
    let batches = json["batches"].as_array().unwrap();
    let bases: Vec<i64> = batches
        .iter()
        .map(|b| b["base_offset"].as_i64().unwrap())
        .collect();
    assert_eq!(bases, [4, 6]);
    let first: Vec<&Value> = batches[0]["records"].as_array().unwrap().iter().collect();
    assert_eq!(first.len(), 1, "offset 4 is before --from: {first:?}");
    assert_eq!(
        (first[0]["offset"].as_i64(), first[0]["value"].as_str()),
        (Some(5), Some("order-2-1"))
    );
    assert_eq!(batches[1]["records"][1]["value"], "order-3-1");

    let past_end = walctl_on(
        "dump",
        dir.path(),
        &["-t", "orders", "-p", "0", "--from", "999", "-o", "json"],
    );
    assert_eq!(past_end.code, 0);
    assert_eq!(past_end.json()["batches"], serde_json::json!([]));
    let none = walctl_on(
        "dump",
        dir.path(),
        &["-t", "orders", "-p", "0", "--limit", "0"],
    );
    assert!(none.stdout.contains("0 batches"), "{}", none.stdout);
}

#[test]
fn stats_totals_per_topic() {
    let dir = fixture();
    let run = walctl_on("stats", dir.path(), &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.json().as_array().unwrap().clone();
    let topics: Vec<&str> = rows.iter().map(|r| r["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["events", "orders"]);
    let orders = &rows[1];
    assert_eq!(orders["partitions"], 2);
    assert_eq!(orders["batches"], ORDERS0_BATCHES + 3);
    assert_eq!(orders["records"], ORDERS0_BATCHES * 2 + 3);
    let o1 = chronik_types::TopicPartition::new("orders", 1);
    assert_eq!(
        orders["bytes"],
        bytes_on_disk(dir.path(), &orders0()) + bytes_on_disk(dir.path(), &o1)
    );
    assert_eq!(orders["min_timestamp"], T0);
    assert_eq!(orders["max_timestamp"], T0 + (ORDERS0_BATCHES - 1) * 1000);
    assert_eq!(rows[0]["records"], 4);

    let table = walctl_on("stats", dir.path(), &[]);
    assert!(table.stdout.contains("(total)"), "{}", table.stdout);
    assert!(
        table.stdout.contains("31"),
        "total records missing:\n{}",
        table.stdout
    );
}

#[test]
fn dump_shows_a_bad_batch_crc_and_why_records_cannot_be_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let tp = chronik_types::TopicPartition::new("raw", 0);
    let good = chronik_records::build_batch(&[b"fine"], T0);
    let mut bad = chronik_records::build_batch(&[b"broken"], T0);
    chronik_records::set_base_offset(&mut bad, 1);
    *bad.last_mut().unwrap() ^= 1;
    write_frames(
        dir.path(),
        &tp,
        &[(0, 0, good), (1, 1, bad), (2, 2, vec![7; 30])],
    );

    let run = walctl_on("dump", dir.path(), &["-t", "raw", "-p", "0", "--records"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for text in [
        "value \"fine\"",
        "crc BAD",
        "cannot decode records: Cyclic redundancy check failed",
        "codec unknown",
        "not a v2 record batch",
    ] {
        assert!(
            run.stdout.contains(text),
            "{text:?} missing from:\n{}",
            run.stdout
        );
    }
    let json = walctl_on(
        "dump",
        dir.path(),
        &["-t", "raw", "-p", "0", "--records", "-o", "json"],
    )
    .json();
    let batches = json["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 3);
    assert_eq!(
        (
            batches[0]["crc_ok"].as_bool(),
            batches[1]["crc_ok"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(batches[1]["records"], serde_json::json!([]));
    assert!(
        batches[1]["decode_error"]
            .as_str()
            .unwrap()
            .contains("Cyclic redundancy check")
    );
    assert_eq!(batches[2]["producer_id"], Value::Null);

    let verify = walctl_on("verify", dir.path(), &["-o", "json"]);
    assert_eq!(verify.code, 1);
    let positions: Vec<u64> = verify.json()["corruptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions.len(), 2, "{}", verify.stdout);
}

#[test]
fn list_and_stats_show_the_dirty_ratio_of_cleaned_partitions() {
    let dir = fixture();
    let segments = segments(dir.path(), &orders0());
    let second_base: i64 = (segments[1].file_stem().unwrap().to_string_lossy())
        .parse()
        .unwrap();
    // The cleaner's checkpoint after cleaning the first segment.
    let checkpoint = dir
        .path()
        .join("partitions")
        .join("orders-0")
        .join(chronik_wal::CLEANER_OFFSET_FILE);
    std::fs::write(&checkpoint, format!("0\n{second_base}\n")).unwrap();

    let list = walctl_on("list", dir.path(), &["--output", "json"]).json();
    let rows = list.as_array().unwrap();
    let row = |topic: &str, p: i64| {
        (rows.iter())
            .find(|r| r["topic"] == topic && r["partition"] == p)
            .unwrap()
            .clone()
    };
    let orders = row("orders", 0);
    assert_eq!(orders["cleaner_offset"], second_base);
    let ratio = orders["dirty_ratio"].as_f64().unwrap();
    let first = std::fs::metadata(&segments[0]).unwrap().len() as f64;
    let total = bytes_on_disk(dir.path(), &orders0()) as f64;
    assert!(
        (ratio - (total - first) / total).abs() < 1e-9,
        "ratio {ratio}"
    );
    assert!(row("orders", 1)["dirty_ratio"].is_null(), "never cleaned");

    let stats = walctl_on("stats", dir.path(), &["--output", "json"]).json();
    let cleaned = &stats.as_array().unwrap()[1]["cleaned"];
    assert_eq!(cleaned[0]["partition"], 0);
    assert_eq!(cleaned[0]["cleaner_offset"], second_base);
    let table = walctl_on("stats", dir.path(), &[]);
    assert!(table.stdout.contains("dirty"), "{}", table.stdout);
}
