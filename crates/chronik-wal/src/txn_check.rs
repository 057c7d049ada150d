//! Checking the transactions kept in segment indexes against what the segments hold, for
//! `chronik-walctl verify`, and where an offline walk's transactions start.

use std::path::{Path, PathBuf};

use chronik_types::Offset;

use crate::Result;
use crate::error::IoContext;
use crate::index::SegmentIndex;
use crate::inspect::Corruption;
use crate::segment::index_file_name;
use crate::txns::{OpenTxns, SegmentTxns};

/// The transactions a walk over a log's segments starts `segment` with: those the previous
/// segment ended with, or for the first, those its index file says were open where it begins
/// (retention may have removed where they began); none without a readable index.
pub(crate) fn starting_txns(
    previous: Option<&SegmentTxns>,
    segment: &Path,
    base: Offset,
) -> Result<SegmentTxns> {
    if let Some(previous) = previous {
        return Ok(previous.next_segment());
    }
    let stored = SegmentIndex::load(&segment.with_file_name(index_file_name(base)))?;
    let open = (stored.and_then(|(index, _, _)| index.txns)).map(|t| t.open_at_start);
    Ok(SegmentTxns::starting_with(
        open.unwrap_or_else(OpenTxns::new),
    ))
}

/// Reports each index file that describes its segment's current length but keeps other
/// transactions than `rebuilt` (each segment's, from its batches) says.
pub(crate) fn check_txn_indexes(
    rebuilt: &[(Offset, PathBuf, SegmentTxns)],
    found: &mut Vec<Corruption>,
) -> Result<()> {
    for (base, path, txns) in rebuilt {
        let len = std::fs::metadata(path).at(path)?.len();
        let index_path = path.with_file_name(index_file_name(*base));
        let Some((index, stored_len, _)) = SegmentIndex::load(&index_path)? else {
            continue;
        };
        if stored_len != len || index.txns.as_ref() == Some(txns) {
            continue;
        }
        found.push(Corruption {
            file: index_path,
            position: 0,
            offset: Some(*base),
            reason: mismatch(index.txns.as_ref(), txns),
        });
    }
    Ok(())
}

fn mismatch(stored: Option<&SegmentTxns>, rebuilt: &SegmentTxns) -> String {
    let fix = "`chronik-walctl recover` rebuilds it";
    let Some(stored) = stored else {
        return format!("the segment index keeps no transactions; {fix}");
    };
    format!(
        "the segment index lists {} aborted and {} open transactions, the segment's batches \
         give {} and {}; {fix}",
        stored.aborted.len(),
        stored.open.len(),
        rebuilt.aborted.len(),
        rebuilt.open.len()
    )
}
