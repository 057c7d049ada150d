//! `chronik-broker status --bootstrap ADDR`: reads any Kafka-compatible cluster through
//! Metadata and DescribeCluster and prints brokers, topics, partitions, leaders and ISR, and
//! the two tiers of partitions with data in the remote tier (status_tier.rs).
//! Exit 0 healthy, 1 a partition under-replicated or offline, 2 the cluster is unreachable.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use chronik_broker_bin::cli::StatusArgs;
use chronik_cli::{EXIT_ERROR, EXIT_FOUND, EXIT_OK, OutputFormat};
use chronik_client::{Client, ClientConfig};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    DescribeClusterRequest, DescribeClusterResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

#[derive(Serialize, Debug)]
pub struct Status {
    pub cluster_id: Option<String>,
    pub controller: Option<i32>,
    pub healthy: bool,
    pub brokers: Vec<Broker>,
    pub topics: Vec<Topic>,
    pub under_replicated_partitions: usize,
    pub offline_partitions: usize,
}

#[derive(Serialize, Debug)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    /// From DescribeCluster when the cluster reports it.
    pub fenced: bool,
}

#[derive(Serialize, Debug)]
pub struct Topic {
    pub name: String,
    pub internal: bool,
    /// The Kafka error name when the topic could not be described.
    pub error: Option<String>,
    pub partitions: Vec<Partition>,
}

#[derive(Serialize, Debug)]
pub struct Partition {
    pub partition: i32,
    /// -1 when there is none.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    /// `ok`, `under-replicated` or `offline`.
    pub state: &'static str,
    /// Set when the partition has data in the remote tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<crate::status_tier::Tier>,
}

pub async fn run(args: &StatusArgs) -> i32 {
    let status = match collect(args).await {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: {}", chronik_cli::error_line(e.as_ref()));
            return EXIT_ERROR;
        }
    };
    let printed = match args.output {
        OutputFormat::Json => chronik_cli::print_json(&status),
        OutputFormat::Table => print_tables(&status),
    };
    if let Err(e) = printed
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the status: {e}");
        return EXIT_ERROR;
    }
    if status.healthy { EXIT_OK } else { EXIT_FOUND }
}

async fn collect(args: &StatusArgs) -> anyhow::Result<Status> {
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let mut cfg = ClientConfig::new(&args.bootstrap.join(","));
    cfg.client_id = "chronik-status".into();
    cfg.request_timeout = timeout;
    cfg.connect_timeout = timeout;
    let bootstrap = args.bootstrap.join(",");
    let work = async {
        let client = Client::connect(cfg)
            .await
            .with_context(|| format!("cannot reach the cluster at {bootstrap}"))?;
        let topics = (!args.topic.is_empty()).then(|| {
            (args.topic.iter())
                .map(|t| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                })
                .collect()
        });
        let request = MetadataRequest::default()
            .with_topics(topics)
            .with_allow_auto_topic_creation(false);
        let mut metadata: MetadataResponse = client
            .call_any(&request)
            .await
            .with_context(|| format!("Metadata request to {bootstrap} failed"))?;
        // A broker whose log of a partition failed reports its own replica offline; the
        // others cannot know, so every broker is asked.
        for id in metadata
            .brokers
            .iter()
            .map(|b| b.node_id.0)
            .collect::<Vec<_>>()
        {
            match client.call_node(id, &request).await {
                Ok(seen) => merge_offline_replicas(&mut metadata, &seen),
                Err(e) => {
                    tracing::warn!(broker = id, error = %e, "Metadata from this broker failed; its own offline replicas are not known")
                }
            }
        }
        // Older or other Kafka-compatible brokers may not serve DescribeCluster: Metadata's
        // broker list then stands alone.
        let request = DescribeClusterRequest::default().with_endpoint_type(1);
        let cluster: Option<DescribeClusterResponse> = match client.call_any(&request).await {
            Ok(r) if r.error_code == 0 => Some(r),
            Ok(r) => {
                tracing::warn!(code = r.error_code, "DescribeCluster answered an error");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "DescribeCluster failed; using Metadata's brokers");
                None
            }
        };
        let mut status = build(metadata, cluster);
        add_tiers(&client, &mut status).await;
        anyhow::Ok(status)
    };
    // Each request is bounded by the client's timeout; this bounds the whole (connect,
    // metadata, describe) so that a black-holed address cannot hang the command.
    tokio::time::timeout(timeout * 4, work)
        .await
        .with_context(|| {
            format!(
                "the cluster at {bootstrap} did not answer within {:?}",
                timeout * 4
            )
        })?
}

/// Each partition's two tiers, where it has data in the remote tier.
async fn add_tiers(client: &Client, status: &mut Status) {
    let leaders = (status.topics.iter())
        .flat_map(|t| (t.partitions.iter()).map(|p| ((t.name.clone(), p.partition), p.leader)))
        .collect();
    let mut tiers = crate::status_tier::collect(client, &leaders).await;
    for t in &mut status.topics {
        for p in &mut t.partitions {
            p.tier = tiers.remove(&(t.name.clone(), p.partition));
        }
    }
}

/// Adds the offline replicas `seen` reports to the same partitions of `into`.
fn merge_offline_replicas(into: &mut MetadataResponse, seen: &MetadataResponse) {
    for topic in &mut into.topics {
        let Some(other) = seen.topics.iter().find(|t| t.name == topic.name) else {
            continue;
        };
        for p in &mut topic.partitions {
            let Some(q) =
                (other.partitions.iter()).find(|q| q.partition_index == p.partition_index)
            else {
                continue;
            };
            for id in &q.offline_replicas {
                if !p.offline_replicas.contains(id) {
                    p.offline_replicas.push(*id);
                }
            }
        }
    }
}

fn build(metadata: MetadataResponse, cluster: Option<DescribeClusterResponse>) -> Status {
    let mut brokers: BTreeMap<i32, Broker> = (metadata.brokers.iter())
        .map(|b| {
            let broker = Broker {
                id: b.node_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.as_ref().map(ToString::to_string),
                fenced: false,
            };
            (b.node_id.0, broker)
        })
        .collect();
    if let Some(c) = &cluster {
        for b in &c.brokers {
            let broker = Broker {
                id: b.broker_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.as_ref().map(ToString::to_string),
                fenced: b.is_fenced,
            };
            brokers.insert(b.broker_id.0, broker);
        }
    }
    let mut topics: Vec<Topic> = (metadata.topics.iter())
        .map(|t| Topic {
            name: t
                .name
                .as_ref()
                .map_or_else(|| t.topic_id.to_string(), |n| n.0.to_string()),
            internal: t.is_internal,
            error: (t.error_code != 0).then(|| error_name(t.error_code)),
            partitions: {
                let mut ps: Vec<Partition> = t.partitions.iter().map(partition).collect();
                ps.sort_by_key(|p| p.partition);
                ps
            },
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let count = |state: &str| {
        (topics.iter().flat_map(|t| &t.partitions))
            .filter(|p| p.state == state)
            .count()
    };
    let under_replicated_partitions = count("under-replicated");
    let offline_partitions = count("offline");
    let controller = cluster
        .as_ref()
        .map_or(metadata.controller_id.0, |c| c.controller_id.0);
    Status {
        cluster_id: (cluster.as_ref().map(|c| c.cluster_id.to_string()))
            .or_else(|| metadata.cluster_id.as_ref().map(ToString::to_string)),
        controller: (controller >= 0).then_some(controller),
        healthy: under_replicated_partitions == 0
            && offline_partitions == 0
            && topics.iter().all(|t| t.error.is_none()),
        brokers: brokers.into_values().collect(),
        topics,
        under_replicated_partitions,
        offline_partitions,
    }
}

fn partition(
    p: &kafka_protocol::messages::metadata_response::MetadataResponsePartition,
) -> Partition {
    let ids = |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
    let (replicas, isr) = (ids(&p.replica_nodes), ids(&p.isr_nodes));
    let leader = p.leader_id.0;
    let state = if leader < 0 || p.error_code == 5 || p.offline_replicas.contains(&p.leader_id) {
        // 5 = LEADER_NOT_AVAILABLE; a leader whose own replica is offline takes no writes.
        "offline"
    } else if isr.len() < replicas.len() || !p.offline_replicas.is_empty() {
        "under-replicated"
    } else {
        "ok"
    };
    Partition {
        partition: p.partition_index,
        leader,
        leader_epoch: p.leader_epoch,
        replicas,
        isr,
        offline_replicas: ids(&p.offline_replicas),
        state,
        tier: None,
    }
}

fn error_name(code: i16) -> String {
    use kafka_protocol::error::ParseResponseErrorCode as _;
    code.err()
        .map_or_else(|| code.to_string(), |e| format!("{e:?}"))
}

fn print_tables(status: &Status) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let health = if status.healthy {
        "healthy"
    } else {
        "UNHEALTHY"
    };
    writeln!(
        out,
        "cluster {}  controller {}  {health}: {} under-replicated, {} offline partitions",
        status.cluster_id.as_deref().unwrap_or("?"),
        status
            .controller
            .map_or_else(|| "none".into(), |c| c.to_string()),
        status.under_replicated_partitions,
        status.offline_partitions,
    )?;
    let mut brokers = chronik_cli::table(["broker", "address", "rack", "state"]);
    for b in &status.brokers {
        brokers.add_row(vec![
            b.id.to_string(),
            format!("{}:{}", b.host, b.port),
            b.rack.clone().unwrap_or_default(),
            if b.fenced { "fenced" } else { "live" }.to_owned(),
        ]);
    }
    writeln!(out, "{brokers}")?;
    let mut parts =
        chronik_cli::table(["topic", "partition", "leader", "replicas", "isr", "state"]);
    for t in &status.topics {
        if let Some(error) = &t.error {
            parts.add_row(vec![
                t.name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                error.clone(),
            ]);
        }
        for p in &t.partitions {
            parts.add_row(vec![
                t.name.clone(),
                p.partition.to_string(),
                if p.leader < 0 {
                    "none".into()
                } else {
                    p.leader.to_string()
                },
                format!("{:?}", p.replicas),
                format!("{:?}", p.isr),
                p.state.to_owned(),
            ]);
        }
    }
    writeln!(out, "{parts}")?;
    print_tiers(&mut out, status)?;
    out.flush()
}

fn print_tiers(out: &mut impl std::io::Write, status: &Status) -> std::io::Result<()> {
    let mut tiers = chronik_cli::table([
        "topic",
        "partition",
        "log start",
        "local start",
        "last tiered",
        "high watermark",
        "copy lag (records)",
        "local bytes",
    ]);
    let mut any = false;
    for t in &status.topics {
        for (p, tier) in (t.partitions.iter()).filter_map(|p| Some((p, p.tier?))) {
            any = true;
            tiers.add_row(vec![
                t.name.clone(),
                p.partition.to_string(),
                tier.log_start_offset.to_string(),
                tier.local_log_start_offset.to_string(),
                tier.last_tiered_offset.to_string(),
                tier.high_watermark.to_string(),
                tier.copy_lag_records.to_string(),
                tier.local_bytes.to_string(),
            ]);
        }
    }
    if any {
        writeln!(out, "remote tier\n{tiers}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::BrokerId;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    use super::*;

    fn part(index: i32, leader: i32, replicas: &[i32], isr: &[i32]) -> MetadataResponsePartition {
        let ids = |v: &[i32]| v.iter().map(|&b| BrokerId(b)).collect();
        MetadataResponsePartition::default()
            .with_partition_index(index)
            .with_leader_id(BrokerId(leader))
            .with_replica_nodes(ids(replicas))
            .with_isr_nodes(ids(isr))
    }

    fn metadata(partitions: Vec<MetadataResponsePartition>) -> MetadataResponse {
        MetadataResponse::default()
            .with_controller_id(BrokerId(1))
            .with_brokers(vec![
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(1))
                    .with_host(StrBytes::from_static_str("h"))
                    .with_port(9092),
            ])
            .with_topics(vec![
                MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                    .with_partitions(partitions),
            ])
    }

    #[test]
    fn partitions_are_classified_and_health_follows() {
        let healthy = build(metadata(vec![part(0, 1, &[1, 2], &[2, 1])]), None);
        assert!(healthy.healthy);
        assert_eq!(healthy.topics[0].partitions[0].state, "ok");

        let status = build(
            metadata(vec![part(1, -1, &[1, 2], &[]), part(0, 1, &[1, 2], &[1])]),
            None,
        );
        assert!(!status.healthy);
        assert_eq!(status.under_replicated_partitions, 1);
        assert_eq!(status.offline_partitions, 1);
        let states: Vec<_> = status.topics[0]
            .partitions
            .iter()
            .map(|p| p.state)
            .collect();
        assert_eq!(
            states,
            ["under-replicated", "offline"],
            "sorted by partition"
        );
        assert_eq!(status.controller, Some(1));
        assert_eq!(status.brokers[0].port, 9092);
    }
}
