//! The scheduler's arithmetic: cleanable range, dirty ratio, compaction lags, and the choice of
//! the filthiest log, on logs described by their segments.

use chronik_compaction::{
    CleaningCandidate, CompactionConfig, LogFacts, SegmentFacts, assess, cleanable_offsets,
    filthiest,
};

const NOW: i64 = 1_000_000;

fn segment(base_offset: i64, size_bytes: u64, max_timestamp_ms: i64) -> SegmentFacts {
    SegmentFacts {
        base_offset,
        size_bytes,
        max_timestamp_ms,
        first_batch_timestamp_ms: Some(max_timestamp_ms),
        sealed: true,
    }
}

/// Segments at 0, 10, 20 (100 bytes each) and the active one at 30 (50 bytes), end 35.
fn four_segments() -> Vec<SegmentFacts> {
    let mut s = vec![
        segment(0, 100, 1_000),
        segment(10, 100, 2_000),
        segment(20, 100, 3_000),
        segment(30, 50, 4_000),
    ];
    s[3].sealed = false;
    s
}

fn log(segments: &[SegmentFacts]) -> LogFacts<'_> {
    LogFacts {
        segments,
        log_start_offset: 0,
        log_end_offset: 35,
        last_stable_offset: 35,
    }
}

fn ratio(min: f64) -> CompactionConfig {
    CompactionConfig {
        min_cleanable_dirty_ratio: min,
        ..CompactionConfig::default()
    }
}

#[test]
fn the_dirty_ratio_counts_the_segments_from_the_checkpoint_to_the_active_one() {
    let segments = four_segments();
    let c = assess(&log(&segments), Some(10), &ratio(0.5), NOW).unwrap();
    assert_eq!(
        (
            c.offsets.first_dirty_offset,
            c.offsets.first_uncleanable_offset
        ),
        (10, 30)
    );
    assert_eq!((c.clean_bytes, c.cleanable_bytes), (100, 200));
    assert!((c.dirty_ratio - 2.0 / 3.0).abs() < 1e-9);
    assert!(c.due);
    // Kafka compares strictly: a ratio equal to the minimum is not enough.
    let c = assess(&log(&segments), Some(20), &ratio(0.5), NOW).unwrap();
    assert_eq!((c.clean_bytes, c.cleanable_bytes), (200, 100));
    assert!(
        !assess(&log(&segments), Some(10), &ratio(0.7), NOW)
            .unwrap()
            .due
    );
    let halves = [segment(0, 100, 1), segment(10, 100, 1), segment(20, 0, 1)];
    let c = assess(&log(&halves), Some(10), &ratio(0.5), NOW).unwrap();
    assert_eq!(c.dirty_ratio, 0.5);
    assert!(!c.due);
}

#[test]
fn a_missing_or_stale_checkpoint_restarts_at_the_log_start() {
    let segments = four_segments();
    let mut facts = log(&segments);
    facts.log_start_offset = 5;
    let config = CompactionConfig::default();
    let none = cleanable_offsets(&facts, None, &config, NOW);
    assert_eq!((none.first_dirty_offset, none.reset_checkpoint), (5, false));
    let below = cleanable_offsets(&facts, Some(2), &config, NOW);
    assert_eq!(
        (below.first_dirty_offset, below.reset_checkpoint),
        (5, true)
    );
    let beyond = cleanable_offsets(&facts, Some(99), &config, NOW);
    assert_eq!(
        (beyond.first_dirty_offset, beyond.reset_checkpoint),
        (5, true)
    );
    let inside = cleanable_offsets(&facts, Some(12), &config, NOW);
    assert_eq!(
        (inside.first_dirty_offset, inside.reset_checkpoint),
        (12, false)
    );
}

#[test]
fn nothing_at_or_past_the_last_stable_offset_is_cleaned() {
    let segments = four_segments();
    let mut facts = log(&segments);
    facts.last_stable_offset = 25;
    let offsets = cleanable_offsets(&facts, Some(0), &CompactionConfig::default(), NOW);
    assert_eq!(offsets.first_uncleanable_offset, 25);
    // The scheduler rounds it down to the base of the segment holding it.
    let c = assess(&facts, Some(0), &CompactionConfig::default(), NOW).unwrap();
    assert_eq!(c.offsets.first_uncleanable_offset, 20);
    assert_eq!(c.cleanable_bytes, 200);
}

#[test]
fn segments_younger_than_the_min_compaction_lag_are_not_cleaned() {
    let segments = four_segments();
    let config = CompactionConfig {
        min_compaction_lag_ms: NOW - 2_500,
        ..CompactionConfig::default()
    };
    // now - lag = 2_500: the segment at 20 (max timestamp 3_000) is too young.
    let offsets = cleanable_offsets(&log(&segments), Some(0), &config, NOW);
    assert_eq!(offsets.first_uncleanable_offset, 20);
    let c = assess(&log(&segments), Some(0), &config, NOW).unwrap();
    assert_eq!(c.cleanable_bytes, 200);
}

#[test]
fn a_dirty_record_older_than_the_max_compaction_lag_makes_the_log_due() {
    let segments = four_segments();
    let config = CompactionConfig {
        max_compaction_lag_ms: NOW - 2_500,
        min_cleanable_dirty_ratio: 0.99,
        ..CompactionConfig::default()
    };
    // Dirty from 20: its first batch (3_000) is within the lag; not due on a low ratio.
    let c = assess(&log(&segments), Some(20), &config, NOW).unwrap();
    assert_eq!((c.compaction_delay_ms, c.due), (0, false));
    // Dirty from 10: its first batch (2_000) is 500 ms past the lag.
    let c = assess(&log(&segments), Some(10), &config, NOW).unwrap();
    assert_eq!((c.compaction_delay_ms, c.due), (500, true));
    // Overdue with nothing cleanable is not due.
    let mut facts = log(&segments);
    facts.last_stable_offset = 10;
    let c = assess(&facts, Some(10), &config, NOW).unwrap();
    assert_eq!((c.cleanable_bytes, c.due), (0, false));
}

#[test]
fn an_unsealed_segment_is_active_and_so_are_those_after_it() {
    let mut segments = four_segments();
    segments[2].sealed = false;
    let offsets = cleanable_offsets(&log(&segments), Some(0), &CompactionConfig::default(), NOW);
    assert_eq!(offsets.first_uncleanable_offset, 20);
    let mut all_sealed = four_segments();
    all_sealed[3].sealed = true;
    let offsets = cleanable_offsets(
        &log(&all_sealed),
        Some(0),
        &CompactionConfig::default(),
        NOW,
    );
    assert_eq!(
        offsets.first_uncleanable_offset, 30,
        "the last segment is always active"
    );
}

#[test]
fn an_empty_log_is_not_a_candidate() {
    assert_eq!(
        assess(&log(&[]), None, &CompactionConfig::default(), NOW),
        None
    );
    let empty = [segment(0, 0, 0)];
    assert_eq!(
        assess(&log(&empty), None, &CompactionConfig::default(), NOW),
        None
    );
}

#[test]
fn the_filthiest_due_log_is_chosen() {
    let segments = four_segments();
    let a = assess(&log(&segments), Some(10), &ratio(0.5), NOW).unwrap();
    let b = assess(&log(&segments), Some(0), &ratio(0.5), NOW).unwrap();
    let not_due = CleaningCandidate {
        dirty_ratio: 1.0,
        due: false,
        ..b
    };
    assert_eq!(filthiest(&[a, not_due, b]), Some(2));
    assert_eq!(filthiest(&[not_due]), None);
    assert_eq!(filthiest(&[]), None);
}
