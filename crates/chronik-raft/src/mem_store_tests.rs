use raft::eraftpb::{ConfState, Entry, Snapshot};
use raft::{GetEntriesContext, Storage};

use super::MemLogStore;
use crate::LogStore;

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        data: vec![index as u8].into(),
        ..Default::default()
    }
}

fn snapshot(index: u64, term: u64, voters: &[u64]) -> Snapshot {
    let mut snap = Snapshot::default();
    snap.mut_metadata().index = index;
    snap.mut_metadata().term = term;
    snap.mut_metadata().set_conf_state(ConfState {
        voters: voters.to_vec(),
        ..Default::default()
    });
    snap
}

fn terms(store: &MemLogStore, low: u64, high: u64) -> Vec<u64> {
    let got = store.entries(low, high, None, GetEntriesContext::empty(false));
    got.map(|es| es.iter().map(|e| e.term).collect())
        .unwrap_or_default()
}

#[test]
fn append_truncates_conflicting_suffix() {
    let mut store = MemLogStore::new();
    store
        .append(&[entry(1, 1), entry(2, 1), entry(3, 1)])
        .unwrap();
    store.append(&[entry(2, 2)]).unwrap();
    assert_eq!(store.last_index().unwrap(), 2);
    assert_eq!(terms(&store, 1, 3), vec![1, 2]);
    assert!(
        store.append(&[entry(5, 2)]).is_err(),
        "gaps must be refused"
    );
}

#[test]
fn compact_keeps_term_of_compaction_point_and_needs_a_snapshot() {
    let mut store = MemLogStore::new();
    store
        .append(&(1..=10).map(|i| entry(i, 1 + i / 5)).collect::<Vec<_>>())
        .unwrap();
    assert!(store.compact(4).is_err(), "no snapshot covers index 4 yet");
    store.store_snapshot(snapshot(6, 2, &[1])).unwrap();
    store.compact(4).unwrap();
    assert_eq!(store.first_index().unwrap(), 5);
    assert_eq!(store.term(4).unwrap(), 1);
    assert!(store.term(3).is_err());
    assert!(
        store
            .entries(4, 6, None, GetEntriesContext::empty(false))
            .is_err()
    );
    assert_eq!(terms(&store, 5, 7), vec![2, 2]);
}

#[test]
fn apply_snapshot_replaces_log_and_membership() {
    let mut store = MemLogStore::new();
    store.append(&[entry(1, 1), entry(2, 1)]).unwrap();
    store.apply_snapshot(snapshot(20, 3, &[1, 2, 4])).unwrap();
    assert_eq!(store.first_index().unwrap(), 21);
    assert_eq!(store.last_index().unwrap(), 20);
    assert_eq!(store.term(20).unwrap(), 3);
    let state = store.initial_state().unwrap();
    assert_eq!(state.hard_state.commit, 20);
    assert_eq!(state.conf_state.voters, vec![1, 2, 4]);
    assert_eq!(store.snapshot(0, 4).unwrap().get_metadata().index, 20);
    assert!(!store.is_synced());
    store.sync().unwrap();
    assert!(store.is_synced());
}

#[test]
fn snapshot_is_unavailable_until_one_exists() {
    let store = MemLogStore::new();
    assert!(store.snapshot(0, 2).is_err());
}
