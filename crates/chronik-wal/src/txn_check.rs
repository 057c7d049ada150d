//! Checking the transactions kept in segment indexes against what the segments hold, for
//! `chronik-walctl verify`.

use std::path::Path;

use chronik_types::Offset;

use crate::Result;
use crate::error::IoContext;
use crate::index::SegmentIndex;
use crate::inspect::{Corruption, segment_files};
use crate::scan::{Visit, scan_frames};
use crate::segment::index_file_name;
use crate::txns::{OpenTxns, SegmentTxns};

/// The index a segment's index file holds, when it describes the segment as it is now.
fn current_index(segment: &Path, base: Offset, len: u64) -> Result<Option<SegmentIndex>> {
    let stored = SegmentIndex::load(&segment.with_file_name(index_file_name(base)))?;
    Ok(stored.and_then(|(index, stored_len, _)| (stored_len == len).then_some(index)))
}

/// The transactions open where the first segment begins, as its index file says (retention
/// may have removed where they began); none without a readable index.
pub(crate) fn stored_txns_at_start(segment: &Path, base: Offset) -> Result<OpenTxns> {
    let stored = SegmentIndex::load(&segment.with_file_name(index_file_name(base)))?;
    Ok((stored.and_then(|(index, _, _)| index.txns))
        .map_or_else(OpenTxns::new, |t| t.open_at_start))
}

/// Rebuilds every segment's transactions from its frames and reports each index file that
/// describes its segment's current length but keeps other transactions. Called only on a log
/// without damaged frames: a rebuild across damage would report the damage again.
pub(crate) fn check_txn_indexes(dir: &Path, found: &mut Vec<Corruption>) -> Result<()> {
    let mut previous: Option<SegmentTxns> = None;
    for (base, path) in segment_files(dir)? {
        let file = std::fs::File::open(&path).at(&path)?;
        let len = file.metadata().at(&path)?.len();
        let mut rebuilt = match &previous {
            Some(p) => p.next_segment(),
            None => SegmentTxns::starting_with(stored_txns_at_start(&path, base)?),
        };
        scan_frames(&file, &path, 0, len, base, |frame| {
            rebuilt.on_batch(frame.header.meta.base_offset, frame.payload);
            Ok(Visit::Continue)
        })?;
        let stored = current_index(&path, base, len)?.map(|index| index.txns);
        if let Some(stored) = stored
            && stored.as_ref() != Some(&rebuilt)
        {
            found.push(Corruption {
                file: path.with_file_name(index_file_name(base)),
                position: 0,
                offset: Some(base),
                reason: mismatch(stored.as_ref(), &rebuilt),
            });
        }
        previous = Some(rebuilt);
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
