use chronik_types::FsyncPolicy;
use chronik_wal::WalOptions;
use raft::Storage;
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::*;

fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
    let mut e = Entry::default();
    e.set_index(index);
    e.set_term(term);
    e.data = data.to_vec().into();
    e
}

fn snapshot_at(index: u64, term: u64, voters: &[u64]) -> Snapshot {
    let mut s = Snapshot::default();
    s.set_data(format!("state@{index}").into_bytes().into());
    s.mut_metadata().index = index;
    s.mut_metadata().term = term;
    s.mut_metadata().mut_conf_state().voters = voters.to_vec();
    s
}

fn open(dir: &std::path::Path) -> (DataDir, WalLogStore) {
    let data = DataDir::open(dir, WalOptions::new(FsyncPolicy::Never)).unwrap();
    let store = WalLogStore::open(&data).unwrap();
    (data, store)
}

/// Both stores answer raft-rs's reads identically.
fn assert_same(a: &impl Storage, b: &MemLogStore, what: &str) {
    let (sa, sb) = (a.initial_state().unwrap(), b.initial_state().unwrap());
    assert_eq!(sa.hard_state, sb.hard_state, "{what}: hard state");
    assert_eq!(sa.conf_state, sb.conf_state, "{what}: conf state");
    let (first, last) = (b.first_index().unwrap(), b.last_index().unwrap());
    assert_eq!(
        (a.first_index().unwrap(), a.last_index().unwrap()),
        (first, last),
        "{what}: bounds"
    );
    assert_eq!(
        a.term(first - 1).unwrap(),
        b.term(first - 1).unwrap(),
        "{what}: compaction term"
    );
    let ctx = || GetEntriesContext::empty(false);
    assert_eq!(
        a.entries(first, last + 1, None, ctx()).unwrap(),
        b.entries(first, last + 1, None, ctx()).unwrap(),
        "{what}: entries"
    );
}

/// Applies the same random operation to both stores.
fn random_op(rng: &mut StdRng, wal: &mut WalLogStore, mem: &mut MemLogStore, term: &mut u64) {
    let first = mem.first_index().unwrap();
    let last = mem.last_index().unwrap();
    match rng.random_range(0..10) {
        0..=5 => {
            if rng.random_bool(0.2) {
                *term += 1;
            }
            let start = if last >= first && rng.random_bool(0.2) {
                rng.random_range(first..=last)
            } else {
                last + 1
            };
            let n = rng.random_range(1..8);
            let entries: Vec<Entry> = (start..start + n)
                .map(|i| entry(i, *term, format!("{i}/{term}").as_bytes()))
                .collect();
            wal.append(&entries).unwrap();
            mem.append(&entries).unwrap();
        }
        6 => {
            let mut hs = HardState::default();
            hs.set_term(*term);
            hs.vote = rng.random_range(0..4);
            hs.commit = last;
            wal.set_hard_state(&hs).unwrap();
            mem.set_hard_state(&hs).unwrap();
        }
        7 => {
            let mut cs = ConfState::default();
            cs.set_voters((1..=rng.random_range(1..6)).collect());
            wal.set_conf_state(&cs).unwrap();
            mem.set_conf_state(&cs).unwrap();
        }
        8 if last >= first => {
            let at = rng.random_range(first..=last);
            let snap = snapshot_at(at, mem.term(at).unwrap(), &[1, 2, 3]);
            wal.store_snapshot(snap.clone()).unwrap();
            mem.store_snapshot(snap).unwrap();
            let upto = rng.random_range(first - 1..=at);
            wal.compact(upto).unwrap();
            mem.compact(upto).unwrap();
        }
        9 => {
            let at = last + rng.random_range(1..20);
            *term += 1;
            let snap = snapshot_at(at, *term, &[1, 2, 3, 4]);
            wal.apply_snapshot(snap.clone()).unwrap();
            mem.apply_snapshot(snap).unwrap();
        }
        _ => {}
    }
}

#[test]
fn reopening_replays_exactly_the_synced_store() {
    for seed in 0..20u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut data, mut wal) = open(dir.path());
        assert!(!wal.is_initialized());
        let mut mem = MemLogStore::new();
        let mut term = 1;
        for step in 0..300 {
            random_op(&mut rng, &mut wal, &mut mem, &mut term);
            if rng.random_bool(0.3) {
                wal.sync().unwrap();
            }
            if step % 50 == 49 {
                wal.sync().unwrap();
                drop(wal);
                drop(data);
                (data, wal) = open(dir.path());
                assert!(wal.is_initialized());
                assert_same(&wal, &mem, &format!("seed {seed} step {step}"));
                assert_eq!(wal.last_snapshot().unwrap(), mem.last_snapshot().unwrap());
            }
            if step == 150 {
                wal.checkpoint().unwrap();
            }
        }
    }
}

#[test]
fn a_checkpoint_shrinks_the_log_and_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (data, mut wal) = open(dir.path());
    let mut mem = MemLogStore::new();
    for i in 1..=2000u64 {
        let e = [entry(i, 1, &[7u8; 200])];
        wal.append(&e).unwrap();
        mem.append(&e).unwrap();
    }
    let snap = snapshot_at(1990, 1, &[1]);
    wal.store_snapshot(snap.clone()).unwrap();
    mem.store_snapshot(snap).unwrap();
    wal.compact(1990).unwrap();
    mem.compact(1990).unwrap();
    wal.sync().unwrap();
    let before = wal.log.size_bytes();
    wal.checkpoint().unwrap();
    assert!(
        wal.log.size_bytes() < before / 10,
        "{} -> {}",
        before,
        wal.log.size_bytes()
    );
    drop(wal);
    drop(data);
    let (_data, wal) = open(dir.path());
    assert_same(&wal, &mem, "after checkpoint");
}

#[test]
fn a_torn_tail_loses_only_unsynced_operations() {
    let dir = tempfile::tempdir().unwrap();
    let (data, mut wal) = open(dir.path());
    let mut mem = MemLogStore::new();
    for i in 1..=50u64 {
        let e = [entry(i, 1, b"synced")];
        wal.append(&e).unwrap();
        mem.append(&e).unwrap();
    }
    wal.sync().unwrap();
    wal.append(&[entry(51, 1, b"not synced")]).unwrap();
    let active = wal.log.segments().last().unwrap().clone();
    let (segment, len) = (active.path, active.bytes);
    drop(wal);
    drop(data);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 3).unwrap();
    let (_data, wal) = open(dir.path());
    assert_same(&wal, &mem, "after a torn write");
}

#[test]
fn damage_before_synced_entries_refuses_to_open_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (data, mut wal) = open(dir.path());
    for i in 1..=50u64 {
        wal.append(&[entry(i, 1, b"synced")]).unwrap();
    }
    wal.sync().unwrap();
    let segment = wal.log.segments().last().unwrap().path.clone();
    drop(wal);
    drop(data);
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&segment, &bytes).unwrap();
    let data = DataDir::open(dir.path(), WalOptions::new(FsyncPolicy::Never)).unwrap();
    let err = WalLogStore::open(&data)
        .err()
        .expect("a damaged log must not open");
    assert!(err.to_string().contains("damaged at byte"), "{err}");
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        bytes,
        "nothing on disk changed"
    );
}
