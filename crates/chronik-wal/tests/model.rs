//! Random sequences of append / read / truncate / roll / retention / reopen agree with a plain
//! in-memory model of a log.

mod common;

use std::path::Path;
use std::sync::Arc;

use chronik_types::FsyncPolicy;
use chronik_wal::{DataDir, LogConfig, PartitionLog, WalOptions};
use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        records: usize,
        timestamp: i64,
        epoch_step: i32,
    },
    Read {
        from_pct: u8,
        max_bytes: usize,
    },
    Truncate {
        at_pct: u8,
    },
    Roll,
    DeleteBefore {
        at_pct: u8,
    },
    Reopen {
        clean: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1..5usize, 0..1000i64, 0..2i32).prop_map(|(records, timestamp, epoch_step)| Op::Append { records, timestamp, epoch_step }),
        2 => (0..=100u8, 1..3000usize).prop_map(|(from_pct, max_bytes)| Op::Read { from_pct, max_bytes }),
        1 => (0..=100u8).prop_map(|at_pct| Op::Truncate { at_pct }),
        1 => Just(Op::Roll),
        1 => (0..=100u8).prop_map(|at_pct| Op::DeleteBefore { at_pct }),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
    ]
}

/// The model: batches in order, each (base offset, last offset, stored bytes), and the bounds.
#[derive(Default)]
struct Model {
    batches: Vec<(i64, i64, Vec<u8>)>,
    start: i64,
    end: i64,
    epoch: i32,
}

impl Model {
    fn offset_at(&self, pct: u8) -> i64 {
        self.start + (self.end - self.start) * i64::from(pct) / 100
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1500,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

fn reopen(dir: &Path) -> (DataDir, Arc<PartitionLog>) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).unwrap();
    let (log, _) = data.open_partition(&tp(), config()).unwrap();
    (data, log)
}

fn check(log: &PartitionLog, model: &Model) {
    assert_eq!(log.start_offset(), model.start, "start offset");
    assert_eq!(log.end_offset(), model.end, "end offset");
    let all = log.read(model.start, usize::MAX).unwrap();
    let expected: Vec<Vec<u8>> = model.batches.iter().map(|b| b.2.clone()).collect();
    assert_eq!(split_batches(&all.data), expected, "log contents");
}

fn apply(
    op: &Op,
    dir: &Path,
    data: &mut Option<DataDir>,
    log: &mut Arc<PartitionLog>,
    model: &mut Model,
    tag: &mut u64,
) {
    match *op {
        Op::Append {
            records,
            timestamp,
            epoch_step,
        } => {
            model.epoch += epoch_step;
            *tag += 1;
            let mut b = batch(*tag, records, timestamp);
            let info = log.append(&mut b, model.epoch).unwrap();
            assert_eq!(info.base_offset, model.end);
            model.batches.push((info.base_offset, info.last_offset, b));
            model.end = info.last_offset + 1;
        }
        Op::Read {
            from_pct,
            max_bytes,
        } => {
            let from = model.offset_at(from_pct);
            let got = log.read(from, max_bytes).unwrap();
            let first = model.batches.iter().position(|b| b.1 >= from);
            let batches = split_batches(&got.data);
            match first {
                None => assert!(batches.is_empty()),
                Some(i) => {
                    assert!(
                        !batches.is_empty(),
                        "a read below the end returns at least one batch"
                    );
                    assert_eq!(
                        batches[..],
                        model.batches[i..i + batches.len()]
                            .iter()
                            .map(|b| b.2.clone())
                            .collect::<Vec<_>>()[..]
                    );
                    assert!(
                        batches.len() == 1 || got.data.len() <= max_bytes,
                        "read past max_bytes"
                    );
                }
            }
        }
        Op::Truncate { at_pct } => {
            let at = model.offset_at(at_pct);
            let end = log.truncate_to(at).unwrap();
            model.batches.retain(|b| b.1 < at);
            model.end = if at <= model.start {
                at
            } else {
                model.batches.last().map_or(model.start, |b| b.1 + 1)
            };
            if at <= model.start {
                model.start = at;
            }
            assert_eq!(end, model.end);
        }
        Op::Roll => log.roll_segment().unwrap(),
        Op::DeleteBefore { at_pct } => {
            let at = model.offset_at(at_pct);
            let report = log.delete_before(at).unwrap();
            assert!(
                report.start_offset <= at.max(model.start),
                "deleted past the requested offset"
            );
            model.start = report.start_offset;
            model.batches.retain(|b| b.0 >= model.start);
        }
        Op::Reopen { clean } => {
            let old = data.take().unwrap();
            if clean {
                old.close().unwrap();
            } else {
                drop(old);
            }
            let (d, l) = reopen(dir);
            *data = Some(d);
            *log = l;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_log_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let (d, mut log) = reopen(dir.path());
        let mut data = Some(d);
        let mut model = Model::default();
        let mut tag = 0;
        for op in &ops {
            apply(op, dir.path(), &mut data, &mut log, &mut model, &mut tag);
            check(&log, &model);
        }
    }
}
