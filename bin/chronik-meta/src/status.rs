//! `chronik-meta status`: asks every given node (and every voter they name) for its view, and
//! combines them. Exit 0 healthy, 1 degraded (a voter down, partitions under-replicated or
//! offline), 2 no quorum or nothing reachable. Unreachable addresses are reported, not fatal.

use std::collections::BTreeMap;
use std::time::Duration;

use chronik_cli::{EXIT_ERROR, EXIT_FOUND, EXIT_OK, OutputFormat};
use chronik_metadata::grpc::pb::{PartitionInfo, StatusResponse};
use chronik_metadata::grpc::{ClusterTls, status_of};
use serde::Serialize;

use crate::cli::StatusArgs;

#[derive(Serialize, Debug)]
pub struct ClusterStatus {
    pub cluster_id: Option<String>,
    pub leader_id: Option<u64>,
    pub term: u64,
    pub healthy: bool,
    pub voters: Vec<VoterStatus>,
    pub brokers: Vec<BrokerStatus>,
    pub topics: u32,
    pub partitions: u32,
    pub under_replicated_partitions: Vec<PartitionStatus>,
    pub offline_partitions: Vec<PartitionStatus>,
    /// Addresses that did not answer.
    pub unreachable: Vec<String>,
    /// Addresses that answered for another cluster id.
    pub foreign: Vec<String>,
    /// Every partition of the topics asked for with `--topic`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topic_partitions: Vec<PartitionStatus>,
}

#[derive(Serialize, Debug)]
pub struct VoterStatus {
    pub id: u64,
    pub address: String,
    pub role: Option<String>,
    pub term: Option<u64>,
    pub commit_index: Option<u64>,
    pub applied_index: Option<u64>,
    /// Index of the voter's latest snapshot (taken or installed).
    pub snapshot_index: Option<u64>,
    /// Snapshots the voter installed from a leader since it started.
    pub snapshots_installed: Option<u64>,
    pub reachable: bool,
}

/// `NAME://host:port`, as `--listeners` spells it (an IPv6 host in brackets).
fn listener(e: &chronik_metadata::grpc::pb::Endpoint) -> String {
    match e.host.contains(':') {
        true => format!("{}://[{}]:{}", e.name, e.host, e.port),
        false => format!("{}://{}:{}", e.name, e.host, e.port),
    }
}

#[derive(Serialize, Debug)]
pub struct BrokerStatus {
    pub id: i32,
    pub address: String,
    pub fenced: bool,
    /// Being retired: its replicas move away, then it is fenced for good.
    pub decommissioning: bool,
    /// Partitions it holds a replica of.
    pub replicas: u32,
    /// Every listener as `NAME://host:port`; clients are named the broker by the one they
    /// connected through.
    pub listeners: Vec<String>,
}

#[derive(Serialize, Debug)]
pub struct PartitionStatus {
    pub topic: String,
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub leader_epoch: i32,
}

impl From<&PartitionInfo> for PartitionStatus {
    fn from(p: &PartitionInfo) -> Self {
        PartitionStatus {
            topic: p.topic.clone(),
            partition: p.partition,
            leader: p.leader,
            replicas: p.replicas.clone(),
            isr: p.isr.clone(),
            leader_epoch: p.leader_epoch,
        }
    }
}

pub async fn run(args: &StatusArgs, output: OutputFormat) -> anyhow::Result<i32> {
    let tls = args.meta.tls.load()?;
    let mut status = collect(&args.meta.meta, tls.as_ref(), args.meta.timeout()).await;
    if !args.topic.is_empty() && status.leader_id.is_some() {
        let topics = crate::admin::describe(&args.meta, args.topic.clone()).await?;
        if let Some(missing) = (args.topic.iter()).find(|n| !topics.iter().any(|t| t.name == **n)) {
            anyhow::bail!("unknown topic '{missing}'; list topics with `chronik-meta topics list`");
        }
        status.topic_partitions = (topics.iter())
            .flat_map(|t| t.partitions.iter().map(PartitionStatus::from))
            .collect();
    }
    match output {
        OutputFormat::Json => chronik_cli::print_json(&status)?,
        OutputFormat::Table => print_tables(&status),
    }
    Ok(exit_code(&status))
}

/// 0 healthy, 1 degraded, 2 no quorum.
pub fn exit_code(status: &ClusterStatus) -> i32 {
    if status.leader_id.is_none() {
        EXIT_ERROR
    } else if status.healthy {
        EXIT_OK
    } else {
        EXIT_FOUND
    }
}

async fn query_all(
    addresses: &[String],
    tls: Option<&ClusterTls>,
    timeout: Duration,
) -> Vec<(String, Option<StatusResponse>)> {
    let tasks: Vec<_> = (addresses.iter().cloned())
        .map(|address| {
            let tls = tls.cloned();
            tokio::spawn(async move {
                let answer = status_of(&address, tls.as_ref(), timeout).await;
                if let Err(e) = &answer {
                    tracing::debug!(%address, error = %e, "meta node did not answer");
                }
                (address, answer.ok())
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        if let Ok(answer) = task.await {
            out.push(answer);
        }
    }
    out
}

pub async fn collect(
    addresses: &[String],
    tls: Option<&ClusterTls>,
    timeout: Duration,
) -> ClusterStatus {
    let mut answers: BTreeMap<String, Option<StatusResponse>> = query_all(addresses, tls, timeout)
        .await
        .into_iter()
        .collect();
    // Voters the given nodes know of but that were not asked.
    let extra: Vec<String> = (answers.values().flatten())
        .flat_map(|s| s.voters.iter().map(|v| v.address.clone()))
        .filter(|a| !a.is_empty() && !answers.contains_key(a))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    answers.extend(query_all(&extra, tls, timeout).await);

    // The first given address that answers names the cluster; nodes of another cluster
    // (a misconfigured peer list) are reported, never merged in.
    let cluster = (addresses.iter())
        .find_map(|a| answers.get(a).and_then(Option::as_ref))
        .map(|s| s.cluster_id.clone());
    let foreign: Vec<String> = (answers.iter())
        .filter(|(_, s)| {
            s.as_ref()
                .is_some_and(|s| Some(&s.cluster_id) != cluster.as_ref())
        })
        .map(|(address, _)| address.clone())
        .collect();
    let reachable: Vec<&StatusResponse> = (answers.values().flatten())
        .filter(|s| Some(&s.cluster_id) == cluster.as_ref())
        .collect();
    let leader = (reachable.iter().copied())
        .filter(|s| s.role == "leader")
        .max_by_key(|s| s.term);
    // The leader's view is authoritative; otherwise the most recent one seen.
    let view = leader.or_else(|| {
        reachable
            .iter()
            .copied()
            .max_by_key(|s| (s.term, s.applied_index))
    });
    let by_id: BTreeMap<u64, &StatusResponse> = reachable.iter().map(|s| (s.node_id, *s)).collect();
    let voters: Vec<VoterStatus> = view
        .map(|v| v.voters.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|voter| {
            let own = by_id.get(&voter.id);
            VoterStatus {
                id: voter.id,
                address: voter.address.clone(),
                role: own.map(|s| s.role.clone()),
                term: own.map(|s| s.term),
                commit_index: own.map(|s| s.commit_index),
                applied_index: own.map(|s| s.applied_index),
                snapshot_index: own.map(|s| s.snapshot_index),
                snapshots_installed: own.map(|s| s.snapshots_installed),
                reachable: own.is_some(),
            }
        })
        .collect();
    let unreachable = (answers.iter())
        .filter(|(_, answer)| answer.is_none())
        .map(|(address, _)| address.clone())
        .collect();
    let under_replicated: Vec<PartitionStatus> = view
        .map(|v| {
            v.under_replicated
                .iter()
                .map(PartitionStatus::from)
                .collect()
        })
        .unwrap_or_default();
    let offline: Vec<PartitionStatus> = view
        .map(|v| v.offline.iter().map(PartitionStatus::from).collect())
        .unwrap_or_default();
    let healthy = leader.is_some()
        && foreign.is_empty()
        && !voters.is_empty()
        && voters.iter().all(|v| v.reachable)
        && under_replicated.is_empty()
        && offline.is_empty();
    ClusterStatus {
        cluster_id: view.map(|v| v.cluster_id.clone()),
        leader_id: leader.map(|l| l.node_id),
        term: view.map_or(0, |v| v.term),
        healthy,
        voters,
        brokers: view
            .map(|v| {
                (v.brokers.iter())
                    .map(|b| BrokerStatus {
                        id: b.id,
                        address: format!("{}:{}", b.host, b.port),
                        fenced: b.fenced,
                        decommissioning: b.decommissioning,
                        replicas: b.replicas,
                        listeners: b.endpoints.iter().map(listener).collect(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        topics: view.map_or(0, |v| v.topics),
        partitions: view.map_or(0, |v| v.partitions),
        under_replicated_partitions: under_replicated,
        offline_partitions: offline,
        unreachable,
        foreign,
        topic_partitions: Vec::new(),
    }
}

fn print_tables(status: &ClusterStatus) {
    let mut out = String::new();
    render(status, &mut out);
    write_stdout(&out);
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn write_stdout(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn render(status: &ClusterStatus, out: &mut String) {
    use std::fmt::Write as _;
    let health = match exit_code(status) {
        EXIT_OK => "healthy",
        EXIT_FOUND => "degraded",
        _ => "NO QUORUM",
    };
    let _ = writeln!(
        out,
        "cluster {}  leader {}  term {}  {health}",
        status.cluster_id.as_deref().unwrap_or("?"),
        status
            .leader_id
            .map_or_else(|| "none".to_owned(), |id| id.to_string()),
        status.term,
    );
    let mut voters = chronik_cli::table([
        "voter", "address", "role", "term", "commit", "applied", "snapshot",
    ]);
    for v in &status.voters {
        let opt = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        voters.add_row(vec![
            v.id.to_string(),
            v.address.clone(),
            v.role.clone().unwrap_or_else(|| "UNREACHABLE".into()),
            opt(v.term),
            opt(v.commit_index),
            opt(v.applied_index),
            opt(v.snapshot_index),
        ]);
    }
    let _ = writeln!(out, "{voters}");
    if !status.brokers.is_empty() {
        let mut brokers =
            chronik_cli::table(["broker", "address", "state", "replicas", "listeners"]);
        for b in &status.brokers {
            let state = match (b.fenced, b.decommissioning) {
                (true, true) if b.replicas == 0 => "decommissioned",
                (_, true) => "decommissioning",
                (true, false) => "fenced",
                (false, false) => "live",
            };
            brokers.add_row(vec![
                b.id.to_string(),
                b.address.clone(),
                state.to_owned(),
                b.replicas.to_string(),
                b.listeners.join(", "),
            ]);
        }
        let _ = writeln!(out, "{brokers}");
    }
    let _ = writeln!(
        out,
        "{} topics, {} partitions",
        status.topics, status.partitions
    );
    for (label, list) in [
        ("topic", &status.topic_partitions),
        ("under-replicated", &status.under_replicated_partitions),
        ("offline", &status.offline_partitions),
    ] {
        if list.is_empty() {
            continue;
        }
        let mut table = chronik_cli::table([label, "partition", "leader", "replicas", "isr"]);
        for p in list {
            table.add_row(vec![
                p.topic.clone(),
                p.partition.to_string(),
                p.leader.to_string(),
                format!("{:?}", p.replicas),
                format!("{:?}", p.isr),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }
    for address in &status.unreachable {
        let _ = writeln!(out, "unreachable: {address}");
    }
    for address in &status.foreign {
        let _ = writeln!(
            out,
            "another cluster answered at {address}; check the address list"
        );
    }
}
