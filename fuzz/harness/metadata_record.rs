//! Body of the `metadata_record` fuzz target, shared with the stable replay test
//! `crates/chronik-metadata/tests/fuzz_inputs.rs` (both include this file with `#[path]`).
//!
//! The whole input is decoded as one Raft entry (`MetadataRecord::from_bytes`, applied to a
//! fresh state) and as snapshot bytes (`MetadataState::from_snapshot_bytes`). It is also read
//! as chunks, each a big-endian `u16` length and that many bytes: the first chunk is a snapshot
//! to start from (a fresh state if it does not restore), every later chunk a record applied in
//! order, so that records meet states they can actually change.

use chronik_metadata::{MetadataRecord, MetadataState};

/// What one input did, so the replay test can tell that both outcomes were reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub snapshot_restored: bool,
    pub records_applied: usize,
    pub records_rejected: usize,
}

pub fn run(data: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    if let Ok(record) = MetadataRecord::from_bytes(data) {
        apply_checked(&mut MetadataState::new(), &record, &mut outcome);
    }
    if let Ok(state) = MetadataState::from_snapshot_bytes(data) {
        snapshot_round_trips(&state);
    }

    let mut chunks = chunks(data);
    let mut state = match chunks.next().map(MetadataState::from_snapshot_bytes) {
        Some(Ok(restored)) => {
            outcome.snapshot_restored = true;
            snapshot_round_trips(&restored);
            restored
        }
        _ => MetadataState::new(),
    };
    for chunk in chunks {
        match MetadataRecord::from_bytes(chunk) {
            Ok(record) => apply_checked(&mut state, &record, &mut outcome),
            Err(_) => outcome.records_rejected += 1,
        }
    }
    outcome
}

/// Splits `data` into length-prefixed chunks; a short last chunk is cut at the end of input.
pub fn chunks(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = data.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
        let (chunk, after) = rest.split_at(len);
        data = after;
        Some(chunk)
    })
}

/// Applies like every replica does: a rejected record changes nothing, and whatever is
/// accepted still passes the checks a snapshot restore makes.
fn apply_checked(state: &mut MetadataState, record: &MetadataRecord, outcome: &mut Outcome) {
    let before = state.clone();
    match state.apply(record) {
        Ok(()) => {
            outcome.records_applied += 1;
            snapshot_round_trips(state);
        }
        Err(e) => {
            outcome.records_rejected += 1;
            assert_eq!(
                *state, before,
                "rejected ({e}) but changed the state: {record:?}"
            );
        }
    }
}

/// A state's snapshot restores to the same state, and encodes to the same bytes again.
fn snapshot_round_trips(state: &MetadataState) {
    let bytes = state.to_snapshot_bytes();
    let restored = MetadataState::from_snapshot_bytes(&bytes)
        .unwrap_or_else(|e| panic!("the snapshot of a valid state does not restore: {e}"));
    assert_eq!(&restored, state);
    assert_eq!(restored.to_snapshot_bytes(), bytes);
}
