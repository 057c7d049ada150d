//! Body of the `wal_recovery` fuzz target, shared with the stable replay test
//! `crates/chronik-wal/tests/fuzz_inputs.rs` (both include this file with `#[path]`).
//!
//! Byte 0 of the input holds option bits, the rest becomes the only segment file
//! (`00000000000000000000.wal`) of a partition in a fresh data dir. The tools read the damaged
//! log, then the log is opened (recovered), read back in full, appended to, closed and opened
//! again, the way a broker restarting on a damaged disk would.
//!
//! Frames and batches carry CRCs that random bytes almost never match, which would stop every
//! input at the first frame; with [`FIX_CRCS`] set the harness recomputes them first, so the
//! offsets, lengths and epochs in the headers are what gets exercised.

use chronik_records::{
    BATCH_HEADER_LEN, BatchHeader, build_batch, recompute_crc, validate_stored_batch,
};
use chronik_types::{FsyncPolicy, TopicPartition};
use chronik_wal::frame::{FRAME_HEADER_LEN, FRAME_MAGIC};
use chronik_wal::inspect::{partition_dir, summarize_partition, verify_partition};
use chronik_wal::{
    DataDir, LogConfig, RecoveryOptions, RecoveryReport, WalOptions, plan_recovery,
    segment_file_name,
};

/// Option bit: recompute every frame's CRC-32 and every payload's batch CRC-32C.
pub const FIX_CRCS: u8 = 1;
/// Option bit: recover with `check_batches` (payloads must be valid batches matching frames).
pub const CHECK_BATCHES: u8 = 2;

/// What one input did, so the replay test can tell that both outcomes were reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Recovery cut something.
    pub cut: bool,
    /// Batches that survived recovery.
    pub batches: u32,
    /// Aborted transactions among them.
    pub aborted_txns: usize,
}

pub fn run(data: &[u8]) -> Outcome {
    let Some((&flags, segment)) = data.split_first() else {
        return Outcome::default();
    };
    let mut segment = segment.to_vec();
    if flags & FIX_CRCS != 0 {
        fix_crcs(&mut segment);
    }
    let check_batches = flags & CHECK_BATCHES != 0;
    let options = RecoveryOptions {
        full_scan: true,
        check_batches,
        opaque_payloads: false,
    };
    let root = scratch_dir();
    let tp = TopicPartition::new("fuzz", 0);
    let dir = partition_dir(root.path(), &tp);
    std::fs::create_dir_all(&dir).expect("partition dir");
    std::fs::write(dir.join(segment_file_name(0)), &segment).expect("segment file");

    // walctl's read-only views of the damaged log, and its dry run.
    summarize_partition(root.path(), &tp).expect("summarize a damaged log");
    verify_partition(root.path(), &tp).expect("verify a damaged log");
    let planned = plan_recovery(&dir, &tp.dir_name(), options).expect("plan recovery");

    let wal = DataDir::open(root.path(), WalOptions::new(FsyncPolicy::Never)).expect("data dir");
    let (log, report) = (wal.open_partition_with(&tp, LogConfig::default(), options))
        .expect("recovery turns any content into a valid prefix");
    let report = report.expect("a first open reports its recovery");
    assert_eq!(
        timeless(&report),
        timeless(&planned),
        "the dry run foretold it"
    );

    let (start, end) = (log.start_offset(), log.end_offset());
    let all = log.read(start, usize::MAX).expect("read the recovered log");
    assert_eq!(all.next_offset, end, "one read reaches the end");
    // Small reads step through the same bytes, a whole batch at a time.
    let mut next = start;
    let mut stepped = Vec::new();
    while next < end {
        let part = log.read(next, 1).expect("read from inside the log");
        assert!(
            part.batches >= 1 && part.next_offset > next,
            "reads advance"
        );
        stepped.extend_from_slice(&part.data);
        next = part.next_offset;
    }
    assert_eq!(stepped, all.data);
    log.offset_for_timestamp(i64::MIN)
        .expect("search by timestamp");
    let aborted = log.aborted_txns(i64::MIN, i64::MAX);
    if check_batches {
        let mut rest = &all.data[..];
        while !rest.is_empty() {
            let len = BatchHeader::parse(rest)
                .expect("kept payloads are batches")
                .total_len();
            let (batch, after) = rest.split_at(len);
            // The rule recovery checks by: a batch the cleaner emptied (no records) is valid.
            validate_stored_batch(batch).expect("kept batches are valid");
            rest = after;
        }
        let damage = verify_partition(root.path(), &tp).expect("verify the recovered log");
        assert!(damage.is_empty(), "recovery left damage: {damage:?}");
    }

    let mut batch = build_batch(&[b"after recovery"], 0);
    let appended_len = match log.append(&mut batch, 0) {
        Ok(appended) => {
            assert_eq!(appended.base_offset, end);
            let read = log.read(end, usize::MAX).expect("read the append");
            assert_eq!(&read.data[..], &batch[..]);
            batch.len()
        }
        // A log ending at the largest offset refuses further appends with an error.
        Err(chronik_wal::WalError::InvalidBatch(_)) if end == i64::MAX => 0,
        Err(e) => panic!("append after recovery: {e}"),
    };
    drop(log);
    wal.close().expect("clean close");

    // A second open finds nothing to repair and the same data.
    let wal = DataDir::open(root.path(), WalOptions::new(FsyncPolicy::Never)).expect("reopen");
    let (log, again) = wal
        .open_partition(&tp, LogConfig::default())
        .expect("reopen the log");
    let again = again.expect("a first open reports its recovery");
    assert_eq!(again.cut, None, "recovery is idempotent");
    let reread = log.read(start, usize::MAX).expect("read after reopen");
    assert_eq!(reread.data.len(), all.data.len() + appended_len);
    assert_eq!(&reread.data[..all.data.len()], &all.data[..]);
    // The aborted transactions come from the index written at close now, and walctl's walk
    // over the batches finds as many.
    assert_eq!(log.aborted_txns(i64::MIN, i64::MAX), aborted);
    drop(log);
    wal.close().expect("clean close");
    let summary = summarize_partition(root.path(), &tp).expect("summarize the recovered log");
    assert_eq!(summary.aborted_transactions, aborted.len() as u64);
    Outcome {
        cut: report.cut.is_some(),
        batches: all.batches,
        aborted_txns: aborted.len(),
    }
}

/// A fresh directory, in memory where the machine has a tmpfs: recovery and close fsync, and
/// on a disk those waits would dominate the run.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("temp dir")
}

/// The report without its wall-clock time.
fn timeless(report: &RecoveryReport) -> RecoveryReport {
    RecoveryReport {
        elapsed_ms: 0,
        ..report.clone()
    }
}

/// Recomputes the CRCs of every frame whose magic and length still make sense, in place.
pub fn fix_crcs(segment: &mut [u8]) {
    let mut pos = 0;
    while let Some(header) = segment.get(pos..pos + FRAME_HEADER_LEN) {
        if header[..4] != FRAME_MAGIC.to_be_bytes() {
            break;
        }
        let payload_len = u32::from_be_bytes(header[4..8].try_into().expect("4 bytes")) as usize;
        let payload_at = pos + FRAME_HEADER_LEN;
        let Some(payload) = segment.get_mut(payload_at..payload_at + payload_len) else {
            break;
        };
        if payload.len() >= BATCH_HEADER_LEN {
            recompute_crc(payload);
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&segment[pos + 12..payload_at + payload_len]);
        let crc = hasher.finalize();
        segment[pos + 8..pos + 12].copy_from_slice(&crc.to_be_bytes());
        pos = payload_at + payload_len;
    }
}
