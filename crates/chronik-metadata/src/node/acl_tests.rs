//! ACLs through a real meta node: the CreateAcls and DeleteAcls calls, and ACLs surviving
//! snapshots and restarts.

use chronik_auth::acl::{AclBinding, AclFilter, Operation, PatternFilter, ResourceType};

use super::tests::{WAIT, leader_of};
use super::{MetaNode, NodeConfig};
use crate::ErrorKind;
use crate::grpc::pb::{CreateAclsRequest, DeleteAclsRequest};
use crate::grpc::{acl_binding, acl_binding_message, acl_filter_message, connect};
use crate::testing::topic_acl;

async fn start(dir: &std::path::Path, snapshot_entries: u64) -> MetaNode {
    let listen = "127.0.0.1:0".parse().expect("addr");
    let mut cfg = NodeConfig::new(1, listen, dir.to_path_buf());
    cfg.snapshot_entries = snapshot_entries;
    let node = MetaNode::start(cfg).await.expect("start");
    leader_of(std::slice::from_ref(&node)).await;
    node
}

fn topics(principal: Option<&str>) -> AclFilter {
    AclFilter {
        resource_type: Some(ResourceType::Topic),
        resource_name: None,
        pattern: PatternFilter::Any,
        principal: principal.map(Into::into),
        host: None,
        operation: None,
        permission: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rpcs_create_and_delete_acls_per_item() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = start(dir.path(), 10_000).await;
    let mut client = connect(&node.local_addr().to_string(), None, WAIT)
        .await
        .expect("connect");
    let mut bad_code = acl_binding_message(&topic_acl("orders", "User:alice"));
    bad_code.operation = 1;
    let request = CreateAclsRequest {
        acls: vec![
            acl_binding_message(&topic_acl("orders", "User:alice")),
            acl_binding_message(&topic_acl("orders", "User:alice")),
            acl_binding_message(&topic_acl("payments", "User:bob")),
            acl_binding_message(&topic_acl("orders", "alice")),
            bad_code,
        ],
    };
    let results = (client.create_acls(request).await)
        .expect("answered")
        .into_inner()
        .results;
    let kinds: Vec<ErrorKind> = (results.iter())
        .map(|r| ErrorKind::try_from(r.error).expect("known"))
        .collect();
    use ErrorKind::InvalidRequest;
    let ok = ErrorKind::None;
    assert_eq!(kinds, [ok, ok, ok, InvalidRequest, InvalidRequest]);
    assert!(results[3].error_message.contains("User:"), "{results:?}");
    assert!(
        results[4].error_message.contains("operation"),
        "{results:?}"
    );
    assert_eq!(node.state().metadata(|s| s.acls().len()), 2);

    let mut unknown = acl_filter_message(&topics(None));
    unknown.pattern_type = 9;
    let request = DeleteAclsRequest {
        filters: vec![
            acl_filter_message(&topics(Some("User:alice"))),
            unknown,
            acl_filter_message(&topics(None)),
        ],
    };
    let results = (client.delete_acls(request).await)
        .expect("answered")
        .into_inner()
        .results;
    let deleted = |i: usize| -> Vec<AclBinding> {
        (results[i].deleted.iter())
            .map(|m| acl_binding(m).expect("valid"))
            .collect()
    };
    assert_eq!(deleted(0), [topic_acl("orders", "User:alice")]);
    let refused = results[1].result.as_ref().expect("result");
    assert_eq!(refused.error(), InvalidRequest, "{refused:?}");
    assert!(deleted(1).is_empty());
    // The same state answers every filter: alice's ACL shows under both that match it.
    assert_eq!(
        deleted(2),
        [
            topic_acl("orders", "User:alice"),
            topic_acl("payments", "User:bob")
        ]
    );
    assert!(node.state().metadata(|s| s.acls().is_empty()));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_survive_snapshots_and_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A snapshot every 3 entries: the ACLs below end up in snapshots, not only the log.
    let node = start(dir.path(), 3).await;
    let mut write = topic_acl("orders", "User:carol");
    write.operation = Operation::Write;
    let acls = [
        topic_acl("orders", "User:alice"),
        topic_acl("payments", "User:bob"),
        write.clone(),
        topic_acl("audit", "User:dave"),
        topic_acl("zeta", "User:erin"),
    ];
    for acl in &acls {
        node.create_acl(acl).await.expect("created");
    }
    let matched = (node.delete_acls(&[topics(Some("User:dave"))]))
        .await
        .expect("deleted");
    assert_eq!(matched, [vec![topic_acl("audit", "User:dave")]]);
    let before = node.state().metadata(|s| s.acls().to_vec());
    assert_eq!(before.len(), 4);
    node.shutdown().await;
    drop(node);

    let node = start(dir.path(), 3).await;
    let after = node.state().metadata(|s| s.acls().to_vec());
    assert_eq!(after, before);
    assert!(after.contains(&write));
    node.shutdown().await;
}
