//! ApiVersions: advertises exactly [`super::IMPLEMENTED`], with the version ranges the
//! protocol layer decodes, and the features clients read (v3+).

use chronik_kafka::kafka_protocol::messages::ApiVersionsResponse;
use chronik_kafka::kafka_protocol::messages::api_versions_response::{
    FinalizedFeatureKey, SupportedFeatureKey,
};
use chronik_kafka::kafka_protocol::protocol::StrBytes;

/// The feature Kafka's clients read to end every transaction with an epoch bump (KIP-890
/// part 2). Finalized at 2, producers that support it send EndTxn v5, Produce v12 and
/// TxnOffsetCommit v5 and no AddPartitionsToTxn or AddOffsetsToTxn.
const TRANSACTION_VERSION: &str = "transaction.version";
const TRANSACTION_VERSION_LEVEL: i16 = 2;
/// The finalized features never change, so every broker answers with the same epoch.
const FEATURES_EPOCH: i64 = 1;

pub(crate) fn handle() -> ApiVersionsResponse {
    let name = || StrBytes::from_static_str(TRANSACTION_VERSION);
    chronik_kafka::api_versions_response(super::IMPLEMENTED)
        .with_supported_features(vec![
            SupportedFeatureKey::default()
                .with_name(name())
                .with_min_version(0)
                .with_max_version(TRANSACTION_VERSION_LEVEL),
        ])
        .with_finalized_features_epoch(FEATURES_EPOCH)
        .with_finalized_features(vec![
            FinalizedFeatureKey::default()
                .with_name(name())
                .with_min_version_level(TRANSACTION_VERSION_LEVEL)
                .with_max_version_level(TRANSACTION_VERSION_LEVEL),
        ])
}
