//! The supported-API table: the single source for ApiVersions answers and request validation.
//!
//! Ranges are what current clients negotiate (librdkafka 2.x, kafka-python 2.x, Java 3.x–4.x),
//! clipped to what kafka-protocol 0.18 can decode, and stopping before versions whose semantics
//! Chronik does not implement (topic ids in Produce 13, Fetch 13+, OffsetCommit 10 and
//! OffsetFetch 10, ListOffsets 10's timeout). AddPartitionsToTxn 4 and 5 are the
//! broker-to-coordinator forms of KIP-890 (clients stop at 3); Produce 12, EndTxn 5 and
//! TxnOffsetCommit 5 are those of producers that end every transaction with an epoch bump
//! (KIP-890 part 2). A test keeps every range inside kafka-protocol's own `valid_versions`.

use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};

/// Every API Chronik's protocol layer accepts, with its inclusive version range.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 9),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::TxnOffsetCommit, 0, 5),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 1),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::DescribeQuorum, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    // v0 predates prefixed patterns (KIP-290); Kafka 4.0 no longer serves it.
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    // After a v0 handshake the SASL messages travel as bare frames (kafka-python 2.0).
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// The lowest Produce version ApiVersions names, below the lowest one served. librdkafka before
/// 2.10 compresses with gzip, snappy or lz4 only when the broker lists Produce v0 (and zstd only
/// when it lists v7 within a range starting at 0), so without this its producers silently send
/// every batch uncompressed. Kafka 4.0 lists v0 for the same reason (KAFKA-18659). A request
/// below the served range is still refused, as any version outside [`SUPPORTED`] is.
pub const ADVERTISED_PRODUCE_MIN: i16 = 0;

/// Calls macro `$m` with the message kind of every API in [`SUPPORTED`]: the one list that the
/// request decoder and the default bodies below are generated from.
macro_rules! with_supported_kinds {
    ($m:ident) => {
        $m!(
            Produce,
            Fetch,
            ListOffsets,
            Metadata,
            OffsetCommit,
            OffsetFetch,
            FindCoordinator,
            JoinGroup,
            Heartbeat,
            LeaveGroup,
            SyncGroup,
            DescribeGroups,
            ListGroups,
            ApiVersions,
            CreateTopics,
            DeleteTopics,
            DeleteRecords,
            InitProducerId,
            OffsetForLeaderEpoch,
            DescribeConfigs,
            AlterConfigs,
            CreatePartitions,
            DeleteGroups,
            IncrementalAlterConfigs,
            DescribeCluster,
            AddPartitionsToTxn,
            AddOffsetsToTxn,
            EndTxn,
            WriteTxnMarkers,
            TxnOffsetCommit,
            DescribeTransactions,
            ListTransactions,
            DescribeProducers,
            OffsetDelete,
            DescribeLogDirs,
            ElectLeaders,
            DescribeQuorum,
            AlterPartitionReassignments,
            ListPartitionReassignments,
            DescribeClientQuotas,
            AlterClientQuotas,
            ConsumerGroupHeartbeat,
            ConsumerGroupDescribe,
            DescribeUserScramCredentials,
            AlterUserScramCredentials,
            DescribeAcls,
            CreateAcls,
            DeleteAcls,
            SaslHandshake,
            SaslAuthenticate,
        )
    };
}
pub(crate) use with_supported_kinds;

/// An empty (default) request body of a supported `key`, for tests and fuzzing seeds.
pub fn default_request(key: ApiKey) -> Option<RequestKind> {
    macro_rules! bodies {
        ($($kind:ident),* $(,)?) => {
            match key {
                $(ApiKey::$kind => Some(RequestKind::$kind(Default::default())),)*
                _ => None,
            }
        };
    }
    with_supported_kinds!(bodies)
}

/// An empty (default) response body of a supported `key`, for tests and fuzzing seeds.
pub fn default_response(key: ApiKey) -> Option<ResponseKind> {
    macro_rules! bodies {
        ($($kind:ident),* $(,)?) => {
            match key {
                $(ApiKey::$kind => Some(ResponseKind::$kind(Default::default())),)*
                _ => None,
            }
        };
    }
    with_supported_kinds!(bodies)
}

/// The supported `(min, max)` versions of `key`, or `None` if Chronik does not serve it.
pub fn supported_range(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, min, max)| (min, max))
}

/// The ApiVersions answer advertising exactly the supported APIs the broker implements.
///
/// `implemented` is the broker's list of handled APIs; keys in it that are not in [`SUPPORTED`]
/// are ignored (the protocol layer could not decode them), so a client is never offered an API
/// that would be rejected.
pub fn api_versions_response(implemented: &[ApiKey]) -> ApiVersionsResponse {
    let api_keys = SUPPORTED
        .iter()
        .filter(|(key, _, _)| implemented.contains(key))
        .map(|&(key, min, max)| {
            let min = match key {
                ApiKey::Produce => ADVERTISED_PRODUCE_MIN,
                _ => min,
            };
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect();
    ApiVersionsResponse::default().with_api_keys(api_keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_is_listed_from_v0_for_librdkafka_but_served_from_v3() {
        let listed = api_versions_response(&[ApiKey::Produce, ApiKey::Fetch]);
        let range = |key: ApiKey| {
            let api = listed.api_keys.iter().find(|a| a.api_key == key as i16);
            api.map(|a| (a.min_version, a.max_version))
        };
        assert_eq!(range(ApiKey::Produce), Some((0, 12)));
        assert_eq!(supported_range(ApiKey::Produce), Some((3, 12)));
        assert_eq!(range(ApiKey::Fetch), supported_range(ApiKey::Fetch));
    }

    #[test]
    fn every_range_is_inside_what_kafka_protocol_decodes() {
        for &(key, min, max) in SUPPORTED {
            let valid = key.valid_versions();
            assert!(min <= max, "{key:?}: empty range");
            assert!(
                valid.min <= min && max <= valid.max,
                "{key:?} {min}..={max} outside kafka-protocol's {valid}"
            );
        }
    }

    #[test]
    fn the_table_has_no_duplicates_and_covers_the_design() {
        for (i, (key, _, _)) in SUPPORTED.iter().enumerate() {
            assert!(
                !SUPPORTED[i + 1..].iter().any(|(k, _, _)| k == key),
                "{key:?} twice"
            );
        }
        assert_eq!(SUPPORTED.len(), 50);
    }

    #[test]
    fn api_versions_lists_exactly_the_implemented_filter() {
        let implemented = [ApiKey::ApiVersions, ApiKey::Metadata, ApiKey::Produce];
        let resp = api_versions_response(&implemented);
        let mut keys: Vec<i16> = resp.api_keys.iter().map(|v| v.api_key).collect();
        keys.sort_unstable();
        assert_eq!(keys, vec![0, 3, 18]);
        let metadata = resp.api_keys.iter().find(|v| v.api_key == 3).unwrap();
        assert_eq!((metadata.min_version, metadata.max_version), (0, 12));
        assert_eq!(resp.error_code, 0);
    }

    #[test]
    fn unsupported_keys_in_the_filter_are_not_advertised() {
        let resp = api_versions_response(&[
            ApiKey::DescribeDelegationToken,
            ApiKey::RenewDelegationToken,
        ]);
        assert!(resp.api_keys.is_empty());
        assert_eq!(supported_range(ApiKey::RenewDelegationToken), None);
        assert_eq!(supported_range(ApiKey::Fetch), Some((4, 12)));
    }
}
