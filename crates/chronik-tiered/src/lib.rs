//! Tiered storage: sealed log segments copied to an object store (S3 or an S3-compatible
//! server, or a local directory), listed, read back batch by batch and deleted.
//!
//! Each upload of a segment is a set of objects under
//! `PREFIX/<topic>-<partition>/<topic id>/<base offset>-<upload id>.*`: the segment file
//! byte for byte (`.wal`: CRC-checked frames), its index (`.index`), the producer state at its
//! end (`.producers`) and, written last, a manifest (`.manifest`) with each object's length
//! and CRC-32C. A copy without a manifest is not whole and is never read.

mod error;
mod location;
mod manifest;
mod plan;
mod read;
mod reader;
mod store;
mod upload;

pub use error::{Result, TieredError};
pub use location::RemoteLocation;
pub use manifest::{EpochStart, ObjectKind, ObjectSummary, RemoteSegmentId, SegmentManifest};
pub use plan::{
    CopyLag, CopyState, LocalSegment, RemoteCopy, TierPlan, TierRetention, TierView, plan,
};
pub use read::RemoteBatch;
pub use reader::RemoteReader;
pub use store::{RemoteOptions, RemoteStore};
pub use upload::SegmentUpload;
