use super::*;

const KEEP: EndProtocol = EndProtocol::KeepEpoch;
const BUMP: EndProtocol = EndProtocol::BumpEpoch;

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

fn ready(step: InitStep) -> TxnMetadata {
    match step {
        InitStep::Ready(m) => m,
        other => panic!("expected Ready, got {other:?}"),
    }
}

fn ongoing() -> TxnMetadata {
    let m = ready(init_producer_id(None, 60_000, None, Some(7), 0).unwrap());
    add_partitions(&m, (7, 0), &[tp(0), tp(1)], 10)
        .unwrap()
        .unwrap()
}

#[test]
fn a_new_transactional_id_needs_a_producer_id_then_starts_at_epoch_zero() {
    assert_eq!(
        init_producer_id(None, 60_000, None, None, 0),
        Ok(InitStep::NeedProducerId)
    );
    let m = ready(init_producer_id(None, 60_000, None, Some(7), 5).unwrap());
    assert_eq!(
        (m.producer_id, m.producer_epoch, m.state),
        (7, 0, TxnState::Empty)
    );
}

#[test]
fn a_restarted_producer_bumps_the_epoch_and_fences_the_old_one() {
    let m = ready(init_producer_id(None, 60_000, None, Some(7), 0).unwrap());
    let next = ready(init_producer_id(Some(&m), 60_000, None, None, 1).unwrap());
    assert_eq!((next.producer_id, next.producer_epoch), (7, 1));
    assert_eq!(
        add_partitions(&next, (7, 0), &[tp(0)], 2),
        Err(TxnError::Fenced { current: 1 })
    );
    assert_eq!(
        end_txn(&next, (7, 0), true, KEEP, None, 2),
        Err(TxnError::Fenced { current: 1 })
    );
}

#[test]
fn an_open_transaction_is_aborted_before_a_new_producer_takes_over() {
    let m = ongoing();
    let InitStep::AbortFirst(abort) = init_producer_id(Some(&m), 60_000, None, None, 20).unwrap()
    else {
        panic!("expected AbortFirst");
    };
    assert_eq!(
        (abort.state, abort.producer_epoch),
        (TxnState::PrepareAbort, 1)
    );
    assert_eq!(
        abort.partitions, m.partitions,
        "markers go to every partition"
    );
    assert_eq!(
        init_producer_id(Some(&abort), 60_000, None, None, 21),
        Err(TxnError::Concurrent)
    );
    let done = complete(&abort, 22);
    assert_eq!(done.state, TxnState::CompleteAbort);
    let next = ready(init_producer_id(Some(&done), 60_000, None, None, 23).unwrap());
    assert_eq!(next.producer_epoch, 2);
}

#[test]
fn exhausted_epochs_take_a_fresh_producer_id() {
    let mut m = TxnMetadata::new(7, 1000, 0);
    m.producer_epoch = LAST_EPOCH;
    assert_eq!(
        init_producer_id(Some(&m), 1000, None, None, 1),
        Ok(InitStep::NeedProducerId)
    );
    let next = ready(init_producer_id(Some(&m), 1000, None, Some(8), 1).unwrap());
    assert_eq!((next.producer_id, next.producer_epoch), (8, 0));
}

#[test]
fn a_recovering_producer_must_name_the_current_id_and_epoch() {
    let m = ready(init_producer_id(None, 60_000, None, Some(7), 0).unwrap());
    assert_eq!(
        init_producer_id(Some(&m), 60_000, Some((7, 3)), None, 1),
        Err(TxnError::Fenced { current: 0 })
    );
    let next = ready(init_producer_id(Some(&m), 60_000, Some((7, 0)), None, 1).unwrap());
    assert_eq!(next.producer_epoch, 1);
}

#[test]
fn partitions_accumulate_and_a_repeat_writes_nothing() {
    let m = ongoing();
    assert_eq!(m.start_ms, 10);
    assert_eq!(add_partitions(&m, (7, 0), &[tp(1)], 11), Ok(None));
    let more = add_partitions(&m, (7, 0), &[tp(2)], 12).unwrap().unwrap();
    assert_eq!(more.partitions.len(), 3);
    assert_eq!(more.start_ms, 10, "the transaction's start stays");
    assert_eq!(
        add_partitions(&m, (8, 0), &[tp(1)], 11),
        Err(TxnError::WrongProducerId)
    );
}

#[test]
fn end_txn_prepares_then_completes_and_retries_are_answered() {
    let m = ongoing();
    let EndStep::Prepare(prepared) = end_txn(&m, (7, 0), true, KEEP, None, 30).unwrap() else {
        panic!("expected Prepare");
    };
    assert_eq!(prepared.state, TxnState::PrepareCommit);
    assert_eq!(
        end_txn(&prepared, (7, 0), true, KEEP, None, 31),
        Err(TxnError::Concurrent)
    );
    assert_eq!(
        add_partitions(&prepared, (7, 0), &[tp(3)], 31),
        Err(TxnError::Concurrent)
    );
    let done = complete(&prepared, 32);
    assert_eq!(
        (done.state, done.partitions.len()),
        (TxnState::CompleteCommit, 0)
    );
    assert_eq!(
        end_txn(&done, (7, 0), true, KEEP, None, 33),
        Ok(EndStep::Done)
    );
    assert_eq!(
        end_txn(&done, (7, 0), false, KEEP, None, 33),
        Err(TxnError::InvalidState(TxnState::CompleteCommit))
    );
    let next = add_partitions(&done, (7, 0), &[tp(5)], 40)
        .unwrap()
        .unwrap();
    assert_eq!((next.start_ms, next.partitions.len()), (40, 1));
}

#[test]
fn with_epoch_bumps_every_ending_moves_the_epoch_and_a_retry_names_the_old_one() {
    let m = ongoing();
    let EndStep::Prepare(prepared) = end_txn(&m, (7, 0), true, BUMP, None, 30).unwrap() else {
        panic!("expected Prepare");
    };
    assert_eq!(
        (prepared.state, prepared.producer_epoch),
        (TxnState::PrepareCommit, 1)
    );
    // The client's retry while the markers go out waits; once complete it is answered.
    assert_eq!(
        end_txn(&prepared, (7, 0), true, BUMP, None, 31),
        Err(TxnError::Concurrent)
    );
    let done = complete(&prepared, 32);
    assert_eq!(
        end_txn(&done, (7, 0), true, BUMP, None, 33),
        Ok(EndStep::Done)
    );
    // The other outcome, an older epoch, or the new epoch ending nothing: refused.
    assert_eq!(
        end_txn(&done, (7, 0), false, BUMP, None, 33),
        Err(TxnError::Fenced { current: 1 })
    );
    assert_eq!(
        end_txn(&done, (7, 1), true, BUMP, None, 33),
        Err(TxnError::InvalidState(TxnState::CompleteCommit))
    );
    // The producer's next transaction runs at the new epoch; the old one is fenced.
    assert_eq!(
        add_partitions(&done, (7, 0), &[tp(1)], 34),
        Err(TxnError::Fenced { current: 1 })
    );
    let next = add_partitions(&done, (7, 1), &[tp(1)], 34)
        .unwrap()
        .unwrap();
    let EndStep::Prepare(aborting) = end_txn(&next, (7, 1), false, BUMP, None, 35).unwrap() else {
        panic!("expected Prepare");
    };
    assert_eq!(
        (aborting.state, aborting.producer_epoch),
        (TxnState::PrepareAbort, 2)
    );
}

#[test]
fn a_fenced_producer_asking_to_abort_does_not_get_the_new_epoch() {
    // InitProducerId of a newer producer aborts the open transaction with the epoch bumped.
    let m = ongoing();
    let Ok(InitStep::AbortFirst(fencing)) = init_producer_id(Some(&m), 60_000, None, None, 20)
    else {
        panic!("expected AbortFirst");
    };
    let fenced = complete(&fencing, 21);
    assert_eq!(
        end_txn(&fenced, (7, 0), false, BUMP, None, 22),
        Err(TxnError::Fenced { current: 1 })
    );
    // The same for a transaction aborted at its timeout.
    let expired = complete(&expire(&m, i64::MAX).expect("expired"), 23);
    assert_eq!(
        end_txn(&expired, (7, 0), false, BUMP, None, 24),
        Err(TxnError::Fenced { current: 1 })
    );
    // The producer's own abort, retried, is answered.
    let EndStep::Prepare(own) = end_txn(&m, (7, 0), false, BUMP, None, 25).unwrap() else {
        panic!("expected Prepare");
    };
    assert_eq!(
        end_txn(&complete(&own, 26), (7, 0), false, BUMP, None, 27),
        Ok(EndStep::Done)
    );
}

#[test]
fn a_producer_whose_epochs_are_used_up_ends_its_last_transaction_on_a_fresh_id() {
    let mut m = ongoing();
    m.producer_epoch = LAST_EPOCH;
    let producer = (7, LAST_EPOCH);
    assert_eq!(
        end_txn(&m, producer, true, BUMP, None, 30),
        Ok(EndStep::NeedProducerId)
    );
    let EndStep::Prepare(prepared) = end_txn(&m, producer, true, BUMP, Some(9), 30).unwrap() else {
        panic!("expected Prepare");
    };
    // The markers carry the spare epoch of the old id; the producer goes on with the new one.
    assert_eq!(
        (prepared.producer_id, prepared.producer_epoch),
        (7, i16::MAX)
    );
    assert_eq!(prepared.continues_as(), (9, 0));
    assert_eq!(
        end_txn(&prepared, producer, true, BUMP, None, 31),
        Err(TxnError::Concurrent)
    );
    let done = complete(&prepared, 32);
    assert_eq!((done.producer_id, done.producer_epoch), (9, 0));
    assert_eq!(done.continues_as(), (9, 0));
    // A retry naming the old id and its last epoch is the same ending.
    assert_eq!(
        end_txn(&done, producer, true, BUMP, None, 33),
        Ok(EndStep::Done)
    );
    assert_eq!(
        end_txn(&done, producer, false, BUMP, None, 33),
        Err(TxnError::WrongProducerId)
    );
    let next = add_partitions(&done, (9, 0), &[tp(0)], 34)
        .unwrap()
        .unwrap();
    let EndStep::Prepare(aborting) = end_txn(&next, (9, 0), false, BUMP, None, 35).unwrap() else {
        panic!("expected Prepare");
    };
    assert_eq!(aborting.continues_as(), (9, 1));
}

#[test]
fn a_producer_at_its_last_epoch_is_fenced_with_the_spare_one() {
    let mut m = ongoing();
    m.producer_epoch = LAST_EPOCH;
    let InitStep::AbortFirst(fencing) = init_producer_id(Some(&m), 1000, None, None, 1).unwrap()
    else {
        panic!("expected AbortFirst");
    };
    assert_eq!(fencing.producer_epoch, i16::MAX);
    assert_eq!(
        end_txn(&fencing, (7, LAST_EPOCH), true, KEEP, None, 2),
        Err(TxnError::Fenced { current: i16::MAX })
    );
    let done = complete(&fencing, 3);
    assert_eq!(
        init_producer_id(Some(&done), 1000, None, None, 4),
        Ok(InitStep::NeedProducerId)
    );
}

#[test]
fn ending_a_transaction_that_never_began_is_refused() {
    let m = ready(init_producer_id(None, 60_000, None, Some(7), 0).unwrap());
    assert_eq!(
        end_txn(&m, (7, 0), false, KEEP, None, 1),
        Err(TxnError::InvalidState(TxnState::Empty))
    );
}

#[test]
fn a_transaction_past_its_timeout_is_aborted_with_a_bumped_epoch() {
    let m = ongoing();
    assert_eq!(expire(&m, 10 + 60_000), None);
    let aborted = expire(&m, 10 + 60_001).expect("expired");
    assert_eq!(
        (aborted.state, aborted.producer_epoch),
        (TxnState::PrepareAbort, 1)
    );
    assert_eq!(expire(&complete(&aborted, 1), i64::MAX), None);
}

#[test]
fn timeouts_outside_the_broker_maximum_are_refused() {
    assert!(check_timeout(60_000, 900_000).is_ok());
    assert!(check_timeout(0, 900_000).is_err());
    assert!(check_timeout(900_001, 900_000).is_err());
}

#[test]
fn a_recovering_producer_naming_another_epoch_cannot_abort_the_open_transaction() {
    let m = ongoing();
    assert_eq!(
        init_producer_id(Some(&m), 60_000, Some((7, 4)), None, 20),
        Err(TxnError::Fenced { current: 0 })
    );
    assert!(matches!(
        init_producer_id(Some(&m), 60_000, Some((7, 0)), None, 20),
        Ok(InitStep::AbortFirst(_))
    ));
}
