//! The stable-toolchain side of fuzzing, shared by the `fuzz_inputs` tests of chronik-kafka,
//! chronik-wal, chronik-metadata and chronik-auth (each includes this file with `#[path]`):
//! replaying the committed corpus and regression inputs, and a deterministic pseudo-random pass
//! of random bytes and mutated valid inputs. libFuzzer needs nightly; these run in every
//! `cargo test`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Set to regenerate the committed seed corpus from the tests' helpers.
pub const BLESS_VAR: &str = "CHRONIK_BLESS_FUZZ_SEEDS";

/// Inputs of each pseudo-random pass.
pub const PSEUDO_RANDOM_INPUTS: usize = 2000;

/// The `fuzz/` directory at the workspace root.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Runs `input` through `run`; a panic fails the test with the input in hex, ready to be saved
/// as a regression input.
pub fn run_one<T>(what: &str, input: &[u8], run: impl FnOnce(&[u8]) -> T) -> T {
    match catch_unwind(AssertUnwindSafe(|| run(input))) {
        Ok(outcome) => outcome,
        Err(_) => panic!(
            "{what} panicked on this input ({} bytes; docs/fuzzing.md says how to keep it as \
             a regression input):\n{}",
            input.len(),
            hex(input)
        ),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`, sorted by path.
pub fn saved_inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("list a corpus dir").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("read a corpus file");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// Replays the saved inputs of `target`; there must be some (the seed corpus is committed).
pub fn replay_saved<T>(target: &str, run: impl Fn(&[u8]) -> T) -> Vec<T> {
    let inputs = saved_inputs(target);
    assert!(
        !inputs.is_empty(),
        "no seed corpus under fuzz/corpus/{target}/"
    );
    inputs
        .iter()
        .map(|(path, bytes)| run_one(&path.display().to_string(), bytes, &run))
        .collect()
}

/// Checks that `fuzz/corpus/<target>/` holds exactly the bytes the helpers make for each named
/// seed, or rewrites them when [`BLESS_VAR`] is set.
pub fn check_seed_files(target: &str, seeds: &[(&str, Vec<u8>)]) {
    let dir = fuzz_dir().join("corpus").join(target);
    let bless = std::env::var_os(BLESS_VAR).is_some();
    for (name, bytes) in seeds {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).expect("create the corpus dir");
            std::fs::write(&path, bytes).expect("write a seed");
            continue;
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == *bytes,
            "{} is missing or stale; regenerate the seeds with {BLESS_VAR}=1 cargo test \
             --test fuzz_inputs",
            path.display()
        );
    }
}

/// xorshift64*: small, fast and the same on every machine, so a failing input can be found
/// again from the seed alone.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Values that break length and count fields: zero, signs, type limits and their neighbours.
const INTERESTING: [u64; 14] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// `count` inputs from `seed`: a quarter random bytes, the rest valid `bases` with one to four
/// mutations (bit flips, byte writes, truncations, big-endian overwrites with boundary values
/// as a length field would get, insertions, deletions, duplications, splices).
pub fn pseudo_random_inputs(bases: &[Vec<u8>], count: usize, seed: u64) -> Vec<Vec<u8>> {
    assert!(!bases.is_empty());
    let mut rng = XorShift::new(seed);
    (0..count)
        .map(|_| {
            if rng.below(4) == 0 {
                let len = rng.below(512);
                return rng.bytes(len);
            }
            let mut input = bases[rng.below(bases.len())].clone();
            for _ in 0..=rng.below(4) {
                mutate(&mut rng, &mut input, bases);
            }
            input
        })
        .collect()
}

fn mutate(rng: &mut XorShift, input: &mut Vec<u8>, bases: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(8) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            input[at] = rng.next_u64() as u8;
        }
        2 => input.truncate(rng.below(len + 1)),
        3 => {
            let width = [1, 2, 4, 8][rng.below(4)];
            let value = match rng.below(3) {
                0 => INTERESTING[rng.below(INTERESTING.len())],
                // Near the input's own length, as an off-by-few length field would be.
                1 => (len as u64)
                    .wrapping_add(rng.below(9) as u64)
                    .wrapping_sub(4),
                _ => rng.next_u64(),
            };
            let bytes = value.to_be_bytes();
            let at = rng.below(len + 1);
            let end = (at + width).min(len);
            input.splice(
                at..end,
                bytes[8 - width..8 - width + (end - at)].iter().copied(),
            );
        }
        4 => {
            let at = rng.below(len + 1);
            let count = 1 + rng.below(16);
            let extra = rng.bytes(count);
            input.splice(at..at, extra);
        }
        5 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(16)).min(len);
            input.drain(at..end);
        }
        6 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(64)).min(len);
            let copy = input[at..end].to_vec();
            let to = rng.below(len + 1);
            input.splice(to..to, copy);
        }
        _ => {
            let other = &bases[rng.below(bases.len())];
            let keep = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            input.truncate(keep);
            input.extend_from_slice(&other[from..]);
        }
    }
}
