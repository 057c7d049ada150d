//! One transactional id's state and Kafka's rules for moving it (the coordinator's
//! `TransactionMetadata`): pure functions from the current state and a request to the state to
//! write, or the reason to refuse. Time is a parameter.

use std::collections::BTreeSet;

use chronik_types::TopicPartition;

/// Milliseconds since the Unix epoch.
pub(crate) type WallMs = i64;

/// A transaction's status, with Kafka's codes in `__transaction_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

impl TxnState {
    pub fn code(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
        }
    }

    pub fn from_code(code: i8) -> Option<TxnState> {
        Some(match code {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            _ => return None,
        })
    }

    /// Kafka's name of the state, as DescribeTransactions and ListTransactions report it.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }

    /// Every state's name (a ListTransactions filter naming another is reported unknown).
    pub const NAMES: [&'static str; 6] = [
        "Empty",
        "Ongoing",
        "PrepareCommit",
        "PrepareAbort",
        "CompleteCommit",
        "CompleteAbort",
    ];

    /// Whether markers are being written: nothing else may happen to the transaction.
    pub fn is_preparing(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }
}

/// A transactional id's producer and its current transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnMetadata {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The client's `transaction.timeout.ms`.
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions the transaction wrote to (or will): where its markers go.
    pub partitions: BTreeSet<TopicPartition>,
    /// When the transaction began (its first AddPartitionsToTxn), for the timeout.
    pub start_ms: WallMs,
    pub last_update_ms: WallMs,
    /// Whether the producer's own EndTxn bumped the epoch to this one (not a fencing abort by
    /// InitProducerId or the timeout): only then may an abort's retry name the epoch before.
    /// Kept in memory only: after the coordinator moves, such a retry is refused as fenced.
    pub bumped_by_end: bool,
    /// The producer id the producer moves to when this transaction completes: one that bumps
    /// the epoch at every end is given a fresh id once its epochs are used up.
    pub next_producer_id: Option<i64>,
    /// The producer id used before the current one was handed out at an EndTxn, so a retry of
    /// that EndTxn is recognised.
    pub previous_producer_id: Option<i64>,
}

/// Why a transactional request is refused; nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TxnError {
    #[error("the transaction is completing; retry")]
    Concurrent,
    #[error("the request does not fit the transaction's state ({0:?})")]
    InvalidState(TxnState),
    #[error("a newer producer with this transactional id took over (epoch {current})")]
    Fenced { current: i16 },
    #[error("the producer id does not belong to this transactional id")]
    WrongProducerId,
    #[error("transaction timeout {requested} ms is outside 1..={max} ms")]
    InvalidTimeout { requested: i32, max: i32 },
}

/// What InitProducerId does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InitStep {
    /// Write this state; the producer gets its id and epoch.
    Ready(TxnMetadata),
    /// Write this PrepareAbort (epoch bumped, fencing the old producer) and finish the abort;
    /// the new producer retries meanwhile.
    AbortFirst(TxnMetadata),
    /// A fresh producer id is needed (a new transactional id, or its epochs are used up).
    NeedProducerId,
}

/// The last epoch handed out before a fresh producer id is needed (Kafka keeps one spare).
const LAST_EPOCH: i16 = i16::MAX - 1;

/// Checks a client's `transaction.timeout.ms` against the broker's maximum.
pub(crate) fn check_timeout(requested: i32, max: i32) -> Result<(), TxnError> {
    if requested <= 0 || requested > max {
        return Err(TxnError::InvalidTimeout { requested, max });
    }
    Ok(())
}

/// InitProducerId for a transactional id whose state is `current`; `fresh` is a newly
/// allocated producer id, if the caller has one; `expected` is the producer id and epoch a
/// recovering producer names (KIP-360), if any.
pub(crate) fn init_producer_id(
    current: Option<&TxnMetadata>,
    timeout_ms: i32,
    expected: Option<(i64, i16)>,
    fresh: Option<i64>,
    now: WallMs,
) -> Result<InitStep, TxnError> {
    let Some(m) = current else {
        return Ok(fresh.map_or(InitStep::NeedProducerId, |id| {
            InitStep::Ready(TxnMetadata::new(id, timeout_ms, now))
        }));
    };
    match m.state {
        TxnState::PrepareCommit | TxnState::PrepareAbort => Err(TxnError::Concurrent),
        TxnState::Ongoing => {
            check_expected(m, expected)?;
            let mut next = m.clone();
            next.producer_epoch = bumped(m.producer_epoch);
            next.state = TxnState::PrepareAbort;
            next.last_update_ms = now;
            next.bumped_by_end = false;
            Ok(InitStep::AbortFirst(next))
        }
        TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
            check_expected(m, expected)?;
            if m.producer_epoch >= LAST_EPOCH {
                return Ok(fresh.map_or(InitStep::NeedProducerId, |id| {
                    InitStep::Ready(TxnMetadata::new(id, timeout_ms, now))
                }));
            }
            let mut next = TxnMetadata::new(m.producer_id, timeout_ms, now);
            next.producer_epoch = m.producer_epoch + 1;
            Ok(InitStep::Ready(next))
        }
    }
}

/// A recovering producer (KIP-360) must name the id's current producer id and epoch.
fn check_expected(m: &TxnMetadata, expected: Option<(i64, i16)>) -> Result<(), TxnError> {
    match expected {
        Some((id, epoch)) if id != m.producer_id || epoch != m.producer_epoch => {
            Err(TxnError::Fenced {
                current: m.producer_epoch,
            })
        }
        _ => Ok(()),
    }
}

/// The producer's id and epoch must be the transactional id's current ones.
fn check_producer(m: &TxnMetadata, producer_id: i64, epoch: i16) -> Result<(), TxnError> {
    if producer_id != m.producer_id {
        return Err(TxnError::WrongProducerId);
    }
    if epoch != m.producer_epoch {
        return Err(TxnError::Fenced {
            current: m.producer_epoch,
        });
    }
    Ok(())
}

/// AddPartitionsToTxn (and AddOffsetsToTxn's offsets partition): the state to write, or
/// `None` when the transaction already has every partition.
pub(crate) fn add_partitions(
    m: &TxnMetadata,
    (producer_id, epoch): (i64, i16),
    partitions: &[TopicPartition],
    now: WallMs,
) -> Result<Option<TxnMetadata>, TxnError> {
    check_producer(m, producer_id, epoch)?;
    if m.state.is_preparing() {
        return Err(TxnError::Concurrent);
    }
    if m.state == TxnState::Ongoing && partitions.iter().all(|p| m.partitions.contains(p)) {
        return Ok(None);
    }
    let mut next = m.clone();
    if m.state != TxnState::Ongoing {
        next.partitions.clear();
        next.start_ms = now;
    }
    next.partitions.extend(partitions.iter().cloned());
    next.state = TxnState::Ongoing;
    next.last_update_ms = now;
    Ok(Some(next))
}

/// What EndTxn does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EndStep {
    /// Write this Prepare state, then the markers.
    Prepare(TxnMetadata),
    /// A retry of an EndTxn that already completed: nothing to do.
    Done,
    /// The producer's epochs are used up: ask again with a fresh producer id to move it to.
    NeedProducerId,
}

/// How a producer's transactions end (Kafka's client transaction version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndProtocol {
    /// The producer keeps its epoch across transactions (EndTxn before v5).
    KeepEpoch,
    /// Every transaction ends with the producer's epoch bumped (KIP-890 part 2, EndTxn v5):
    /// its markers carry the new epoch, so a write of the ended transaction that arrives late
    /// is fenced instead of landing in the next one.
    BumpEpoch,
}

pub(crate) fn end_txn(
    m: &TxnMetadata,
    (producer_id, epoch): (i64, i16),
    commit: bool,
    protocol: EndProtocol,
    fresh: Option<i64>,
    now: WallMs,
) -> Result<EndStep, TxnError> {
    let outcome_matches = matches!(
        (m.state, commit),
        (TxnState::CompleteCommit | TxnState::PrepareCommit, true)
            | (TxnState::CompleteAbort | TxnState::PrepareAbort, false)
    );
    // A retry of an ending that bumped the epoch names the epoch before the bump. A fencing
    // abort bumps it too, so an abort counts as a retry only when the producer's own EndTxn
    // bumped it: a fenced producer must not get the new epoch by asking to abort. Fencing
    // never commits, so a commit's retry is always one.
    let retried = protocol == EndProtocol::BumpEpoch
        && producer_id == m.producer_id
        && epoch.checked_add(1) == Some(m.producer_epoch)
        && outcome_matches
        && (commit || m.bumped_by_end);
    // The same, for the ending that moved the producer to a fresh id at its last epoch.
    let retried_before_new_id = protocol == EndProtocol::BumpEpoch
        && m.previous_producer_id == Some(producer_id)
        && epoch >= LAST_EPOCH
        && m.producer_epoch == 0
        && outcome_matches
        && (commit || m.bumped_by_end);
    if retried || retried_before_new_id {
        return match m.state.is_preparing() {
            true => Err(TxnError::Concurrent),
            false => Ok(EndStep::Done),
        };
    }
    check_producer(m, producer_id, epoch)?;
    match (m.state, commit) {
        (TxnState::Ongoing, _) => {
            let mut next = m.clone();
            next.state = match commit {
                true => TxnState::PrepareCommit,
                false => TxnState::PrepareAbort,
            };
            next.bumped_by_end = protocol == EndProtocol::BumpEpoch;
            if next.bumped_by_end {
                // The markers take the last epoch; the producer goes on with a fresh id.
                if m.producer_epoch >= LAST_EPOCH {
                    let Some(id) = fresh else {
                        return Ok(EndStep::NeedProducerId);
                    };
                    next.next_producer_id = Some(id);
                }
                next.producer_epoch = bumped(m.producer_epoch);
            }
            next.last_update_ms = now;
            Ok(EndStep::Prepare(next))
        }
        // With the epoch bumped at every end, the current epoch has not ended anything yet.
        (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false)
            if protocol == EndProtocol::KeepEpoch =>
        {
            Ok(EndStep::Done)
        }
        (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
            Err(TxnError::Concurrent)
        }
        (state, _) => Err(TxnError::InvalidState(state)),
    }
}

/// The state after every marker of a Prepare state is written.
pub(crate) fn complete(m: &TxnMetadata, now: WallMs) -> TxnMetadata {
    let mut next = m.clone();
    next.state = match m.state {
        TxnState::PrepareCommit => TxnState::CompleteCommit,
        TxnState::PrepareAbort => TxnState::CompleteAbort,
        other => other,
    };
    if let Some(id) = next.next_producer_id.take() {
        next.previous_producer_id = Some(m.producer_id);
        next.producer_id = id;
        next.producer_epoch = 0;
    }
    next.partitions.clear();
    next.last_update_ms = now;
    next
}

/// The abort of a transaction open longer than its timeout, with the epoch bumped so its
/// producer is fenced (Kafka's coordinator does the same); `None` while it has time left.
pub(crate) fn expire(m: &TxnMetadata, now: WallMs) -> Option<TxnMetadata> {
    let deadline = m.start_ms.saturating_add(i64::from(m.timeout_ms));
    (m.state == TxnState::Ongoing && now > deadline).then(|| {
        let mut next = m.clone();
        next.producer_epoch = bumped(m.producer_epoch);
        next.state = TxnState::PrepareAbort;
        next.last_update_ms = now;
        next.bumped_by_end = false;
        next
    })
}

/// The next epoch. The spare one above [`LAST_EPOCH`] goes to the markers of a producer's
/// last transaction (fenced or ended) before it is given a fresh producer id.
fn bumped(epoch: i16) -> i16 {
    epoch.saturating_add(1)
}

impl TxnMetadata {
    pub fn new(producer_id: i64, timeout_ms: i32, now: WallMs) -> TxnMetadata {
        TxnMetadata {
            producer_id,
            producer_epoch: 0,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now,
            bumped_by_end: false,
            next_producer_id: None,
            previous_producer_id: None,
        }
    }

    /// The producer id and epoch the producer goes on with once this state is written.
    pub fn continues_as(&self) -> (i64, i16) {
        match self.next_producer_id {
            Some(id) => (id, 0),
            None => (self.producer_id, self.producer_epoch),
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
