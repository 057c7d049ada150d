//! SCRAM credentials through a real meta node: the AlterScramCredentials and
//! DescribeScramCredentials calls, and credentials surviving snapshots and restarts.

use chronik_auth::ScramMechanism::{Sha256, Sha512};
use chronik_auth::{ScramCredential, ScramMechanism};

use super::tests::{WAIT, leader_of};
use super::{MetaNode, NodeConfig, stored_voters};
use crate::grpc::pb::{
    AlterScramCredentialsRequest, DescribeScramCredentialsRequest, ScramCredentialAlteration,
    ScramCredentialDeletion, scram_credential_alteration::Alteration,
};
use crate::grpc::{connect, scram_alteration_request};
use crate::{ErrorKind, ScramAlteration};

fn upsert(user: &str, mechanism: ScramMechanism, iterations: u32) -> ScramAlteration {
    ScramAlteration::Upsert {
        user: user.into(),
        credential: ScramCredential::from_password(mechanism, b"pw", b"salt", iterations)
            .expect("valid"),
    }
}

fn delete(user: &str, mechanism: ScramMechanism) -> ScramAlteration {
    ScramAlteration::Delete {
        user: user.into(),
        mechanism,
    }
}

async fn start(dir: &std::path::Path, snapshot_entries: u64) -> MetaNode {
    let listen = "127.0.0.1:0".parse().expect("addr");
    let mut cfg = NodeConfig::new(1, listen, dir.to_path_buf());
    cfg.snapshot_entries = snapshot_entries;
    let node = MetaNode::start(cfg).await.expect("start");
    leader_of(std::slice::from_ref(&node)).await;
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rpc_answers_each_alteration_and_describes_without_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = start(dir.path(), 10_000).await;
    let mut client = connect(&node.local_addr().to_string(), None, WAIT)
        .await
        .expect("connect");
    let unknown_mechanism = ScramCredentialAlteration {
        alteration: Some(Alteration::Deletion(ScramCredentialDeletion {
            user: "alice".into(),
            mechanism: 7,
        })),
    };
    let mut few = upsert("carol", Sha256, 4096);
    if let ScramAlteration::Upsert { credential, .. } = &mut few {
        credential.iterations = 100;
    }
    let request = AlterScramCredentialsRequest {
        alterations: vec![
            scram_alteration_request(&upsert("alice", Sha256, 4096)),
            scram_alteration_request(&upsert("alice", Sha512, 8192)),
            scram_alteration_request(&delete("bob", Sha256)),
            unknown_mechanism,
            scram_alteration_request(&few),
        ],
    };
    let results = (client.alter_scram_credentials(request).await)
        .expect("answered")
        .into_inner()
        .results;
    let kinds: Vec<(String, ErrorKind)> = (results.iter())
        .map(|r| (r.name.clone(), ErrorKind::try_from(r.error).expect("known")))
        .collect();
    assert_eq!(
        kinds,
        [
            ("alice (SCRAM-SHA-256)".into(), ErrorKind::None),
            ("alice (SCRAM-SHA-512)".into(), ErrorKind::None),
            ("bob (SCRAM-SHA-256)".into(), ErrorKind::ResourceNotFound),
            (
                "alice (mechanism 7)".into(),
                ErrorKind::UnsupportedSaslMechanism
            ),
            (
                "carol (SCRAM-SHA-256)".into(),
                ErrorKind::UnacceptableCredential
            ),
        ]
    );
    assert!(results[2].error_message.contains("bob"), "{:?}", results[2]);

    let described = (client.describe_scram_credentials(DescribeScramCredentialsRequest {
        users: vec!["alice".into(), "nobody".into()],
    }))
    .await
    .expect("described")
    .into_inner()
    .users;
    assert_eq!(described.len(), 1, "{described:?}");
    let infos: Vec<(i32, u32)> = (described[0].credentials.iter())
        .map(|c| (c.mechanism, c.iterations))
        .collect();
    assert_eq!(infos, [(1, 4096), (2, 8192)]);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_survive_snapshots_and_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A snapshot every 3 entries: the credentials below end up in snapshots, not the log.
    let node = start(dir.path(), 3).await;
    let alterations = [
        upsert("alice", Sha256, 4096),
        upsert("alice", Sha512, 8192),
        upsert("bob", Sha256, 4096),
        upsert("carol", Sha512, 16384),
        delete("bob", Sha256),
        upsert("alice", Sha256, 5000),
    ];
    for a in &alterations {
        node.alter_scram_credential(a).await.expect("applied");
    }
    let before = node.state().metadata(|s| s.scram_credentials().clone());
    node.shutdown().await;
    drop(node);

    assert_eq!(stored_voters(dir.path()).expect("read offline"), [1]);
    let node = start(dir.path(), 3).await;
    let after = node.state().metadata(|s| s.scram_credentials().clone());
    assert_eq!(after, before);
    let alice = after.get("alice", Sha256).expect("alice");
    assert_eq!(alice.iterations, 5000);
    assert!(after.get("bob", Sha256).is_none());
    // A running node holds the dir: an offline read is refused.
    assert!(stored_voters(dir.path()).is_err());
    node.shutdown().await;
}
