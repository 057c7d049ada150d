//! What a partition leader does next for its remote tier, decided from the local segments,
//! the copies the metadata records and the topic's retention: which sealed segment to copy,
//! which local segments may go (their copy is whole and local retention has passed), and which
//! copies to delete (retention of the whole log, or an upload nobody finishes). Pure: the
//! caller does the uploads, deletions and metadata steps.

/// A segment of the local log; the last one of a log is its active segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSegment {
    pub base_offset: i64,
    pub next_offset: i64,
    pub bytes: u64,
    pub max_timestamp: i64,
}

/// Where a remote copy stands in the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyState {
    Started,
    Copied,
    Deleting,
}

/// A remote copy as the metadata records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteCopy {
    pub base_offset: i64,
    pub upload_id: u64,
    pub next_offset: i64,
    pub bytes: u64,
    pub max_timestamp: i64,
    pub state: CopyState,
}

/// The topic's retention, Kafka's way: `retention.*` bounds the whole log (local and
/// remote), `local.retention.*` what stays on local disk. `None`: unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierRetention {
    pub retention_ms: Option<i64>,
    pub retention_bytes: Option<u64>,
    pub local_retention_ms: Option<i64>,
    pub local_retention_bytes: Option<u64>,
}

/// Everything the plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct TierView<'a> {
    /// The local segments, oldest first; the last is the active one, never copied or deleted.
    pub local: &'a [LocalSegment],
    /// The copies, by base offset then upload id.
    pub remote: &'a [RemoteCopy],
    /// Only committed data outside open transactions is copied: a segment goes up once it
    /// ends at or below this (Kafka copies below the last stable offset too).
    pub last_stable_offset: i64,
    /// The log start over both tiers that DeleteRecords set (0: never): the copies wholly
    /// below it are deleted.
    pub log_start: i64,
    /// The upload this leader has under way, if any: its copy is not abandoned.
    pub uploading: Option<u64>,
    pub now_ms: i64,
    pub retention: TierRetention,
}

/// What to do next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierPlan {
    /// The sealed segment to copy next (copies go up one at a time, oldest first).
    pub copy: Option<LocalSegment>,
    /// Local segments below this offset may be deleted: each is wholly copied and past local
    /// retention.
    pub delete_local_below: Option<i64>,
    /// Copies to delete (base offset, upload id): abandoned uploads, copies already being
    /// deleted, and those past the whole log's retention, oldest first.
    pub delete_remote: Vec<(i64, u64)>,
    /// What is still to copy: the sealed segments holding anything no whole copy holds.
    pub lag: CopyLag,
}

/// How far the remote tier is behind the local log's sealed segments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyLag {
    pub segments: u64,
    pub bytes: u64,
}

/// Decides what the partition's leader does next.
pub fn plan(view: &TierView<'_>) -> TierPlan {
    let copied_end = view
        .remote
        .iter()
        .filter(|c| c.state == CopyState::Copied)
        .map(|c| c.next_offset)
        .max();
    TierPlan {
        copy: next_copy(view, copied_end),
        delete_local_below: local_deletions(view, copied_end.unwrap_or(i64::MIN)),
        delete_remote: remote_deletions(view),
        lag: copy_lag(view, copied_end),
    }
}

fn copy_lag(view: &TierView<'_>, copied_end: Option<i64>) -> CopyLag {
    let sealed = view.local.split_last().map_or(&[][..], |(_, s)| s);
    (sealed.iter())
        .filter(|s| copied_end.is_none_or(|end| s.next_offset > end))
        .fold(CopyLag::default(), |lag, s| CopyLag {
            segments: lag.segments + 1,
            bytes: lag.bytes + s.bytes,
        })
}

/// The oldest sealed, committed segment holding anything no whole copy holds, unless an
/// upload is under way.
fn next_copy(view: &TierView<'_>, copied_end: Option<i64>) -> Option<LocalSegment> {
    if view.uploading.is_some() {
        return None;
    }
    let sealed = view.local.split_last().map_or(&[][..], |(_, s)| s);
    sealed
        .iter()
        .find(|s| copied_end.is_none_or(|end| s.next_offset > end))
        .filter(|s| s.next_offset <= view.last_stable_offset)
        .copied()
}

/// Local segments go oldest first while each is wholly copied and past local retention (by
/// time, or by size: Kafka's rule, only while what stays is at least the limit).
fn local_deletions(view: &TierView<'_>, copied_end: i64) -> Option<i64> {
    let sealed = view.local.split_last().map_or(&[][..], |(_, s)| s);
    let r = view.retention;
    let mut left: u64 = view.local.iter().map(|s| s.bytes).sum();
    let mut below = None;
    for s in sealed {
        let expired = r
            .local_retention_ms
            .is_some_and(|ms| s.max_timestamp < view.now_ms.saturating_sub(ms));
        let oversize = r
            .local_retention_bytes
            .is_some_and(|limit| left.saturating_sub(s.bytes) >= limit);
        if s.next_offset > copied_end || !(expired || oversize) {
            break;
        }
        left -= s.bytes;
        below = Some(s.next_offset);
    }
    below
}

fn remote_deletions(view: &TierView<'_>) -> Vec<(i64, u64)> {
    let r = view.retention;
    let local_start = view.local.first().map_or(i64::MAX, |s| s.base_offset);
    let local_bytes: u64 = view.local.iter().map(|s| s.bytes).sum();
    // Bytes of the log held only remotely, for retention.bytes over the whole log.
    let mut total = local_bytes
        + (view.remote.iter())
            .filter(|c| c.state == CopyState::Copied && c.base_offset < local_start)
            .map(|c| c.bytes)
            .sum::<u64>();
    let mut doomed = Vec::new();
    // Oldest first: once one copy is kept, every later one is too.
    let mut deleting = true;
    for c in view.remote {
        let key = (c.base_offset, c.upload_id);
        match c.state {
            CopyState::Deleting => doomed.push(key),
            CopyState::Started if view.uploading != Some(c.upload_id) => doomed.push(key),
            CopyState::Started => {}
            CopyState::Copied => {
                let expired = r
                    .retention_ms
                    .is_some_and(|ms| c.max_timestamp < view.now_ms.saturating_sub(ms));
                let remote_only = c.base_offset < local_start;
                let oversize = remote_only
                    && r.retention_bytes
                        .is_some_and(|limit| total.saturating_sub(c.bytes) >= limit);
                let records_deleted = c.next_offset <= view.log_start;
                deleting = deleting && (records_deleted || expired || oversize);
                if deleting {
                    if remote_only {
                        total -= c.bytes;
                    }
                    doomed.push(key);
                }
            }
        }
    }
    doomed
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    /// Local segments of 100 offsets and 1,000 bytes each from `first`; segment i's newest
    /// record is i seconds after 0.
    fn local(first: i64, count: i64) -> Vec<LocalSegment> {
        (0..count)
            .map(|i| LocalSegment {
                base_offset: (first + i) * 100,
                next_offset: (first + i + 1) * 100,
                bytes: 1_000,
                max_timestamp: (first + i) * 1_000,
            })
            .collect()
    }

    fn copy(segment: i64, upload_id: u64, state: CopyState) -> RemoteCopy {
        RemoteCopy {
            base_offset: segment * 100,
            upload_id,
            next_offset: (segment + 1) * 100,
            bytes: 1_000,
            max_timestamp: segment * 1_000,
            state,
        }
    }

    fn view<'a>(local: &'a [LocalSegment], remote: &'a [RemoteCopy]) -> TierView<'a> {
        TierView {
            local,
            remote,
            last_stable_offset: i64::MAX,
            log_start: 0,
            uploading: None,
            now_ms: NOW,
            retention: TierRetention::default(),
        }
    }

    #[test]
    fn sealed_committed_segments_are_copied_oldest_first_one_at_a_time() {
        let local = local(0, 4);
        assert_eq!(plan(&view(&local, &[])).copy, Some(local[0]));
        let remote = [copy(0, 1, CopyState::Copied), copy(1, 2, CopyState::Copied)];
        assert_eq!(plan(&view(&local, &remote)).copy, Some(local[2]));
        // Not the active segment, nor data above the high watermark.
        let all = [0, 1, 2].map(|i| copy(i, i as u64, CopyState::Copied));
        assert_eq!(plan(&view(&local, &all)).copy, None);
        let mut uncommitted = view(&local, &remote);
        uncommitted.last_stable_offset = 250;
        assert_eq!(plan(&uncommitted).copy, None);
        let mut busy = view(&local, &[]);
        busy.uploading = Some(9);
        assert_eq!(plan(&busy).copy, None);
    }

    #[test]
    fn the_lag_counts_the_sealed_segments_not_wholly_copied() {
        let local = local(0, 5);
        let remote = [
            copy(0, 1, CopyState::Copied),
            copy(1, 2, CopyState::Started),
        ];
        let lag = plan(&view(&local, &remote)).lag;
        assert_eq!(
            lag.segments, 3,
            "segments 1 to 3: the active one is not counted"
        );
        assert_eq!(lag.bytes, 3 * local[1].bytes);
    }

    #[test]
    fn a_segment_straddling_the_copied_end_is_copied_again() {
        let local = local(0, 3);
        let mut short = copy(0, 1, CopyState::Copied);
        short.next_offset = 150;
        assert_eq!(plan(&view(&local, &[short])).copy, Some(local[1]));
    }

    #[test]
    fn local_segments_go_only_once_copied_and_past_local_retention() {
        let local = local(0, 5);
        let remote = [0, 1, 2].map(|i| copy(i, i as u64, CopyState::Copied));
        let mut v = view(&local, &remote);
        assert_eq!(plan(&v).delete_local_below, None, "no local retention set");
        v.retention.local_retention_ms = Some(NOW - 1_500);
        assert_eq!(
            plan(&v).delete_local_below,
            Some(200),
            "segments 0 and 1 expired"
        );
        v.retention.local_retention_ms = Some(0);
        assert_eq!(
            plan(&v).delete_local_below,
            Some(300),
            "never past the copied end"
        );
        v.retention.local_retention_ms = None;
        v.retention.local_retention_bytes = Some(3_500);
        assert_eq!(
            plan(&v).delete_local_below,
            Some(100),
            "what stays is at least the limit"
        );
        let started = [copy(0, 1, CopyState::Started)];
        let mut v = view(&local, &started);
        v.uploading = Some(1);
        v.retention.local_retention_ms = Some(0);
        assert_eq!(
            plan(&v).delete_local_below,
            None,
            "a copy under way is not whole"
        );
    }

    #[test]
    fn abandoned_uploads_and_copies_being_deleted_are_deleted() {
        let local = local(3, 2);
        let remote = [
            copy(0, 1, CopyState::Deleting),
            copy(1, 2, CopyState::Copied),
            copy(2, 3, CopyState::Started),
            copy(3, 4, CopyState::Started),
        ];
        let mut v = view(&local, &remote);
        v.uploading = Some(4);
        assert_eq!(plan(&v).delete_remote, [(0, 1), (200, 3)]);
    }

    #[test]
    fn whole_log_retention_deletes_the_oldest_copies() {
        let local = local(3, 2);
        let remote = [0, 1, 2, 3].map(|i| copy(i, i as u64, CopyState::Copied));
        let mut v = view(&local, &remote);
        assert!(plan(&v).delete_remote.is_empty());
        v.retention.retention_ms = Some(NOW - 1_500);
        assert_eq!(plan(&v).delete_remote, [(0, 0), (100, 1)]);
        v.retention.retention_ms = None;
        // 2,000 local bytes and 3,000 held only remotely: keep at least 3,500.
        v.retention.retention_bytes = Some(3_500);
        assert_eq!(plan(&v).delete_remote, [(0, 0)]);
        v.retention.retention_bytes = Some(1);
        assert_eq!(
            plan(&v).delete_remote,
            [(0, 0), (100, 1), (200, 2)],
            "never a copy of local data by size"
        );
    }

    #[test]
    fn copies_wholly_below_the_log_start_deleterecords_set_are_deleted() {
        let local = local(3, 2);
        let remote = [0, 1, 2, 3].map(|i| copy(i, i as u64, CopyState::Copied));
        let mut v = view(&local, &remote);
        v.log_start = 150;
        assert_eq!(plan(&v).delete_remote, [(0, 0)], "not the copy holding 150");
        v.log_start = 200;
        assert_eq!(plan(&v).delete_remote, [(0, 0), (100, 1)]);
    }
}
