use std::time::{Duration, Instant};

use super::{Progress, Role};

const LAG: Duration = Duration::from_secs(10);

fn leader(epoch: i32, isr: &[i32]) -> Role {
    leader_at(epoch, 0, isr)
}

fn leader_at(epoch: i32, partition_epoch: i32, isr: &[i32]) -> Role {
    Role::Leader {
        epoch,
        partition_epoch,
        isr: isr.to_vec(),
        replicas: vec![1, 2, 3],
    }
}

#[test]
fn a_sole_leader_exposes_its_whole_log() {
    let now = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1]), (0, 10), None, now);
    assert_eq!(p.high_watermark(), 10);
    assert!(p.advance(12));
    assert_eq!(p.high_watermark(), 12);
}

#[test]
fn the_high_watermark_is_the_minimum_over_the_isr_and_never_falls() {
    let now = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2, 3]), (0, 10), None, now);
    assert_eq!(p.high_watermark(), 0, "followers not heard from yet");
    assert!(!p.follower_fetched(2, 10, 10, now), "3 still unknown");
    assert!(p.follower_fetched(3, 7, 10, now));
    assert_eq!(p.high_watermark(), 7);
    assert!(p.follower_fetched(3, 10, 10, now));
    assert_eq!(p.high_watermark(), 10);
    assert!(
        !p.follower_fetched(3, 4, 10, now),
        "a lower fetch never lowers it"
    );
    assert_eq!(p.high_watermark(), 10);
    assert!(
        !p.follower_fetched(9, 50, 60, now),
        "not a replica: ignored"
    );
}

#[test]
fn a_follower_outside_the_isr_does_not_hold_the_mark_back() {
    let now = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2]), (0, 10), None, now);
    p.follower_fetched(2, 10, 10, now);
    assert_eq!(p.high_watermark(), 10, "replica 3 is not in the ISR");
}

#[test]
fn a_lagging_follower_leaves_the_isr_and_a_caught_up_one_returns() {
    let t0 = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2, 3]), (0, 100), None, t0);
    p.follower_fetched(2, 100, 100, t0);
    p.follower_fetched(3, 40, 100, t0);
    assert_eq!(
        p.wanted_isr(100, t0 + LAG, LAG),
        None,
        "within the lag time"
    );
    let later = t0 + LAG + Duration::from_millis(1);
    p.follower_fetched(2, 100, 100, later);
    assert_eq!(p.wanted_isr(100, later, LAG), Some(vec![1, 2]));
    p.set_role(leader(0, &[1, 2]), 100, later);
    assert_eq!(p.wanted_isr(100, later, LAG), None);
    p.follower_fetched(3, 100, 100, later);
    assert_eq!(p.wanted_isr(100, later, LAG), Some(vec![1, 2, 3]));
}

#[test]
fn a_follower_reaching_the_previous_log_end_counts_as_caught_up_then() {
    let t0 = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2]), (0, 100), None, t0);
    let mut end = 100;
    let mut at = t0;
    // The leader always grows a little between fetches, so the follower is never at its very
    // end; yet each fetch reaches where the leader was at the previous one.
    for _ in 0..30 {
        p.follower_fetched(2, end, end + 5, at);
        end += 5;
        at += Duration::from_secs(1);
    }
    assert_eq!(
        p.wanted_isr(end, at, LAG),
        None,
        "never lagged by more than a fetch"
    );
}

#[test]
fn a_new_epoch_forgets_followers_and_asks_a_follower_to_truncate() {
    let t0 = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2]), (0, 10), None, t0);
    p.follower_fetched(2, 10, 10, t0);
    assert!(p.set_role(leader(1, &[1, 2]), 12, t0));
    assert_eq!(p.high_watermark(), 10, "kept, not lowered");
    assert!(
        !p.advance(12),
        "follower 2 must fetch again in the new epoch"
    );
    assert!(!p.needs_truncation(), "a leader does not truncate");
    assert!(p.set_role(
        Role::Follower {
            leader: 2,
            epoch: 2
        },
        12,
        t0
    ));
    assert!(p.needs_truncation());
    assert_eq!(p.leader_epoch(), None);
    p.truncated(2, 8);
    assert!(!p.needs_truncation());
    assert_eq!(p.high_watermark(), 8, "never above the log end");
    p.follow_high_watermark(20, 15);
    assert_eq!(p.high_watermark(), 15);
    assert!(!p.set_role(
        Role::Follower {
            leader: 2,
            epoch: 2
        },
        15,
        t0
    ));
    p.set_role(
        Role::Follower {
            leader: 3,
            epoch: 3,
        },
        15,
        t0,
    );
    assert!(p.needs_truncation(), "every epoch change truncates again");
}

#[test]
fn a_stale_truncation_does_not_count_for_a_newer_epoch() {
    let t0 = Instant::now();
    let mut p = Progress::new(
        1,
        Role::Follower {
            leader: 2,
            epoch: 5,
        },
        (0, 0),
        None,
        t0,
    );
    p.truncated(4, 0);
    assert!(p.needs_truncation());
}

#[test]
fn a_restarted_replica_starts_from_its_saved_mark_within_its_log() {
    let now = Instant::now();
    let p = Progress::new(1, leader(3, &[1, 2, 3]), (0, 100), Some(80), now);
    assert_eq!(
        p.high_watermark(),
        80,
        "followers not heard from: the saved mark stands"
    );
    let p = Progress::new(1, leader(3, &[1, 2, 3]), (0, 50), Some(80), now);
    assert_eq!(p.high_watermark(), 50, "never above what the log holds");
    let p = Progress::new(1, leader(3, &[1, 2, 3]), (60, 100), Some(10), now);
    assert_eq!(p.high_watermark(), 60, "never below the log start");
    let mut p = Progress::new(1, leader(3, &[1, 2, 3]), (0, 100), Some(80), now);
    p.follower_fetched(2, 90, 100, now);
    p.follower_fetched(3, 70, 100, now);
    assert_eq!(
        p.high_watermark(),
        80,
        "a follower behind the saved mark never lowers it"
    );
    p.follower_fetched(3, 95, 100, now);
    assert_eq!(p.high_watermark(), 90);
}

#[test]
fn a_member_removed_from_the_isr_rejoins_only_after_fetching_again() {
    let t0 = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2, 3]), (0, 100), None, t0);
    p.follower_fetched(2, 100, 100, t0);
    p.follower_fetched(3, 100, 100, t0);
    let shrunk = Role::Leader {
        epoch: 0,
        partition_epoch: 1,
        isr: vec![1, 2],
        replicas: vec![1, 2, 3],
    };
    p.set_role(shrunk, 100, t0);
    assert_eq!(
        p.wanted_isr(100, t0, LAG),
        None,
        "3 is not asked back unheard"
    );
    p.follower_fetched(3, 100, 100, t0);
    assert_eq!(p.wanted_isr(100, t0, LAG), Some(vec![1, 2, 3]));
}

#[test]
fn members_of_an_asked_for_isr_expansion_hold_the_mark_back_until_answered() {
    let t0 = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2]), (0, 10), None, t0);
    p.follower_fetched(2, 10, 10, t0);
    p.follower_fetched(3, 10, 10, t0);
    assert_eq!(p.wanted_isr(10, t0, LAG), Some(vec![1, 2, 3]));
    p.isr_requested(0, &[1, 2, 3]);
    // The controller may already have added 3, and could elect it: it holds the mark.
    assert!(!p.follower_fetched(2, 15, 15, t0));
    assert_eq!(p.high_watermark(), 10);
    assert!(p.follower_fetched(3, 12, 15, t0));
    assert_eq!(p.high_watermark(), 12);
    p.isr_request_refused(7);
    assert!(
        !p.advance(15),
        "a refusal at another partition epoch changes nothing"
    );
    p.isr_request_refused(0);
    assert!(p.advance(15), "refused: 3 is not in the ISR");
    assert_eq!(p.high_watermark(), 15);
    p.isr_requested(0, &[1, 2, 3]);
    let committed = Role::Leader {
        epoch: 0,
        partition_epoch: 1,
        isr: vec![1, 2],
        replicas: vec![1, 2, 3],
    };
    p.set_role(committed, 20, t0);
    assert!(
        p.follower_fetched(2, 20, 20, t0),
        "the metadata moved on without 3"
    );
    assert_eq!(p.high_watermark(), 20);
    p.isr_requested(0, &[1, 2, 3]);
    assert!(
        p.follower_fetched(2, 21, 21, t0),
        "asked at an older partition epoch: ignored"
    );
}

#[test]
fn a_replica_rejoins_only_once_it_holds_what_the_leader_had_when_it_took_over() {
    let t0 = Instant::now();
    // A new leader whose log ends at 20 but whose high watermark only reached 15: the previous
    // leader may have acknowledged records up to 20.
    let mut p = Progress::new(1, leader(3, &[1, 2]), (0, 20), Some(15), t0);
    assert_eq!(p.high_watermark(), 15, "2 not heard from yet");
    p.follower_fetched(3, 17, 20, t0);
    assert_eq!(
        p.wanted_isr(20, t0, LAG),
        None,
        "3 reached the high watermark but lacks 17 to 19"
    );
    p.follower_fetched(3, 20, 20, t0);
    assert_eq!(p.wanted_isr(20, t0, LAG), Some(vec![1, 2, 3]));
}

#[test]
fn an_asked_for_member_whose_answer_was_lost_is_withdrawn_by_an_accepted_request() {
    let t0 = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2]), (0, 10), None, t0);
    p.follower_fetched(2, 10, 10, t0);
    p.follower_fetched(3, 10, 10, t0);
    p.isr_requested(0, &[1, 2, 3]);
    // The answer was lost; 3 stops fetching and the leader no longer wants it.
    let later = t0 + LAG + Duration::from_millis(1);
    assert!(!p.follower_fetched(2, 30, 30, later));
    assert_eq!(p.high_watermark(), 10, "3 may have been added");
    assert_eq!(
        p.wanted_isr(30, later, LAG),
        Some(vec![1, 2]),
        "the current ISR, asked for again to withdraw 3"
    );
    p.isr_requested(0, &[1, 2]);
    assert!(
        p.isr_accepted(0, &[1, 2], 30),
        "nothing before it was committed"
    );
    assert_eq!(p.high_watermark(), 30);
    assert_eq!(p.wanted_isr(30, later, LAG), None);
}

#[test]
fn the_low_watermark_is_the_lowest_isr_log_start() {
    let now = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2]), (0, 10), None, now);
    assert_eq!(p.low_watermark(5), Some(-1), "2 not heard from yet");
    assert!(p.follower_log_start(2, 3));
    assert!(
        !p.follower_log_start(2, 3),
        "the same start again is no change"
    );
    assert_eq!(p.low_watermark(5), Some(3));
    p.follower_log_start(2, 8);
    assert_eq!(p.low_watermark(5), Some(5), "the leader's own start counts");
    p.follower_log_start(3, 0);
    assert_eq!(p.low_watermark(5), Some(5), "3 is outside the ISR");
    let follower = Progress::new(
        1,
        Role::Follower {
            leader: 2,
            epoch: 0,
        },
        (0, 10),
        None,
        now,
    );
    assert_eq!(follower.low_watermark(5), None);
}

#[test]
fn the_max_follower_lag_counts_the_slowest_replica_isr_or_not() {
    let now = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2]), (5, 20), None, now);
    assert_eq!(
        p.max_follower_lag(20, 5),
        Some(15),
        "nobody heard: all since start"
    );
    p.follower_fetched(2, 20, 20, now);
    p.follower_fetched(3, 12, 20, now);
    assert_eq!(
        p.max_follower_lag(20, 5),
        Some(8),
        "3 is outside the ISR and counts"
    );
    p.follower_fetched(3, 20, 20, now);
    assert_eq!(p.max_follower_lag(20, 5), Some(0));
    let follower = Progress::new(
        1,
        Role::Follower {
            leader: 2,
            epoch: 0,
        },
        (0, 0),
        None,
        now,
    );
    assert_eq!(follower.max_follower_lag(0, 0), None);
}

#[test]
fn each_offset_remembers_the_isr_the_mark_passed_it_under() {
    let now = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2, 3]), (0, 10), None, now);
    p.follower_fetched(2, 10, 10, now);
    p.follower_fetched(3, 4, 10, now);
    assert_eq!(p.high_watermark(), 4);
    assert_eq!(p.replicas_holding(4), None, "the mark has not passed it");
    // Replica 3 stops; the controller drops it and the mark passes 4..10 under an ISR of 2.
    assert!(p.set_role(leader_at(0, 1, &[1, 2]), 10, now));
    assert_eq!(p.high_watermark(), 10);
    assert_eq!(p.replicas_holding(3), Some(3));
    assert_eq!(p.replicas_holding(4), Some(2));
    assert_eq!(p.replicas_holding(9), Some(2));
    // A member asked back holds the mark too (the maximal ISR), before the controller answers.
    p.isr_requested(1, &[1, 2, 3]);
    p.advance(20);
    p.follower_fetched(2, 20, 20, now);
    assert_eq!(p.high_watermark(), 10, "replica 3 holds it back again");
    p.follower_fetched(3, 20, 20, now);
    assert_eq!(p.high_watermark(), 20);
    assert_eq!(p.replicas_holding(15), Some(3));
}

#[test]
fn a_batch_passed_under_a_small_isr_is_held_by_the_whole_isr_once_it_is_back() {
    let now = Instant::now();
    let mut p = Progress::new(1, leader(0, &[1, 2, 3]), (0, 10), None, now);
    // Both followers stop; the leader alone commits 0..10.
    assert!(p.set_role(leader_at(0, 1, &[1]), 10, now));
    assert_eq!(p.high_watermark(), 10);
    assert_eq!(p.replicas_holding(5), Some(1));
    // They catch up and rejoin: a producer retrying that batch now finds it on all three.
    p.follower_fetched(2, 10, 10, now);
    p.follower_fetched(3, 10, 10, now);
    assert!(p.set_role(leader_at(0, 2, &[1, 2, 3]), 10, now));
    assert_eq!(p.replicas_holding(5), Some(3));
    // As a follower it no longer knows.
    let follower = Role::Follower {
        leader: 2,
        epoch: 1,
    };
    assert!(p.set_role(follower, 10, now));
    assert_eq!(p.replicas_holding(5), None);
}
