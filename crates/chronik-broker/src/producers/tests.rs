use super::*;

fn out_of_order(c: SeqCheck) -> bool {
    matches!(c, SeqCheck::Reject(SequenceError::OutOfOrder { .. }))
}

fn stale_epoch(c: SeqCheck) -> bool {
    matches!(c, SeqCheck::Reject(SequenceError::StaleEpoch { .. }))
}

fn batch(id: i64, epoch: i16, first: i32, count: i32) -> ProducerFields {
    ProducerFields {
        producer_id: id,
        epoch,
        first_seq: first,
        last_seq: wrapping_seq(first, count - 1),
    }
}

fn write(s: &mut ProducerStates, p: ProducerFields, base: i64) -> WrittenBatch {
    assert_eq!(s.check(&p), SeqCheck::Append, "{p:?}");
    let last = base + i64::from(p.last_seq - p.first_seq);
    s.record(&p, (base, last), -1);
    WrittenBatch {
        first_seq: p.first_seq,
        last_seq: p.last_seq,
        base_offset: base,
        last_offset: last,
    }
}

#[test]
fn in_order_batches_are_appended_and_retries_get_their_offsets() {
    let mut s = ProducerStates::default();
    let first = write(&mut s, batch(7, 0, 0, 3), 10);
    let second = write(&mut s, batch(7, 0, 3, 2), 13);
    assert_eq!(s.check(&batch(7, 0, 0, 3)), SeqCheck::Duplicate(first));
    assert_eq!(s.check(&batch(7, 0, 3, 2)), SeqCheck::Duplicate(second));
    assert_eq!(s.check(&batch(7, 0, 5, 1)), SeqCheck::Append);
}

#[test]
fn gaps_are_out_of_order_but_unknown_producers_start_anywhere() {
    let mut s = ProducerStates::default();
    // Kafka's rule: the partition may have lost the producer's state (eviction, retention).
    assert_eq!(
        s.check(&batch(1, 0, 4, 1)),
        SeqCheck::Append,
        "new producer"
    );
    write(&mut s, batch(1, 0, 0, 2), 0);
    assert!(out_of_order(s.check(&batch(1, 0, 3, 1))));
    // A partial overlap with a written batch is not a duplicate either.
    assert!(out_of_order(s.check(&batch(1, 0, 1, 1))));
}

#[test]
fn epochs_fence_old_producers_and_restart_sequences() {
    let mut s = ProducerStates::default();
    write(&mut s, batch(3, 1, 0, 5), 0);
    assert!(stale_epoch(s.check(&batch(3, 0, 5, 1))));
    assert!(out_of_order(s.check(&batch(3, 2, 5, 1))));
    write(&mut s, batch(3, 2, 0, 1), 5);
    assert!(stale_epoch(s.check(&batch(3, 1, 5, 1))));
}

#[test]
fn only_the_last_five_batches_are_remembered() {
    let mut s = ProducerStates::default();
    for i in 0..6 {
        write(&mut s, batch(9, 0, i, 1), i64::from(i));
    }
    assert!(matches!(
        s.check(&batch(9, 0, 1, 1)),
        SeqCheck::Duplicate(_)
    ));
    assert!(out_of_order(s.check(&batch(9, 0, 0, 1))));
}

#[test]
fn sequences_wrap_after_i32_max() {
    let mut s = ProducerStates::default();
    let near_end = batch(2, 0, i32::MAX - 1, 2);
    s.record(&near_end, (1, 2), -1);
    assert_eq!(near_end.last_seq, i32::MAX);
    assert_eq!(s.check(&batch(2, 0, 0, 1)), SeqCheck::Append);
    let across = batch(3, 0, i32::MAX, 2);
    assert_eq!(across.last_seq, 0, "a batch may span the wrap");
}

#[test]
fn producers_beyond_the_bound_evict_the_least_recent() {
    let mut s = ProducerStates::default();
    let n = i64::try_from(MAX_PRODUCERS).expect("fits") + 1;
    for id in 0..n {
        s.record(&batch(id, 0, 0, 1), (id, id), -1);
    }
    assert_eq!(s.len(), MAX_PRODUCERS);
    // Producer 0 was forgotten: its retry is no longer recognised as a duplicate.
    assert_eq!(s.check(&batch(0, 0, 0, 1)), SeqCheck::Append);
    assert!(matches!(
        s.check(&batch(n - 1, 0, 0, 1)),
        SeqCheck::Duplicate(_)
    ));
}

#[test]
fn stored_batches_are_replayed() {
    let mut stored = Vec::new();
    for (base, first) in [(0i64, 0i32), (3, 3)] {
        let mut b = chronik_records::build_batch(&[b"a", b"b", b"c"], 0);
        chronik_records::set_producer(&mut b, 42, 1, first);
        chronik_records::set_base_offset(&mut b, base);
        stored.extend_from_slice(&b);
    }
    let mut plain = chronik_records::build_batch(&[b"no producer"], 0);
    chronik_records::set_base_offset(&mut plain, 6);
    stored.extend_from_slice(&plain);
    let mut s = ProducerStates::default();
    s.replay(&stored);
    assert_eq!(s.len(), 1);
    // A truncated tail and garbage are ignored.
    let mut partial = ProducerStates::default();
    partial.replay(&stored[..stored.len() / 2]);
    partial.replay(&[0xff; 20]);
    assert_eq!(partial.len(), 1);
    assert_eq!(
        s.check(&batch(42, 1, 3, 3)),
        SeqCheck::Duplicate(WrittenBatch {
            first_seq: 3,
            last_seq: 5,
            base_offset: 3,
            last_offset: 5
        })
    );
    assert_eq!(s.check(&batch(42, 1, 6, 1)), SeqCheck::Append);
}

#[test]
fn transactions_open_at_their_first_batch_and_markers_end_them() {
    let mut s = ProducerStates::default();
    write(&mut s, batch(7, 0, 0, 2), 10);
    s.txn_written(7, 10);
    write(&mut s, batch(8, 0, 0, 1), 12);
    s.txn_written(8, 12);
    assert_eq!(s.first_unstable_offset(), Some(10));
    s.end_txn(7, 0, marker(false), 13);
    assert_eq!(s.first_unstable_offset(), Some(12));
    s.end_txn(8, 0, marker(true), 14);
    assert_eq!(s.first_unstable_offset(), None);
    // A marker from an older epoch than the producer's is refused.
    assert!(s.check_marker(7, 0, -1).is_ok());
    s.end_txn(7, 3, marker(false), 15);
    assert!(s.check_marker(7, 2, -1).is_err());
}

#[test]
fn a_verification_made_before_a_marker_does_not_open_the_next_transaction() {
    let mut s = ProducerStates::default();
    let guard = s.txn_guard(7).expect("no transaction open: verify");
    assert!(s.check_txn_batch(7, Some(guard)));
    assert!(!s.check_txn_batch(7, None), "unverified");
    write(&mut s, batch(7, 0, 0, 1), 0);
    s.txn_written(7, 0);
    assert_eq!(
        s.txn_guard(7),
        None,
        "an open transaction needs no verification"
    );
    assert!(s.check_txn_batch(7, None));
    let stale = guard;
    s.end_txn(7, 0, marker(true), 1);
    assert!(!s.check_txn_batch(7, Some(stale)), "a marker came since");
    let fresh = s.txn_guard(7).expect("verify again");
    assert!(s.check_txn_batch(7, Some(fresh)));
}

fn marker(commit: bool) -> chronik_records::TxnMarker {
    chronik_records::TxnMarker {
        commit,
        coordinator_epoch: 1,
    }
}

#[test]
fn a_marker_from_an_older_coordinator_is_refused() {
    let mut s = ProducerStates::default();
    let newer = chronik_records::TxnMarker {
        commit: true,
        coordinator_epoch: 5,
    };
    s.end_txn(7, 0, newer, 3);
    assert!(s.check_marker(7, 0, 5).is_ok());
    assert!(matches!(
        s.check_marker(7, 0, 4),
        Err(SequenceError::StaleCoordinator {
            epoch: 4,
            current: 5
        })
    ));
    let summary = s.summaries()[0];
    assert_eq!(
        (
            summary.producer_id,
            summary.coordinator_epoch,
            summary.txn_start_offset
        ),
        (7, 5, -1)
    );
}
