use std::time::{Duration, Instant};

use chronik_types::TopicPartition;

use super::{
    Answer, FetchContext, FetchSessions, PartitionParams, SessionError, SessionRequest, Shown,
};

const EVICTION: Duration = Duration::from_secs(120);

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

fn params(offset: i64) -> PartitionParams {
    PartitionParams {
        fetch_offset: offset,
        log_start_offset: -1,
        current_leader_epoch: 0,
        max_bytes: 1024,
    }
}

fn request(session_id: i32, epoch: i32, parts: &[(i32, i64)]) -> SessionRequest {
    SessionRequest {
        session_id,
        epoch,
        follower: None,
        partitions: parts.iter().map(|&(p, o)| (tp(p), params(o))).collect(),
        forgotten: Vec::new(),
    }
}

fn idle(hw: i64) -> Answer {
    Answer {
        shown: Shown {
            high_watermark: hw,
            last_stable_offset: hw,
            log_start_offset: 0,
        },
        has_records: false,
        failed: false,
    }
}

fn with_records(hw: i64) -> Answer {
    Answer {
        has_records: true,
        ..idle(hw)
    }
}

/// Opens a session over partitions 0..n at offset 0 and answers it with every partition idle at
/// high watermark 0; returns its id.
fn open(cache: &mut FetchSessions, n: i32, now: Instant) -> i32 {
    let parts: Vec<(i32, i64)> = (0..n).map(|p| (p, 0)).collect();
    let plan = cache.begin(request(0, 0, &parts), now).unwrap();
    let answers: Vec<_> = (0..n).map(|p| (tp(p), idle(0))).collect();
    assert_eq!(cache.finish(plan.context, &answers), vec![true; n as usize]);
    plan.context.session_id()
}

fn partitions_of(plan: &super::Plan) -> Vec<i32> {
    plan.partitions.iter().map(|(tp, _)| tp.partition).collect()
}

#[test]
fn an_incremental_fetch_reads_the_session_and_answers_only_what_changed() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let id = open(&mut cache, 3, now);
    assert_ne!(id, 0);
    assert_eq!(cache.size(), (1, 3));

    let plan = cache.begin(request(id, 1, &[]), now).unwrap();
    assert_eq!(plan.context, FetchContext::Incremental { session_id: id });
    assert_eq!(partitions_of(&plan), vec![0, 1, 2]);
    let answers = [(tp(0), idle(0)), (tp(1), idle(5)), (tp(2), idle(0))];
    assert_eq!(
        cache.finish(plan.context, &answers),
        vec![false, true, false],
        "only the partition whose high watermark moved"
    );

    // The client sends partition 1's new position; the session keeps the others'.
    let plan = cache.begin(request(id, 2, &[(1, 5)]), now).unwrap();
    assert_eq!(plan.partitions[1].1.fetch_offset, 5);
    assert_eq!(plan.partitions[0].1.fetch_offset, 0);
}

#[test]
fn partitions_that_returned_records_move_to_the_end() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let id = open(&mut cache, 3, now);
    let plan = cache.begin(request(id, 1, &[]), now).unwrap();
    let answers = [(tp(0), with_records(4)), (tp(1), idle(0)), (tp(2), idle(0))];
    assert_eq!(
        cache.finish(plan.context, &answers),
        vec![true, false, false]
    );
    let plan = cache.begin(request(id, 2, &[(0, 4)]), now).unwrap();
    assert_eq!(partitions_of(&plan), vec![1, 2, 0]);
}

#[test]
fn errors_are_always_answered_and_forgotten_partitions_leave_the_session() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let id = open(&mut cache, 2, now);
    let plan = cache.begin(request(id, 1, &[(7, 0)]), now).unwrap();
    assert_eq!(
        partitions_of(&plan),
        vec![0, 1, 7],
        "a new partition joins at the end"
    );
    let failed = Answer {
        failed: true,
        ..idle(-1)
    };
    let answers = [(tp(0), idle(0)), (tp(1), idle(0)), (tp(7), failed)];
    assert_eq!(
        cache.finish(plan.context, &answers),
        vec![false, false, true]
    );
    let plan = cache.begin(request(id, 2, &[]), now).unwrap();
    let answers = [(tp(0), idle(0)), (tp(1), idle(0)), (tp(7), failed)];
    assert_eq!(
        cache.finish(plan.context, &answers),
        vec![false, false, true]
    );

    let mut forget = request(id, 3, &[]);
    forget.forgotten = vec![tp(7), tp(0)];
    let plan = cache.begin(forget, now).unwrap();
    assert_eq!(partitions_of(&plan), vec![1]);
    assert_eq!(cache.size(), (1, 1));
}

#[test]
fn wrong_ids_and_epochs_are_refused_and_change_nothing() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let id = open(&mut cache, 2, now);
    let unknown = if id == 1 { 2 } else { 1 };
    assert_eq!(
        cache.begin(request(unknown, 1, &[]), now).unwrap_err(),
        SessionError::IdNotFound
    );
    assert_eq!(
        cache.begin(request(id, 2, &[(5, 0)]), now).unwrap_err(),
        SessionError::InvalidEpoch,
        "an epoch ahead"
    );
    assert_eq!(
        cache.begin(request(0, 4, &[]), now).unwrap_err(),
        SessionError::IdNotFound,
        "an epoch without a session"
    );
    assert_eq!(cache.size(), (1, 2), "the refused partition was not added");
    cache.begin(request(id, 1, &[]), now).unwrap();
    assert_eq!(
        cache.begin(request(id, 1, &[]), now).unwrap_err(),
        SessionError::InvalidEpoch,
        "an epoch already used"
    );
}

#[test]
fn epoch_minus_one_closes_and_zero_replaces_a_session() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let id = open(&mut cache, 2, now);
    let plan = cache.begin(request(id, -1, &[(0, 0)]), now).unwrap();
    assert_eq!(plan.context, FetchContext::Sessionless);
    assert_eq!(cache.size(), (0, 0));
    assert_eq!(
        cache.begin(request(id, 1, &[]), now).unwrap_err(),
        SessionError::IdNotFound
    );

    let id = open(&mut cache, 2, now);
    let again = open_replacing(&mut cache, id, now);
    assert_ne!(again, 0);
    assert_eq!(cache.size(), (1, 1), "the old session is gone");
}

fn open_replacing(cache: &mut FetchSessions, old: i32, now: Instant) -> i32 {
    let plan = cache.begin(request(old, 0, &[(3, 0)]), now).unwrap();
    plan.context.session_id()
}

#[test]
fn a_full_cache_evicts_a_stale_session_first() {
    let start = Instant::now();
    let mut cache = FetchSessions::new(2, EVICTION);
    let idle = open(&mut cache, 50, start);
    let busy = open(&mut cache, 50, start);
    let later = start + EVICTION;
    cache.begin(request(busy, 1, &[]), later).unwrap();
    // One partition matters less than either, but the idle one is stale.
    assert_ne!(open(&mut cache, 1, later), 0);
    assert_eq!(cache.evictions(), 1);
    assert_eq!(
        cache.begin(request(idle, 1, &[]), later).unwrap_err(),
        SessionError::IdNotFound,
        "the evicted client is told to start again"
    );
}

#[test]
fn a_consumer_evicts_only_smaller_sessions_older_than_the_eviction_time() {
    let start = Instant::now();
    let mut cache = FetchSessions::new(2, EVICTION);
    let small = open(&mut cache, 5, start);
    let big = open(&mut cache, 50, start);
    let soon = start + Duration::from_secs(10);
    assert_eq!(
        open_size(&mut cache, 10, soon),
        0,
        "the small session is too young"
    );
    assert_eq!(
        open_size(&mut cache, 3, soon),
        0,
        "and matters more than 3 partitions"
    );
    let later = start + EVICTION + Duration::from_secs(10);
    let used = start + EVICTION;
    cache.begin(request(small, 1, &[]), used).unwrap();
    cache.begin(request(big, 1, &[]), used).unwrap();
    assert_ne!(
        open_size(&mut cache, 10, later),
        0,
        "old enough and smaller"
    );
    assert_eq!(cache.evictions(), 1);
    assert_eq!(
        cache.begin(request(small, 2, &[]), later).unwrap_err(),
        SessionError::IdNotFound
    );
    cache.begin(request(big, 2, &[]), later).unwrap();
}

/// A full fetch of `n` partitions without using its answer; the new session's id (0: none).
fn open_size(cache: &mut FetchSessions, n: i32, now: Instant) -> i32 {
    let parts: Vec<(i32, i64)> = (0..n).map(|p| (p, 0)).collect();
    cache
        .begin(request(0, 0, &parts), now)
        .unwrap()
        .context
        .session_id()
}

#[test]
fn a_session_named_again_with_new_parameters_is_answered_in_full() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let id = open(&mut cache, 2, now);
    let plan = cache.begin(request(id, 1, &[(0, 0)]), now).unwrap();
    let answers = [(tp(0), idle(0)), (tp(1), idle(0))];
    assert_eq!(
        cache.finish(plan.context, &answers),
        vec![false, false],
        "same parameters"
    );
    let plan = cache.begin(request(id, 2, &[(0, 0), (1, 7)]), now).unwrap();
    let answers = [(tp(0), idle(0)), (tp(1), idle(0))];
    assert_eq!(
        cache.finish(plan.context, &answers),
        vec![false, true],
        "a new position is answered even when nothing else changed"
    );
}

#[test]
fn sessions_are_bounded_by_the_partitions_they_hold() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION).with_max_partitions(6);
    let a = open(&mut cache, 4, now);
    assert_eq!(open_size(&mut cache, 3, now), 0, "4 + 3 would pass 6");
    assert_eq!(cache.size(), (1, 4));
    cache.begin(request(a, 1, &[(4, 0), (5, 0)]), now).unwrap();
    assert_eq!(cache.size(), (1, 6));
    assert_eq!(
        cache.begin(request(a, 2, &[(6, 0)]), now).unwrap_err(),
        SessionError::IdNotFound,
        "growing past the bound closes the session"
    );
    assert_eq!(cache.size(), (0, 0));
}

#[test]
fn a_session_left_empty_is_closed() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let id = open(&mut cache, 1, now);
    let mut forget = request(id, 1, &[]);
    forget.forgotten = vec![tp(0)];
    let plan = cache.begin(forget, now).unwrap();
    assert_eq!(plan.context, FetchContext::Sessionless);
    assert!(plan.partitions.is_empty());
    assert_eq!(cache.size(), (0, 0));
}

#[test]
fn followers_keep_their_sessions_before_consumers() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(1, EVICTION);
    let mut follower = request(0, 0, &[(0, 0)]);
    follower.follower = Some(2);
    let f = cache.begin(follower, now).unwrap().context.session_id();
    assert_ne!(f, 0);
    let plan = cache
        .begin(request(0, 0, &[(0, 0), (1, 0), (2, 0)]), now)
        .unwrap();
    assert_eq!(
        plan.context.session_id(),
        0,
        "a consumer cannot evict a follower"
    );
    let mut other = request(0, 0, &[(0, 0), (1, 0)]);
    other.follower = Some(3);
    assert_ne!(cache.begin(other, now).unwrap().context.session_id(), 0);
}

#[test]
fn a_follower_holds_one_session_whatever_it_lost_track_of() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(10, EVICTION);
    let full = |follower| {
        let mut req = request(0, 0, &[(0, 0), (1, 0)]);
        req.follower = Some(follower);
        req
    };
    let lost = cache.begin(full(2), now).unwrap().context.session_id();
    let other = cache.begin(full(3), now).unwrap().context.session_id();
    let kept = cache.begin(full(2), now).unwrap().context.session_id();
    assert_eq!(cache.size(), (2, 4));
    assert_eq!(
        cache.begin(request(lost, 1, &[]), now).unwrap_err(),
        SessionError::IdNotFound
    );
    cache.begin(request(kept, 1, &[]), now).unwrap();
    cache.begin(request(other, 1, &[]), now).unwrap();
}

#[test]
fn no_slots_or_no_partitions_make_no_session() {
    let now = Instant::now();
    let mut cache = FetchSessions::new(0, EVICTION);
    let plan = cache.begin(request(0, 0, &[(0, 0)]), now).unwrap();
    assert_eq!(plan.context, FetchContext::Full { session_id: 0 });
    let mut cache = FetchSessions::new(5, EVICTION);
    let plan = cache.begin(request(0, 0, &[]), now).unwrap();
    assert_eq!(plan.context, FetchContext::Full { session_id: 0 });
    assert_eq!(cache.size(), (0, 0));
}

#[test]
fn epochs_wrap_past_the_largest_to_one() {
    assert_eq!(super::next_epoch(1), 2);
    assert_eq!(super::next_epoch(i32::MAX), 1);
}
