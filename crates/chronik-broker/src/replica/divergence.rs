//! Where two replicas' logs stop agreeing, from their leader-epoch checkpoints (KIP-101/279),
//! as pure functions: the leader's OffsetForLeaderEpoch answer and the follower's cut.

/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
pub(crate) const UNDEFINED: (i32, i64) = (-1, -1);

/// The leader's answer for `requested`: the largest epoch at or below it with the offset where
/// it ended (`lookup`, from the checkpoint). The current epoch ends at the log end even before
/// anything was written in it; an epoch older than the checkpoint ends where the log's first
/// epoch starts; a future one is undefined.
pub(crate) fn epoch_end(
    requested: i32,
    current: i32,
    log_end: i64,
    lookup: Option<(i32, i64)>,
    first_start: Option<i64>,
) -> (i32, i64) {
    if requested < 0 || requested > current {
        return UNDEFINED;
    }
    if requested == current {
        return (current, log_end);
    }
    match (lookup, first_start) {
        (Some(found), _) => found,
        (None, Some(start)) => (requested, start),
        (None, None) => UNDEFINED,
    }
}

/// Where a follower cuts its log after asking about its latest epoch `asked_epoch` and
/// hearing `(leader_epoch, leader_end)`: the end of the largest common epoch, kept within
/// `(log_start, log_end)`. `local_end_of` is the local checkpoint's answer for an epoch.
pub(crate) fn truncation_point(
    (log_start, log_end): (i64, i64),
    high_watermark: i64,
    asked_epoch: i32,
    (leader_epoch, leader_end): (i32, i64),
    local_end_of: impl FnOnce(i32) -> Option<(i32, i64)>,
) -> i64 {
    let target = if leader_end < 0 {
        // The leader knows no epoch at or below ours: keep only what was committed.
        high_watermark
    } else if leader_epoch < asked_epoch {
        let local = local_end_of(leader_epoch).map_or(0, |(_, end)| end);
        leader_end.min(local)
    } else {
        leader_end
    };
    target.clamp(log_start, log_end)
}

#[cfg(test)]
mod tests {
    use super::{UNDEFINED, epoch_end, truncation_point};

    #[test]
    fn epoch_end_offsets_follow_kafka() {
        assert_eq!(
            epoch_end(5, 5, 100, Some((3, 100)), Some(0)),
            (5, 100),
            "current epoch"
        );
        assert_eq!(
            epoch_end(6, 5, 100, Some((3, 100)), Some(0)),
            UNDEFINED,
            "future epoch"
        );
        assert_eq!(epoch_end(-1, 5, 100, None, Some(0)), UNDEFINED);
        assert_eq!(
            epoch_end(2, 5, 100, Some((1, 40)), Some(0)),
            (1, 40),
            "from the checkpoint"
        );
        assert_eq!(
            epoch_end(0, 5, 100, None, Some(30)),
            (0, 30),
            "older than the checkpoint"
        );
        assert_eq!(epoch_end(0, 5, 0, None, None), UNDEFINED, "empty log");
    }

    #[test]
    fn a_follower_cuts_at_the_end_of_the_largest_common_epoch() {
        let none = |_| None;
        assert_eq!(
            truncation_point((0, 50), 10, 3, (3, 40), none),
            40,
            "same epoch, ended earlier at the leader"
        );
        assert_eq!(
            truncation_point((0, 50), 10, 3, (3, 70), none),
            50,
            "never beyond the local end"
        );
        assert_eq!(
            truncation_point((0, 50), 10, 3, (1, 45), |_| Some((1, 30))),
            30,
            "an older common epoch that ended sooner here"
        );
        assert_eq!(truncation_point((5, 50), 2, 3, UNDEFINED, none), 5);
        assert_eq!(truncation_point((0, 50), 12, 3, UNDEFINED, none), 12);
    }
}
