//! The API versions this client speaks, and picking one per broker from its ApiVersions answer.
//!
//! Our ranges are those the client's code fills correctly: each request builder sets every field
//! those versions need. The floor matters for other Kafka-compatible brokers; the ceiling stops
//! before versions whose semantics this client does not implement (topic ids in Fetch 13+,
//! transactions-v2 Produce 12+).

use std::collections::HashMap;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::api_versions_response::ApiVersionsResponse;

/// Every API this client sends, with the inclusive version range it can speak.
pub const CLIENT_RANGES: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    // 8 and 9 add the tier queries (-4, -5), nothing else.
    (ApiKey::ListOffsets, 1, 9),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 1, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 8),
    // 8+ batches groups; one group per request is all this client needs.
    (ApiKey::OffsetFetch, 1, 7),
    // 3+ carries the replica id a follower truncating against its leader sends.
    (ApiKey::OffsetForLeaderEpoch, 3, 4),
    // 4+ is the brokers' batched form (KIP-890).
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
    // v1 handshakes carry the tokens in SaslAuthenticate (v0 sends them as bare frames).
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// Our range for `key`, if the client sends it at all.
pub fn client_range(key: ApiKey) -> Option<(i16, i16)> {
    CLIENT_RANGES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// One broker's advertised ranges.
#[derive(Debug, Clone, Default)]
pub struct BrokerVersions(HashMap<i16, (i16, i16)>);

impl BrokerVersions {
    pub fn from_response(resp: &ApiVersionsResponse) -> Self {
        Self(
            resp.api_keys
                .iter()
                .map(|v| (v.api_key, (v.min_version, v.max_version)))
                .collect(),
        )
    }

    pub fn range(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.0.get(&(key as i16)).copied()
    }

    /// The highest version both sides support, or `None` when the ranges do not overlap.
    pub fn pick(&self, key: ApiKey) -> Option<i16> {
        let (our_lo, our_hi) = client_range(key)?;
        let (their_lo, their_hi) = self.range(key)?;
        let hi = our_hi.min(their_hi);
        (hi >= our_lo.max(their_lo)).then_some(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;

    fn broker(ranges: &[(ApiKey, i16, i16)]) -> BrokerVersions {
        let keys = ranges
            .iter()
            .map(|&(k, lo, hi)| {
                ApiVersion::default()
                    .with_api_key(k as i16)
                    .with_min_version(lo)
                    .with_max_version(hi)
            })
            .collect();
        BrokerVersions::from_response(&ApiVersionsResponse::default().with_api_keys(keys))
    }

    #[test]
    fn picks_the_highest_common_version() {
        let b = broker(&[
            (ApiKey::Produce, 0, 11),
            (ApiKey::Fetch, 4, 7),
            (ApiKey::Metadata, 13, 13),
        ]);
        assert_eq!(b.pick(ApiKey::Produce), Some(9), "capped by the client");
        assert_eq!(b.pick(ApiKey::Fetch), Some(7), "capped by the broker");
        assert_eq!(b.pick(ApiKey::Metadata), None, "no overlap");
        assert_eq!(b.pick(ApiKey::CreateTopics), None, "not advertised");
    }

    #[test]
    fn every_client_range_is_decodable_by_kafka_protocol() {
        for &(key, lo, hi) in CLIENT_RANGES {
            let valid = key.valid_versions();
            assert!(valid.min <= lo && hi <= valid.max, "{key:?}");
        }
    }
}
