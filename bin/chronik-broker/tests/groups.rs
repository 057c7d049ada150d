//! Consumer groups against the real binary: the join/sync/heartbeat protocol, offset commits,
//! the admin APIs, and offsets plus membership surviving SIGTERM and SIGKILL restarts.

mod common;

use std::time::Duration;

use bytes::Bytes;
use chronik_kafka::kafka_protocol::messages::*;
use chronik_kafka::kafka_protocol::protocol::StrBytes;
use chronik_records::build_batch;
use common::ops::*;
use common::{BrokerProc, Client, eventually};

const NONE: i16 = 0;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC: i16 = 17;
const INVALID_REQUEST: i16 = 42;
const MEMBER_ID_REQUIRED: i16 = 79;
const NON_EMPTY_GROUP: i16 = 68;
const INVALID_GROUP_ID: i16 = 24;
const TOPIC_ALREADY_EXISTS: i16 = 36;
/// Errors a client retries: the coordinator is loading or not there yet.
const RETRIABLE: [i16; 3] = [14, 15, 16];
const DEADLINE: Duration = Duration::from_secs(30);

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

fn find_coordinator(c: &mut Client, group: &str) -> i32 {
    eventually("a coordinator", DEADLINE, || {
        let req = FindCoordinatorRequest::default().with_key(s(group));
        let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 3, &req);
        (r.error_code == NONE).then_some(r.node_id.0)
    })
}

/// JoinGroup v5 through MEMBER_ID_REQUIRED and coordinator loading; returns the answer.
fn join(c: &mut Client, group: &str, member_id: &str) -> JoinGroupResponse {
    let mut member = member_id.to_owned();
    eventually("a JoinGroup answer", DEADLINE, || {
        let req = JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(20_000)
            .with_member_id(s(&member))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"subscription")),
            ]);
        let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, 5, &req);
        match r.error_code {
            MEMBER_ID_REQUIRED => {
                member = r.member_id.to_string();
                None
            }
            code if RETRIABLE.contains(&code) => None,
            _ => Some(r),
        }
    })
}

fn sync(
    c: &mut Client,
    group: &str,
    member: &str,
    generation: i32,
    assign: &[(&str, &[u8])],
) -> SyncGroupResponse {
    let assignments = (assign.iter())
        .map(|(m, a)| {
            sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(s(m))
                .with_assignment(Bytes::copy_from_slice(a))
        })
        .collect();
    let req = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_assignments(assignments);
    c.call(ApiKey::SyncGroup, 3, &req)
}

fn heartbeat(c: &mut Client, group: &str, member: &str, generation: i32) -> i16 {
    let req = HeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(generation)
        .with_member_id(s(member));
    let r: HeartbeatResponse = c.call(ApiKey::Heartbeat, 3, &req);
    r.error_code
}

fn commit(
    c: &mut Client,
    group: &str,
    member: &str,
    generation: i32,
    topic_name: &str,
    offsets: &[(i32, i64)],
) -> Vec<i16> {
    let partitions = (offsets.iter())
        .map(|(p, o)| {
            offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*o)
                .with_committed_metadata(Some(s("meta")))
        })
        .collect();
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic(topic_name))
                .with_partitions(partitions),
        ]);
    let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &req);
    r.topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect()
}

/// Committed offsets of `partitions` (OffsetFetch v5), waiting out coordinator loading.
fn fetch_offsets(c: &mut Client, group: &str, topic_name: &str, partitions: &[i32]) -> Vec<i64> {
    eventually("committed offsets", DEADLINE, || {
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopic::default()
                    .with_name(topic(topic_name))
                    .with_partition_indexes(partitions.to_vec()),
            ]));
        let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 5, &req);
        if RETRIABLE.contains(&r.error_code) {
            return None;
        }
        assert_eq!(r.error_code, NONE);
        Some(
            r.topics[0]
                .partitions
                .iter()
                .map(|p| p.committed_offset)
                .collect(),
        )
    })
}

fn describe(c: &mut Client, group: &str) -> describe_groups_response::DescribedGroup {
    let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]);
    let mut r: DescribeGroupsResponse = c.call(ApiKey::DescribeGroups, 5, &req);
    r.groups.remove(0)
}

fn leave(c: &mut Client, group: &str, members: &[&str]) -> Vec<i16> {
    let identities = (members.iter())
        .map(|m| leave_group_request::MemberIdentity::default().with_member_id(s(m)))
        .collect();
    let req = LeaveGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_members(identities);
    let r: LeaveGroupResponse = c.call(ApiKey::LeaveGroup, 4, &req);
    assert_eq!(r.error_code, NONE);
    r.members.iter().map(|m| m.error_code).collect()
}

fn delete_group(c: &mut Client, group: &str) -> i16 {
    let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(group))]);
    let r: DeleteGroupsResponse = c.call(ApiKey::DeleteGroups, 2, &req);
    r.results[0].error_code
}

#[test]
fn two_members_rebalance_commit_and_administer_a_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &["--fsync", "always"]);
    let mut a = broker.client();
    assert_eq!(create_topic(&mut a, "t", 2), NONE);
    assert_eq!(find_coordinator(&mut a, "g1"), 1);
    let batched = FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g1"), s("g2")]);
    let r: FindCoordinatorResponse = a.call(ApiKey::FindCoordinator, 4, &batched);
    assert!(
        r.coordinators
            .iter()
            .all(|c| c.error_code == NONE && c.node_id.0 == 1),
        "{r:?}"
    );
    let txn = FindCoordinatorRequest::default()
        .with_key(s("tx"))
        .with_key_type(1);
    let r: FindCoordinatorResponse = a.call(ApiKey::FindCoordinator, 3, &txn);
    assert_eq!(
        (r.error_code, r.node_id.0),
        (NONE, 1),
        "the transaction coordinator"
    );
    let unknown = FindCoordinatorRequest::default()
        .with_key(s("tx"))
        .with_key_type(2);
    let r: FindCoordinatorResponse = a.call(ApiKey::FindCoordinator, 3, &unknown);
    assert_eq!(r.error_code, INVALID_REQUEST, "no such key type");

    let ja = join(&mut a, "g1", "");
    assert_eq!((ja.error_code, ja.generation_id), (NONE, 1));
    let a_id = ja.member_id.to_string();
    assert_eq!(ja.leader.as_str(), a_id, "the only member leads");
    let sa = sync(&mut a, "g1", &a_id, 1, &[(&a_id, b"all")]);
    assert_eq!((sa.error_code, &sa.assignment[..]), (NONE, &b"all"[..]));
    assert_eq!(heartbeat(&mut a, "g1", &a_id, 1), NONE);

    // A second member joins from another connection: its join is held until a rejoins.
    let addr = broker.addr;
    let second = std::thread::spawn(move || {
        let mut b = Client::connect(addr);
        let jb = join(&mut b, "g1", "");
        let b_id = jb.member_id.to_string();
        let sb = sync(&mut b, "g1", &b_id, jb.generation_id, &[]);
        (jb, sb)
    });
    eventually("a rebalance", DEADLINE, || {
        (heartbeat(&mut a, "g1", &a_id, 1) == REBALANCE_IN_PROGRESS).then_some(())
    });
    let ja = join(&mut a, "g1", &a_id);
    assert_eq!(
        (ja.error_code, ja.generation_id, ja.members.len()),
        (NONE, 2, 2)
    );
    let b_id = (ja.members.iter())
        .map(|m| m.member_id.to_string())
        .find(|m| *m != a_id)
        .expect("the other member");
    let sa = sync(&mut a, "g1", &a_id, 2, &[(&a_id, b"p0"), (&b_id, b"p1")]);
    assert_eq!(&sa.assignment[..], b"p0");
    let (jb, sb) = second.join().expect("second member");
    assert_eq!((jb.generation_id, jb.leader.as_str()), (2, a_id.as_str()));
    assert_eq!((sb.error_code, &sb.assignment[..]), (NONE, &b"p1"[..]));

    assert_eq!(
        commit(&mut a, "g1", &a_id, 2, "t", &[(0, 5), (1, 7)]),
        vec![NONE, NONE]
    );
    assert_eq!(
        commit(&mut a, "g1", &a_id, 1, "t", &[(0, 9)]),
        vec![ILLEGAL_GENERATION]
    );
    assert_eq!(
        commit(&mut a, "g1", "nobody", 2, "t", &[(0, 9)]),
        vec![UNKNOWN_MEMBER_ID]
    );
    assert_eq!(
        commit(&mut a, "g1", &a_id, 2, "t", &[(9, 1)]),
        vec![UNKNOWN_TOPIC_OR_PARTITION]
    );
    assert_eq!(fetch_offsets(&mut a, "g1", "t", &[0, 1]), vec![5, 7]);
    let all = OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("g1")))
            .with_topics(None),
    ]);
    let r: OffsetFetchResponse = a.call(ApiKey::OffsetFetch, 8, &all);
    let parts = &r.groups[0].topics[0].partitions;
    assert_eq!(
        parts.iter().map(|p| p.committed_offset).collect::<Vec<_>>(),
        vec![5, 7]
    );

    let d = describe(&mut a, "g1");
    assert_eq!(
        (d.error_code, d.group_state.as_str(), d.members.len()),
        (NONE, "Stable", 2)
    );
    assert_eq!(d.protocol_data.as_str(), "range");
    let list = ListGroupsRequest::default().with_states_filter(vec![s("Stable")]);
    let r: ListGroupsResponse = a.call(ApiKey::ListGroups, 4, &list);
    assert!(
        r.groups.iter().any(|g| g.group_id.0.as_str() == "g1"),
        "{r:?}"
    );
    assert_eq!(delete_group(&mut a, "g1"), NON_EMPTY_GROUP);

    assert_eq!(leave(&mut a, "g1", &[&a_id, &b_id]), vec![NONE, NONE]);
    eventually("an empty group", DEADLINE, || {
        (describe(&mut a, "g1").group_state.as_str() == "Empty").then_some(())
    });
    assert_eq!(delete_group(&mut a, "g1"), NONE);
    assert_eq!(fetch_offsets(&mut a, "g1", "t", &[0, 1]), vec![-1, -1]);

    let p = produce(&mut a, "__consumer_offsets", 0, build_batch(&[b"x"], 1));
    assert_eq!(
        p.error_code, INVALID_TOPIC,
        "clients cannot write the offsets topic"
    );
    let md = metadata(&mut a, Some(&["__consumer_offsets"]), false);
    assert!(md.topics[0].is_internal);
}

#[test]
fn offsets_and_membership_survive_sigterm_and_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["--fsync", "always"];
    let mut broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    assert_eq!(create_topic(&mut c, "t", 3), NONE);
    find_coordinator(&mut c, "durable");
    let j = join(&mut c, "durable", "");
    let id = j.member_id.to_string();
    assert_eq!(
        sync(&mut c, "durable", &id, j.generation_id, &[(&id, b"mine")]).error_code,
        NONE
    );
    assert_eq!(
        commit(
            &mut c,
            "durable",
            &id,
            j.generation_id,
            "t",
            &[(0, 10), (1, 20)]
        ),
        vec![NONE, NONE]
    );
    // A simple consumer (no membership, generation -1) commits into its own group, whose
    // partition of the offsets topic may still be loading (a retriable answer).
    let simple = eventually("the simple group's commit", DEADLINE, || {
        let codes = commit(&mut c, "simple", "", -1, "t", &[(2, 3)]);
        (codes != [COORDINATOR_LOAD_IN_PROGRESS]).then_some(codes)
    });
    assert_eq!(simple, vec![NONE]);
    drop(c);
    assert!(broker.terminate().success(), "SIGTERM exits 0");

    let mut broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    find_coordinator(&mut c, "durable");
    assert_eq!(
        fetch_offsets(&mut c, "durable", "t", &[0, 1, 2]),
        vec![10, 20, -1]
    );
    assert_eq!(fetch_offsets(&mut c, "simple", "t", &[2]), vec![3]);
    let d = describe(&mut c, "durable");
    assert_eq!(
        (d.group_state.as_str(), d.members.len()),
        ("Stable", 1),
        "membership restored"
    );
    assert_eq!(&d.members[0].member_assignment[..], b"mine");
    assert_eq!(
        heartbeat(&mut c, "durable", &id, j.generation_id),
        NONE,
        "the member carries on"
    );
    assert_eq!(
        commit(&mut c, "durable", &id, j.generation_id, "t", &[(0, 11)]),
        vec![NONE]
    );
    drop(c);
    broker.kill9();

    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    find_coordinator(&mut c, "durable");
    assert_eq!(
        fetch_offsets(&mut c, "durable", "t", &[0, 1]),
        vec![11, 20],
        "acknowledged commits survive SIGKILL"
    );
}

#[test]
fn a_restart_between_join_and_sync_makes_the_members_rejoin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["--fsync", "always"];
    let mut broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    find_coordinator(&mut c, "midway");
    let j = join(&mut c, "midway", "");
    assert_eq!((j.error_code, j.generation_id), (NONE, 1));
    let id = j.member_id.to_string();
    drop(c);
    assert!(broker.terminate().success(), "SIGTERM exits 0");

    let broker = BrokerProc::start(dir.path(), &args);
    let mut c = broker.client();
    find_coordinator(&mut c, "midway");
    // The generation never got its assignment, so it was never stored: the leader's
    // SyncGroup must not succeed with an empty assignment.
    let s = eventually("a SyncGroup answer", DEADLINE, || {
        let r = sync(&mut c, "midway", &id, 1, &[(&id, b"mine")]);
        (!RETRIABLE.contains(&r.error_code)).then_some(r)
    });
    assert_eq!(s.error_code, UNKNOWN_MEMBER_ID, "the member must rejoin");
    let j = join(&mut c, "midway", "");
    let id = j.member_id.to_string();
    let s = sync(&mut c, "midway", &id, j.generation_id, &[(&id, b"mine")]);
    assert_eq!((s.error_code, &s.assignment[..]), (NONE, &b"mine"[..]));
}

/// A JoinGroup (v6: flexible, so strings may exceed 32 767 bytes) with the given group id and
/// protocol metadata; returns the error code.
fn join_error(c: &mut Client, group: &str, metadata: Bytes) -> i16 {
    eventually("a JoinGroup answer", DEADLINE, || {
        let req = JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(metadata.clone()),
            ]);
        let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, 6, &req);
        (!RETRIABLE.contains(&r.error_code)).then_some(r.error_code)
    })
}

#[test]
fn the_offsets_topic_is_protected_and_oversized_joins_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProc::start(dir.path(), &[]);
    let mut c = broker.client();
    find_coordinator(&mut c, "guard");
    const OFFSETS: &str = "__consumer_offsets";
    assert_eq!(delete_topic(&mut c, OFFSETS), INVALID_REQUEST);
    assert_eq!(create_topic(&mut c, OFFSETS, 1), TOPIC_ALREADY_EXISTS);
    let grow = CreatePartitionsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(topic(OFFSETS))
                .with_count(16),
        ]);
    let grown: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &grow);
    assert_eq!(
        grown.results[0].error_code, INVALID_REQUEST,
        "partition count fixed"
    );
    use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let alter = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(OFFSETS))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(s("retention.ms"))
                    .with_config_operation(0)
                    .with_value(Some(s("1000"))),
            ]),
    ]);
    let r: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, 1, &alter);
    assert_eq!(r.responses[0].error_code, INVALID_REQUEST, "{r:?}");
    let md = metadata(&mut c, Some(&[OFFSETS]), false);
    assert_eq!(
        (md.topics[0].error_code, md.topics[0].partitions.len()),
        (NONE, 8),
        "still there, unchanged"
    );

    let long_group = "g".repeat(40_000);
    let small = Bytes::from_static(b"sub");
    assert_eq!(join_error(&mut c, &long_group, small), INVALID_GROUP_ID);
    let huge = Bytes::from(vec![0u8; 2 * 1024 * 1024]);
    assert_eq!(join_error(&mut c, "guard", huge), INVALID_REQUEST);
    assert_eq!(
        join_error(&mut c, "guard", Bytes::from_static(b"sub")),
        MEMBER_ID_REQUIRED,
        "a normal join still works"
    );
}
