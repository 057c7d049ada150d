//! Body of the `kafka_request` fuzz target, shared word for word with the stable replay test
//! `crates/chronik-kafka/tests/fuzz_inputs.rs` (both include this file with `#[path]`).
//!
//! One input is used three ways, all of them paths that carry bytes from a peer:
//! - as one request frame (size prefix removed), the way the broker's connection loop hands
//!   frames to `decode_request`, followed by what the broker does next: a rejected ApiVersions
//!   is answered, a Produce's records are validated;
//! - as a byte stream cut into frames by `try_split_frame`;
//! - as a response body for `decode_guarded`, the way clients decode responses and group
//!   members' embedded subscription/assignment: byte 0 picks the message type, byte 1 the
//!   version, the rest is the body.

use bytes::{Bytes, BytesMut};
use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::Encodable;
use chronik_kafka::{
    DecodedRequest, ProtocolError, SUPPORTED, decode_guarded, decode_request, peek_header,
    try_split_frame, unsupported_api_versions_response, validate_produce_records,
};

/// The broker's default `max.message.bytes` for a topic.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Frame size limit for the stream pass; larger than any input the fuzzer makes.
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// What one input did, so the replay test can tell that both outcomes were reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub requests_decoded: usize,
    pub requests_rejected: usize,
    pub bodies_decoded: usize,
    pub bodies_rejected: usize,
}

pub fn run(data: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    request(Bytes::copy_from_slice(data), &mut outcome);
    stream(data, &mut outcome);
    if let [which, version, body @ ..] = data {
        match response_body(*which, *version, Bytes::copy_from_slice(body)) {
            Ok(()) => outcome.bodies_decoded += 1,
            Err(_) => outcome.bodies_rejected += 1,
        }
    }
    outcome
}

/// One frame through `decode_request` and the broker's next step.
fn request(frame: Bytes, outcome: &mut Outcome) {
    let raw = peek_header(&frame);
    match decode_request(frame) {
        Ok(req) => {
            outcome.requests_decoded += 1;
            let raw = raw.expect("a decoded request has a header");
            assert_eq!(
                (req.api_key as i16, req.api_version, req.correlation_id),
                (raw.api_key, raw.api_version, raw.correlation_id)
            );
            round_trip(&req);
            if let RequestKind::Produce(produce) = &req.request {
                produced_records(produce);
            }
        }
        Err(e) => {
            outcome.requests_rejected += 1;
            match raw {
                // Past the fixed header every rejection can still be answered or logged
                // with the request's correlation id.
                Ok(raw) => assert_eq!(e.correlation_id(), Some(raw.correlation_id), "{e}"),
                Err(_) => assert!(matches!(e, ProtocolError::TruncatedHeader { .. }), "{e}"),
            }
            if let ProtocolError::UnsupportedVersion {
                api_key: ApiKey::ApiVersions,
                correlation_id,
                ..
            } = e
            {
                unsupported_api_versions_response(correlation_id)
                    .expect("the unsupported-version answer always encodes");
            }
        }
    }
}

/// A decoded request, encoded again at its version, must decode to the same request: the
/// guard must not have changed a value on the way.
fn round_trip(req: &DecodedRequest) {
    let mut buf = BytesMut::new();
    let header = RequestHeader::default()
        .with_request_api_key(req.api_key as i16)
        .with_request_api_version(req.api_version)
        .with_correlation_id(req.correlation_id)
        .with_client_id(req.client_id.clone());
    let header_version = req.api_key.request_header_version(req.api_version);
    if header.encode(&mut buf, header_version).is_err()
        || req.request.encode(&mut buf, req.api_version).is_err()
    {
        // kafka-protocol refuses to encode some values a lenient decode accepted (e.g. a
        // field that does not exist at this version set to a non-default); nothing to compare.
        return;
    }
    let again = decode_request(buf.freeze())
        .unwrap_or_else(|e| panic!("re-encoded {:?} does not decode: {e}", req.api_key));
    assert_eq!(again.request, req.request, "{:?}", req.api_key);
    assert_eq!(again.client_id, req.client_id);
}

/// What the Produce handler does with each partition's records.
fn produced_records(produce: &ProduceRequest) {
    for topic in &produce.topic_data {
        for partition in &topic.partition_data {
            if let Some(records) = &partition.records
                && let Ok(batches) = validate_produce_records(records, MAX_MESSAGE_BYTES)
            {
                assert!(!batches.is_empty());
            }
        }
    }
}

/// The input as a connection's byte stream: frames until one is incomplete or refused.
fn stream(data: &[u8], outcome: &mut Outcome) {
    let mut buf = BytesMut::from(data);
    let mut scratch = Outcome::default();
    while let Ok(Some(frame)) = try_split_frame(&mut buf, MAX_REQUEST_BYTES) {
        request(frame, &mut scratch);
    }
    outcome.requests_decoded += scratch.requests_decoded;
}

/// Decodes `body` as the response (or embedded group message) picked by `which`, at a version
/// a client would accept, through the guard.
fn response_body(which: u8, version: u8, body: Bytes) -> Result<(), String> {
    let pick = usize::from(which) % (SUPPORTED.len() + 2);
    let Some(&(key, min, max)) = SUPPORTED.get(pick) else {
        // Group members' embedded messages: read at 0..=3, never flexible.
        let version = i16::from(version % 4);
        return if pick == SUPPORTED.len() {
            decode_guarded::<ConsumerProtocolSubscription>(body, version, false).map(drop)
        } else {
            decode_guarded::<ConsumerProtocolAssignment>(body, version, false).map(drop)
        };
    };
    let span = u8::try_from(max - min + 1).expect("version ranges are small");
    let version = min + i16::from(version % span);
    let flexible = key.request_header_version(version) >= 2;
    macro_rules! responses {
        ($($kind:ident => $response:ty),* $(,)?) => {
            match key {
                $(ApiKey::$kind => decode_guarded::<$response>(body, version, flexible).map(drop),)*
                other => panic!("{other:?} is supported but has no response type here"),
            }
        };
    }
    responses!(
        Produce => ProduceResponse,
        Fetch => FetchResponse,
        ListOffsets => ListOffsetsResponse,
        Metadata => MetadataResponse,
        OffsetCommit => OffsetCommitResponse,
        OffsetFetch => OffsetFetchResponse,
        FindCoordinator => FindCoordinatorResponse,
        JoinGroup => JoinGroupResponse,
        Heartbeat => HeartbeatResponse,
        LeaveGroup => LeaveGroupResponse,
        SyncGroup => SyncGroupResponse,
        DescribeGroups => DescribeGroupsResponse,
        ListGroups => ListGroupsResponse,
        ApiVersions => ApiVersionsResponse,
        CreateTopics => CreateTopicsResponse,
        DeleteTopics => DeleteTopicsResponse,
        DeleteRecords => DeleteRecordsResponse,
        InitProducerId => InitProducerIdResponse,
        OffsetForLeaderEpoch => OffsetForLeaderEpochResponse,
        DescribeConfigs => DescribeConfigsResponse,
        AlterConfigs => AlterConfigsResponse,
        CreatePartitions => CreatePartitionsResponse,
        DeleteGroups => DeleteGroupsResponse,
        IncrementalAlterConfigs => IncrementalAlterConfigsResponse,
        DescribeCluster => DescribeClusterResponse,
        AddPartitionsToTxn => AddPartitionsToTxnResponse,
        AddOffsetsToTxn => AddOffsetsToTxnResponse,
        EndTxn => EndTxnResponse,
        WriteTxnMarkers => WriteTxnMarkersResponse,
        TxnOffsetCommit => TxnOffsetCommitResponse,
        DescribeTransactions => DescribeTransactionsResponse,
        ListTransactions => ListTransactionsResponse,
        DescribeProducers => DescribeProducersResponse,
        OffsetDelete => OffsetDeleteResponse,
        DescribeLogDirs => DescribeLogDirsResponse,
        ElectLeaders => ElectLeadersResponse,
        DescribeQuorum => DescribeQuorumResponse,
        AlterPartitionReassignments => AlterPartitionReassignmentsResponse,
        ListPartitionReassignments => ListPartitionReassignmentsResponse,
        DescribeClientQuotas => DescribeClientQuotasResponse,
        AlterClientQuotas => AlterClientQuotasResponse,
        ConsumerGroupHeartbeat => ConsumerGroupHeartbeatResponse,
        ConsumerGroupDescribe => ConsumerGroupDescribeResponse,
        DescribeUserScramCredentials => DescribeUserScramCredentialsResponse,
        AlterUserScramCredentials => AlterUserScramCredentialsResponse,
        DescribeAcls => DescribeAclsResponse,
        CreateAcls => CreateAclsResponse,
        DeleteAcls => DeleteAclsResponse,
        SaslHandshake => SaslHandshakeResponse,
        SaslAuthenticate => SaslAuthenticateResponse,
    )
}
