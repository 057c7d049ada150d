use thiserror::Error;

/// Everything that can go wrong between a broker and its remote tier.
#[derive(Debug, Error)]
pub enum TieredError {
    #[error(
        "remote storage location {url:?} is not valid: {reason} \
         (use s3://BUCKET[/PREFIX] or file:///ABSOLUTE/PATH)"
    )]
    BadUrl { url: String, reason: String },

    #[error(
        "remote storage {location} is not usable: {source} \
         (check the endpoint, region and credentials in AWS_* variables, and that the bucket exists)"
    )]
    Unusable {
        location: String,
        #[source]
        source: object_store::Error,
    },

    #[error("remote object {key} could not be {action}: {source}")]
    Store {
        key: String,
        action: &'static str,
        #[source]
        source: object_store::Error,
    },

    #[error("reading local segment file {path} for upload failed: {source}")]
    LocalRead {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("making remote object {path} durable (fsync) failed: {source}; check the tier's disk")]
    LocalSync {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "local segment file {path} holds {found} bytes, fewer than the {expected} to upload \
         (it changed under the upload; upload only sealed segments)"
    )]
    LocalShort {
        path: String,
        expected: u64,
        found: u64,
    },

    #[error(
        "remote object {key} is corrupt: {reason}; it is not served (re-upload the segment from a replica that holds it)"
    )]
    Corrupt { key: String, reason: String },

    #[error("the manifest {key} could not be encoded: {reason}")]
    Encode { key: String, reason: String },

    #[error("no remote segment of {partition} holds offset {offset}")]
    OffsetNotRemote { partition: String, offset: i64 },
}

pub type Result<T, E = TieredError> = std::result::Result<T, E>;
