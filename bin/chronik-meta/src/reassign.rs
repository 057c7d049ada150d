//! `chronik-meta partitions reassign`: drives the controller's two-step replica move and
//! waits in between for the new replicas to join the ISR.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chronik_cli::OutputFormat;
use chronik_metadata::grpc::pb::ReassignPartitionRequest;
use serde_json::json;

use crate::admin::describe;
use crate::cli::{MetaArgs, PartitionsCommand};

/// How often the controller is asked again while the new replicas catch up.
const POLL: Duration = Duration::from_millis(200);

pub async fn partitions(cmd: PartitionsCommand, output: OutputFormat) -> anyhow::Result<()> {
    let PartitionsCommand::Reassign {
        meta,
        topic,
        partition,
        replicas,
        wait_s,
    } = cmd;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(wait_s);
    let mut client = meta.client()?;
    let req = ReassignPartitionRequest {
        topic: topic.clone(),
        partition,
        replicas: replicas.clone(),
    };
    let mut announced = false;
    loop {
        let resp = client
            .call(|mut c| {
                let req = req.clone();
                async move { c.reassign_partition(req).await }
            })
            .await
            .with_context(|| format!("cannot reassign {topic}-{partition}"))?;
        if resp.done {
            break;
        }
        if !announced {
            eprintln!(
                "replicas {replicas:?} added to {topic}-{partition}; waiting for them to catch up and join the ISR"
            );
            announced = true;
        }
        if Instant::now() >= deadline {
            bail!(
                "the new replicas of {topic}-{partition} did not join the ISR within {wait_s} s; \
                 they stay added and keep catching up: run the same command again to finish"
            );
        }
        tokio::time::sleep(POLL).await;
    }
    print_result(&meta, &topic, partition, started.elapsed(), output).await
}

async fn print_result(
    meta: &MetaArgs,
    topic: &str,
    partition: i32,
    took: Duration,
    output: OutputFormat,
) -> anyhow::Result<()> {
    let topics = describe(meta, vec![topic.to_owned()]).await?;
    let p = (topics.iter().flat_map(|t| t.partitions.iter()))
        .find(|p| p.partition == partition)
        .with_context(|| format!("{topic}-{partition} vanished during the reassignment"))?;
    match output {
        OutputFormat::Json => chronik_cli::print_json(&json!({
            "topic": topic, "partition": partition, "leader": p.leader,
            "replicas": p.replicas, "isr": p.isr, "seconds": took.as_secs_f64(),
        }))?,
        OutputFormat::Table => println!(
            "{topic}-{partition} reassigned in {:.1} s: leader {}, replicas {:?}, isr {:?}",
            took.as_secs_f64(),
            p.leader,
            p.replicas,
            p.isr
        ),
    }
    Ok(())
}
