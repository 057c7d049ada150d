//! Consumer groups of the KIP-848 protocol against the real binary, at the wire level:
//! heartbeats moving partitions by member epoch, ConsumerGroupDescribe and the group listings,
//! offsets committed and fetched with member epochs, Kafka's refusals for bad heartbeats, the
//! protocol switch of empty groups, session expiry, and a group surviving SIGKILL. Running
//! groups migrating between the protocols are tested with real clients (tests/java).

mod common;

use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use common::ops::*;
use common::{BrokerProc, Client, eventually};

const NONE: i16 = 0;
const UNSUPPORTED_VERSION: i16 = 35;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_REQUEST: i16 = 42;
const GROUP_ID_NOT_FOUND: i16 = 69;
const FENCED_MEMBER_EPOCH: i16 = 110;
const UNSUPPORTED_ASSIGNOR: i16 = 112;
const STALE_MEMBER_EPOCH: i16 = 113;
const INVALID_REGULAR_EXPRESSION: i16 = 128;
/// Errors a client retries: the coordinator is loading or not there yet.
const RETRIABLE: [i16; 3] = [14, 15, 16];
const DEADLINE: Duration = Duration::from_secs(30);

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// A heartbeat at `version` (0 or 1), answered past coordinator loading.
fn beat(
    c: &mut Client,
    version: i16,
    req: &ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    eventually("a heartbeat answer", DEADLINE, || {
        let r: ConsumerGroupHeartbeatResponse =
            c.call(ApiKey::ConsumerGroupHeartbeat, version, req);
        (!RETRIABLE.contains(&r.error_code)).then_some(r)
    })
}

/// A first heartbeat subscribing to `topics`.
fn join_req(group: &str, member_id: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member_id))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| topic(t)).collect()))
        .with_topic_partitions(Some(Vec::new()))
}

/// A steady heartbeat reporting `owned` partitions of topic `id`.
fn steady_req(
    group: &str,
    member_id: &str,
    epoch: i32,
    id: uuid::Uuid,
    owned: &[i32],
) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member_id))
        .with_member_epoch(epoch)
        .with_rebalance_timeout_ms(-1)
        .with_topic_partitions(Some(vec![
            TopicPartitions::default()
                .with_topic_id(id)
                .with_partitions(owned.to_vec()),
        ]))
}

/// The partitions of the answer's assignment (`None`: no assignment sent).
fn assigned(r: &ConsumerGroupHeartbeatResponse) -> Option<Vec<i32>> {
    r.assignment.as_ref().map(|a| {
        let mut ps: Vec<i32> = a
            .topic_partitions
            .iter()
            .flat_map(|t| t.partitions.clone())
            .collect();
        ps.sort();
        ps
    })
}

fn topic_id(c: &mut Client, name: &str) -> uuid::Uuid {
    metadata(c, Some(&[name]), false).topics[0].topic_id
}

fn describe(c: &mut Client, group: &str) -> consumer_group_describe_response::DescribedGroup {
    let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))]);
    let r: ConsumerGroupDescribeResponse = c.call(ApiKey::ConsumerGroupDescribe, 1, &req);
    r.groups.into_iter().next().expect("one group")
}

/// Two members, a (v0, id made by the broker) and b (v1, its own id), reconciled over a
/// two-partition topic; returns (a's id, a's partition, b's partition, the topic id).
fn two_members(c: &mut Client, group: &str, name: &str) -> (String, i32, i32, uuid::Uuid) {
    assert_eq!(create_topic(c, name, 2), NONE);
    let id = topic_id(c, name);
    let a = beat(c, 0, &join_req(group, "", &[name]));
    assert_eq!(a.error_code, NONE, "{:?}", a.error_message);
    let a_id = a.member_id.clone().expect("a member id").to_string();
    assert!(!a_id.is_empty());
    assert_eq!((a.member_epoch, assigned(&a)), (1, Some(vec![0, 1])));
    let b = beat(c, 1, &join_req(group, "b-1", &[name]));
    assert_eq!(
        b.member_id.as_deref(),
        Some("b-1"),
        "v1 keeps the client's id"
    );
    assert_eq!(
        (b.member_epoch, assigned(&b)),
        (2, Some(vec![])),
        "a still holds both"
    );
    let a = beat(c, 0, &steady_req(group, &a_id, 1, id, &[0, 1]));
    assert_eq!(a.member_epoch, 1, "a keeps its epoch until it revokes");
    let kept = assigned(&a).expect("a's reduced assignment");
    assert_eq!(kept.len(), 1);
    let a = beat(c, 0, &steady_req(group, &a_id, 1, id, &kept));
    assert_eq!((a.member_epoch, assigned(&a)), (2, None));
    let b = beat(c, 1, &steady_req(group, "b-1", 2, id, &[]));
    let taken = assigned(&b).expect("b's partition");
    assert_eq!(taken.len(), 1);
    assert_ne!(taken, kept);
    (a_id, kept[0], taken[0], id)
}

#[test]
fn heartbeats_hand_partitions_over_by_member_epoch_and_admin_apis_show_the_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    let (a_id, a_part, b_part, _) = two_members(&mut c, "g1", "t1");

    let g = describe(&mut c, "g1");
    assert_eq!(g.error_code, NONE);
    assert_eq!(g.group_state.as_str(), "Stable");
    assert_eq!((g.group_epoch, g.assignment_epoch), (2, 2));
    assert_eq!(g.assignor_name.as_str(), "uniform");
    let mut members: Vec<(String, i32, Vec<i32>)> = (g.members.iter())
        .map(|m| {
            assert_eq!(m.assignment, m.target_assignment, "reconciled");
            assert_eq!(m.assignment.topic_partitions[0].topic_name.0.as_str(), "t1");
            assert_eq!(m.member_type, 1, "a consumer-protocol member");
            let ps = m.assignment.topic_partitions[0].partitions.clone();
            (m.member_id.to_string(), m.member_epoch, ps)
        })
        .collect();
    members.sort();
    let mut expected = vec![
        (a_id.clone(), 2, vec![a_part]),
        ("b-1".to_owned(), 2, vec![b_part]),
    ];
    expected.sort();
    assert_eq!(members, expected);

    let list = |c: &mut Client, types: &[&str]| -> Vec<(String, String, String, String)> {
        let f = |v: &StrBytes| v.to_string();
        (list_groups(c, types).iter())
            .map(|g| {
                (
                    f(&g.group_id.0),
                    f(&g.protocol_type),
                    f(&g.group_state),
                    f(&g.group_type),
                )
            })
            .collect()
    };
    let consumer = (
        "g1".into(),
        "consumer".into(),
        "Stable".into(),
        "consumer".into(),
    );
    assert_eq!(list(&mut c, &[]), vec![consumer.clone()]);
    assert_eq!(list(&mut c, &["Consumer"]), vec![consumer]);
    assert_eq!(list(&mut c, &["classic"]), vec![]);
    let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g1"))]);
    let r: DescribeGroupsResponse = c.call(ApiKey::DescribeGroups, 5, &req);
    assert_eq!(
        r.groups[0].group_state.as_str(),
        "Dead",
        "the classic API does not describe it"
    );
    let missing = describe(&mut c, "nobody");
    assert_eq!(missing.error_code, GROUP_ID_NOT_FOUND);

    let left = beat(
        &mut c,
        0,
        &steady_req("g1", &a_id, -1, uuid::Uuid::nil(), &[]),
    );
    assert_eq!((left.error_code, left.member_epoch), (NONE, -1));
    let g = describe(&mut c, "g1");
    assert_eq!(
        (g.group_epoch, g.members.len()),
        (3, 1),
        "a's leave bumped the epoch"
    );
}

/// ListGroups v5 with a types filter, once every coordinator partition has loaded.
fn list_groups(c: &mut Client, types: &[&str]) -> Vec<list_groups_response::ListedGroup> {
    let req = ListGroupsRequest::default().with_types_filter(types.iter().map(|t| s(t)).collect());
    eventually("a ListGroups answer", DEADLINE, || {
        let r: ListGroupsResponse = c.call(ApiKey::ListGroups, 5, &req);
        (!RETRIABLE.contains(&r.error_code)).then_some(r.groups)
    })
}

fn commit_req(
    group: &str,
    member: &str,
    epoch: i32,
    name: &str,
    partition: i32,
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_generation_id_or_member_epoch(epoch)
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic(name))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(partition)
                        .with_committed_offset(7),
                ]),
        ])
}

fn commit_code(c: &mut Client, version: i16, req: &OffsetCommitRequest) -> i16 {
    let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, version, req);
    r.topics[0].partitions[0].error_code
}

fn fetch_code(c: &mut Client, group: &str, member: Option<&str>, epoch: i32) -> (i16, Vec<i64>) {
    let req = OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_member_id(member.map(s))
            .with_member_epoch(epoch)
            .with_topics(None),
    ]);
    let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 9, &req);
    let g = &r.groups[0];
    let offsets = g
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.committed_offset))
        .collect();
    (g.error_code, offsets)
}

#[test]
fn offsets_are_committed_and_fetched_with_the_current_member_epoch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    let (a_id, a_part, _, _) = two_members(&mut c, "g2", "t2");
    assert_eq!(
        commit_code(&mut c, 9, &commit_req("g2", &a_id, 1, "t2", a_part)),
        STALE_MEMBER_EPOCH
    );
    assert_eq!(
        commit_code(&mut c, 9, &commit_req("g2", "who", 2, "t2", a_part)),
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        commit_code(&mut c, 8, &commit_req("g2", &a_id, 2, "t2", a_part)),
        UNSUPPORTED_VERSION,
        "a consumer-protocol member commits with version 9"
    );
    assert_eq!(
        commit_code(&mut c, 9, &commit_req("g2", "", -1, "t2", a_part)),
        UNKNOWN_MEMBER_ID,
        "no admin commit while the group has members"
    );
    assert_eq!(
        commit_code(&mut c, 9, &commit_req("g2", &a_id, 2, "t2", a_part)),
        NONE
    );
    assert_eq!(fetch_code(&mut c, "g2", Some(&a_id), 2), (NONE, vec![7]));
    assert_eq!(
        fetch_code(&mut c, "g2", Some(&a_id), 1).0,
        STALE_MEMBER_EPOCH
    );
    assert_eq!(
        fetch_code(&mut c, "g2", Some("who"), 2).0,
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        fetch_code(&mut c, "g2", None, -1),
        (NONE, vec![7]),
        "an admin reads"
    );
}

#[test]
fn bad_heartbeats_get_kafkas_errors_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    let (a_id, a_part, _, id) = two_members(&mut c, "g3", "t3");
    let before = describe(&mut c, "g3");
    let code =
        |c: &mut Client, v: i16, req: ConsumerGroupHeartbeatRequest| beat(c, v, &req).error_code;
    let bad: Vec<(&str, i16, ConsumerGroupHeartbeatRequest, i16)> = vec![
        (
            "empty group id",
            0,
            join_req("", "", &["t3"]),
            INVALID_REQUEST,
        ),
        (
            "no subscription on join",
            0,
            join_req("g3", "", &["t3"]).with_subscribed_topic_names(None),
            INVALID_REQUEST,
        ),
        (
            "owned partitions on join",
            0,
            join_req("g3", "", &["t3"]).with_topic_partitions(None),
            INVALID_REQUEST,
        ),
        (
            "no rebalance timeout on join",
            0,
            join_req("g3", "", &["t3"]).with_rebalance_timeout_ms(-1),
            INVALID_REQUEST,
        ),
        (
            "v1 without a member id",
            1,
            join_req("g3", "", &["t3"]),
            INVALID_REQUEST,
        ),
        (
            "epoch below -2",
            0,
            steady_req("g3", &a_id, -3, id, &[]),
            INVALID_REQUEST,
        ),
        (
            "static leave without instance",
            0,
            steady_req("g3", &a_id, -2, id, &[]),
            INVALID_REQUEST,
        ),
        (
            "blank instance id",
            0,
            join_req("g3", "x", &["t3"]).with_instance_id(Some(s(" "))),
            INVALID_REQUEST,
        ),
        (
            "unknown assignor",
            0,
            join_req("g3", "x", &["t3"]).with_server_assignor(Some(s("sticky"))),
            UNSUPPORTED_ASSIGNOR,
        ),
        (
            "unknown member",
            0,
            steady_req("g3", "ghost", 2, id, &[]),
            UNKNOWN_MEMBER_ID,
        ),
        (
            "future epoch",
            0,
            steady_req("g3", &a_id, 9, id, &[a_part]),
            FENCED_MEMBER_EPOCH,
        ),
        (
            "stale epoch owning more",
            0,
            steady_req("g3", &a_id, 1, id, &[0, 1]),
            FENCED_MEMBER_EPOCH,
        ),
        (
            "no such group",
            0,
            steady_req("nothere", &a_id, 2, id, &[]),
            GROUP_ID_NOT_FOUND,
        ),
        (
            "regex",
            1,
            join_req("g3", "y", &["t3"]).with_subscribed_topic_regex(Some(s("t("))),
            INVALID_REGULAR_EXPRESSION,
        ),
    ];
    for (what, version, req, expected) in bad {
        assert_eq!(code(&mut c, version, req), expected, "{what}");
    }
    let after = describe(&mut c, "g3");
    assert_eq!(
        (after.group_epoch, after.members.len()),
        (before.group_epoch, before.members.len())
    );
    assert_eq!(after.group_state.as_str(), "Stable");
}

#[test]
fn empty_groups_switch_protocols_and_unreadable_members_block_a_migration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--group-initial-rebalance-delay-ms", "0"]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t4", 1), NONE);
    let classic_join = |c: &mut Client, group: &str| -> JoinGroupResponse {
        let req = JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"sub")),
            ]);
        eventually("a JoinGroup answer", DEADLINE, || {
            let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, 3, &req);
            (!RETRIABLE.contains(&r.error_code)).then_some(r)
        })
    };
    // A classic group whose member's metadata is no consumer subscription cannot migrate.
    assert_eq!(classic_join(&mut c, "mixed").error_code, NONE);
    assert_eq!(
        beat(&mut c, 1, &join_req("mixed", "m-1", &["t4"])).error_code,
        GROUP_ID_NOT_FOUND
    );
    // Nor can such a member join a consumer group with members; once empty it turns classic.
    let m = beat(&mut c, 1, &join_req("modern", "m-1", &["t4"]));
    assert_eq!(m.error_code, NONE);
    assert_eq!(
        classic_join(&mut c, "modern").error_code,
        INCONSISTENT_GROUP_PROTOCOL
    );
    let id = topic_id(&mut c, "t4");
    assert_eq!(
        beat(&mut c, 1, &steady_req("modern", "m-1", -1, id, &[])).error_code,
        NONE
    );
    assert_eq!(classic_join(&mut c, "modern").error_code, NONE);
    let listed = list_groups(&mut c, &[]);
    let modern = (listed.iter())
        .find(|g| g.group_id.0.as_str() == "modern")
        .expect("listed");
    assert_eq!(modern.group_type.as_str(), "classic");
}

#[test]
fn a_silent_member_is_removed_after_its_session_and_its_partitions_move() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "--group-consumer-session-timeout-ms",
        "1000",
        "--group-consumer-heartbeat-interval-ms",
        "100",
    ];
    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let (a_id, a_part, b_part, id) = two_members(&mut c, "g5", "t5");
    // b stops heartbeating; a keeps going and, once b's session ends, gets b's partition too.
    let all = eventually("a to own both partitions", DEADLINE, || {
        let g = describe(&mut c, "g5");
        let epoch = g
            .members
            .iter()
            .find(|m| m.member_id.as_str() == a_id)
            .map(|m| m.member_epoch)?;
        let r = beat(&mut c, 0, &steady_req("g5", &a_id, epoch, id, &[a_part]));
        assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
        std::thread::sleep(Duration::from_millis(100));
        (assigned(&r).is_some_and(|ps| ps.contains(&b_part))).then_some(r)
    });
    assert_eq!(assigned(&all), Some(vec![0, 1]));
    assert_eq!(describe(&mut c, "g5").members.len(), 1);
}

#[test]
fn a_consumer_group_and_its_member_epochs_survive_a_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["--fsync", "always"];
    let mut broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let (a_id, a_part, _, id) = two_members(&mut c, "g6", "t6");
    let before = describe(&mut c, "g6");
    drop(c);
    broker.kill9();
    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    let r = beat(&mut c, 0, &steady_req("g6", &a_id, 2, id, &[a_part]));
    assert_eq!(
        (r.error_code, r.member_epoch),
        (NONE, 2),
        "a goes on at its epoch"
    );
    assert_eq!(assigned(&r), None, "nothing changed for a");
    let after = describe(&mut c, "g6");
    assert_eq!(
        (after.group_epoch, after.assignment_epoch),
        (before.group_epoch, before.assignment_epoch)
    );
    let ids = |g: &consumer_group_describe_response::DescribedGroup| {
        let mut v: Vec<String> = g.members.iter().map(|m| m.member_id.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&after), ids(&before));
}

#[test]
fn a_regex_subscription_follows_topics_created_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "rx-a", 1), NONE);
    assert_eq!(create_topic(&mut c, "other", 1), NONE);
    let join = join_req("g7", "r-1", &[]).with_subscribed_topic_regex(Some(s("rx-.*")));
    let r = beat(&mut c, 1, &join);
    assert_eq!(
        (r.error_code, r.member_epoch),
        (NONE, 1),
        "{:?}",
        r.error_message
    );
    let a = topic_id(&mut c, "rx-a");
    let topics = |r: &ConsumerGroupHeartbeatResponse| {
        let mut ids: Vec<uuid::Uuid> = (r.assignment.iter())
            .flat_map(|a| a.topic_partitions.iter().map(|t| t.topic_id))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(topics(&r), vec![a]);
    assert_eq!(create_topic(&mut c, "rx-b", 1), NONE);
    let b = topic_id(&mut c, "rx-b");
    let owned = steady_req("g7", "r-1", 1, a, &[0]);
    let r = beat(&mut c, 1, &owned);
    let mut both = vec![a, b];
    both.sort();
    assert_eq!((r.member_epoch, topics(&r)), (2, both));
    let g = describe(&mut c, "g7");
    assert_eq!(
        g.members[0].subscribed_topic_regex.as_deref(),
        Some("rx-.*")
    );
}
