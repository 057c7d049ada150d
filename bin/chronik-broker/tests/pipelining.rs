//! Requests pipelined on one connection take effect in request order, as Kafka serves a
//! connection's requests one at a time: librdkafka sends its asynchronous offset commits
//! back to back on the coordinator connection and expects the last one to stand.

mod common;

use std::time::Duration;

use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use common::ops::*;
use common::{BrokerProc, Client, eventually};

const NONE: i16 = 0;
/// Errors a client retries: the coordinator is loading or not there yet.
const RETRIABLE: [i16; 3] = [14, 15, 16];
const DEADLINE: Duration = Duration::from_secs(30);
const GROUP: &str = "pipelined";
const TOPIC: &str = "commits";

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// A simple consumer's commit (no member, generation -1) of `offset` for partition 0.
fn commit_request(offset: i64) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic(TOPIC))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(offset),
                ]),
        ])
}

fn fetch_request() -> OffsetFetchRequest {
    OffsetFetchRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_topics(Some(vec![
            offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(topic(TOPIC))
                .with_partition_indexes(vec![0]),
        ]))
}

fn commit_code(r: &OffsetCommitResponse) -> i16 {
    r.topics[0].partitions[0].error_code
}

fn committed(r: &OffsetFetchResponse) -> i64 {
    assert_eq!(r.error_code, NONE);
    r.topics[0].partitions[0].committed_offset
}

/// Commits 1..=`count` back to back, then fetches the committed offset on the same
/// connection before reading any answer.
fn pipeline_commits(c: &mut Client, first: i64, count: i64) -> i64 {
    let sent: Vec<i32> = (first..first + count)
        .map(|offset| c.send(ApiKey::OffsetCommit, 8, &commit_request(offset)))
        .collect();
    let fetch = c.send(ApiKey::OffsetFetch, 5, &fetch_request());
    for correlation in sent {
        let r: OffsetCommitResponse = c.recv(ApiKey::OffsetCommit, 8, correlation);
        assert_eq!(commit_code(&r), NONE);
    }
    let r: OffsetFetchResponse = c.recv(ApiKey::OffsetFetch, 5, fetch);
    committed(&r)
}

#[test]
fn pipelined_offset_commits_apply_in_request_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "never"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, TOPIC, 1), NONE);
    eventually("a loaded coordinator", DEADLINE, || {
        let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &commit_request(0));
        let code = commit_code(&r);
        assert!(code == NONE || RETRIABLE.contains(&code), "commit: {code}");
        (code == NONE).then_some(())
    });
    const ROUNDS: i64 = 5;
    const PER_ROUND: i64 = 200;
    for round in 0..ROUNDS {
        let first = 1 + round * PER_ROUND;
        let last = first + PER_ROUND - 1;
        assert_eq!(
            pipeline_commits(&mut c, first, PER_ROUND),
            last,
            "the fetch pipelined after the commits sees the last one"
        );
        let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 5, &fetch_request());
        assert_eq!(committed(&r), last, "the last commit stands");
    }
}

fn join_request(member_id: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(
            [join_group_request::JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(bytes::Bytes::from_static(b"sub"))]
            .into_iter()
            .collect(),
        )
}

fn leave_request(member_id: &str) -> LeaveGroupRequest {
    LeaveGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_members(vec![
            leave_group_request::MemberIdentity::default().with_member_id(s(member_id)),
        ])
}

/// Consumers closing right after they rejoined: each JoinGroup and the LeaveGroup pipelined
/// behind it must apply in that order, or the leave finds no member and the join then leaves
/// one behind that the group waits for. Many pairs go out at once, so that requests handled
/// out of order would show.
#[test]
fn leaves_pipelined_behind_joins_apply_after_them() {
    const JOIN: i16 = 5;
    const LEAVE: i16 = 3;
    const MEMBER_ID_REQUIRED: i16 = 79;
    const MEMBERS: usize = 100;
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "--fsync",
        "never",
        "--group-initial-rebalance-delay-ms",
        "0",
    ];
    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let members: Vec<String> = (0..MEMBERS)
        .map(|_| {
            let first: JoinGroupResponse = eventually("a loaded coordinator", DEADLINE, || {
                let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, JOIN, &join_request(""));
                assert!(r.error_code == MEMBER_ID_REQUIRED || RETRIABLE.contains(&r.error_code));
                (r.error_code == MEMBER_ID_REQUIRED).then_some(r)
            });
            first.member_id.to_string()
        })
        .collect();
    let sent: Vec<(i32, i32)> = (members.iter())
        .map(|m| {
            let join = c.send(ApiKey::JoinGroup, JOIN, &join_request(m));
            (join, c.send(ApiKey::LeaveGroup, LEAVE, &leave_request(m)))
        })
        .collect();
    for (i, (join, leave)) in sent.into_iter().enumerate() {
        let _: JoinGroupResponse = c.recv(ApiKey::JoinGroup, JOIN, join);
        let left: LeaveGroupResponse = c.recv(ApiKey::LeaveGroup, LEAVE, leave);
        assert_eq!(
            (left.error_code, left.members[0].error_code),
            (NONE, NONE),
            "member {i}: the leave found the member its join added"
        );
    }
}
