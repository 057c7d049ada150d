//! The files of a segment swap and the steps that finish one, shared by
//! [`crate::PartitionLog::swap_in`] and recovery so that both take exactly the same steps.
//!
//! A rewrite of the segments in `[base, end)` writes `<base>-<end>.cleaned` (both offsets 20
//! digits). After an fsync it is renamed to `<base>-<end>.swap` and the directory fsynced: that
//! rename is the decision. Finishing deletes every segment and index file in `[base, end)`,
//! fsyncs the directory, renames the swap file to `<base>.wal` and fsyncs again. The replaced
//! range is in the name, so recovery never guesses what a swap replaces.

use std::fs::File;
use std::path::{Path, PathBuf};

use chronik_types::Offset;

use crate::error::IoContext;
use crate::segment::{
    parse_index_file_name, parse_offset_digits, parse_segment_file_name, remove_if_exists,
    segment_file_name,
};
use crate::syncer::Syncer;
use crate::{Result, WalError};

const CLEANED_SUFFIX: &str = ".cleaned";
const SWAP_SUFFIX: &str = ".swap";

/// `<base>-<end>.cleaned`: a rewrite being written, not decided.
pub(crate) fn cleaned_file_name(base: Offset, end: Offset) -> String {
    format!("{base:020}-{end:020}{CLEANED_SUFFIX}")
}

/// `<base>-<end>.swap`: a rewrite decided on, replacing the segments in `[base, end)`.
pub(crate) fn swap_file_name(base: Offset, end: Offset) -> String {
    format!("{base:020}-{end:020}{SWAP_SUFFIX}")
}

/// How far a swap got before it was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapState {
    /// A `.cleaned` file: written, never decided on. Recovery deletes it; the replaced
    /// segments stay.
    Undecided,
    /// A `.swap` file: decided on. Recovery deletes what is left of the replaced segments and
    /// renames it to `<base>.wal`.
    Decided,
}

/// A swap that a crash (or a failed write) interrupted, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InterruptedSwap {
    /// The `.cleaned` or `.swap` file.
    pub file: PathBuf,
    /// The first replaced offset: the cleaned segment's base.
    pub base_offset: Offset,
    /// The base of the segment after the replaced ones.
    pub end_offset: Offset,
    pub state: SwapState,
    /// Segment files of `[base_offset, end_offset)` still present.
    pub replaced_segments: Vec<PathBuf>,
}

/// Parses `<20 digits>-<20 digits><suffix>` into a non-empty range.
fn parse_range(name: &str, suffix: &str) -> Option<(Offset, Offset)> {
    let (base, end) = name.strip_suffix(suffix)?.split_once('-')?;
    let (base, end) = (parse_offset_digits(base)?, parse_offset_digits(end)?);
    (base < end).then_some((base, end))
}

/// The interrupted swaps in a log directory, oldest range first. Two decided swaps over
/// overlapping ranges cannot come from Chronik (swaps are decided one at a time and finished
/// before the next), so they are refused rather than guessed at.
pub fn interrupted_swaps(dir: &Path) -> Result<Vec<InterruptedSwap>> {
    let mut found = Vec::new();
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(base) = parse_segment_file_name(&name) {
            segments.push((base, entry.path()));
        }
        let state = if let Some(range) = parse_range(&name, CLEANED_SUFFIX) {
            Some((range, SwapState::Undecided))
        } else {
            parse_range(&name, SWAP_SUFFIX).map(|range| (range, SwapState::Decided))
        };
        if let Some(((base_offset, end_offset), state)) = state {
            found.push(InterruptedSwap {
                file: entry.path(),
                base_offset,
                end_offset,
                state,
                replaced_segments: Vec::new(),
            });
        }
    }
    segments.sort();
    found.sort_by_key(|s| (s.base_offset, s.end_offset));
    for swap in &mut found {
        swap.replaced_segments = (segments.iter())
            .filter(|(b, _)| (swap.base_offset..swap.end_offset).contains(b))
            .map(|(_, p)| p.clone())
            .collect();
    }
    check_no_overlap(dir, &found)?;
    Ok(found)
}

fn check_no_overlap(dir: &Path, found: &[InterruptedSwap]) -> Result<()> {
    let decided: Vec<&InterruptedSwap> = (found.iter())
        .filter(|s| s.state == SwapState::Decided)
        .collect();
    for pair in decided.windows(2) {
        if pair[1].base_offset < pair[0].end_offset {
            return Err(WalError::Corrupt {
                path: dir.to_path_buf(),
                reason: format!(
                    "two decided segment swaps overlap ({} and {}), which Chronik never writes; \
                     move one of them out of the directory, then open the log",
                    pair[0].file.display(),
                    pair[1].file.display()
                ),
            });
        }
    }
    Ok(())
}

/// Finishes a decided swap: deletes every segment and index file in `[base, end)`, makes that
/// durable, then renames the swap file to `<base>.wal` and makes that durable. The deletions
/// must be on disk before the rename: a replaced segment that came back beside the new one
/// would mix the before and after states, and a stale `<base>.index` could describe it.
/// Idempotent: recovery runs it again after a crash at any step. Returns the new path.
pub(crate) fn finish_swap(
    dir: &Path,
    base: Offset,
    end: Offset,
    swap_path: &Path,
    syncer: &dyn Syncer,
) -> Result<PathBuf> {
    let replaced = base..end;
    let mut doomed = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let of = parse_segment_file_name(&name).or_else(|| parse_index_file_name(&name));
        if of.is_some_and(|b| replaced.contains(&b)) {
            doomed.push(entry.path());
        }
    }
    for path in &doomed {
        remove_if_exists(path)?;
    }
    sync_dir_with(syncer, dir)?;
    let final_path = dir.join(segment_file_name(base));
    std::fs::rename(swap_path, &final_path).at(&final_path)?;
    sync_dir_with(syncer, dir)?;
    Ok(final_path)
}

/// Fsyncs a directory through the log's syncer, so that tests can fail any step of a swap.
pub(crate) fn sync_dir_with(syncer: &dyn Syncer, dir: &Path) -> Result<()> {
    let handle = File::open(dir).at(dir)?;
    syncer.sync(&handle).at(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_odd_names_are_not_swaps() {
        let name = cleaned_file_name(7, 42);
        assert_eq!(parse_range(&name, CLEANED_SUFFIX), Some((7, 42)));
        assert_eq!(
            parse_range(&swap_file_name(0, 1), SWAP_SUFFIX),
            Some((0, 1))
        );
        for odd in [
            "00000000000000000042-00000000000000000007.swap",
            "00000000000000000007-00000000000000000007.swap",
            "7-42.swap",
            "00000000000000000007.swap",
            "00000000000000000007-00000000000000000042.swap.tmp",
        ] {
            assert_eq!(parse_range(odd, SWAP_SUFFIX), None, "{odd}");
        }
    }
}
