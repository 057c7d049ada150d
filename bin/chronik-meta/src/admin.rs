//! `chronik-meta topics ...` and `chronik-meta members ...`: writes go to the leader (found by
//! [`MetaClient`]), reads to whichever node answers first.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use chronik_cli::OutputFormat;
use chronik_metadata::ErrorKind;
use chronik_metadata::grpc::pb::{
    AddVoterRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeTopicsRequest, ItemResult,
    RemoveVoterRequest, TopicDescription, TopicSpec,
};
use serde_json::json;

use crate::cli::{MembersCommand, MetaArgs, TopicsCommand};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prints per-item results; fails when any item failed.
fn report(results: &[ItemResult], verb: &str, output: OutputFormat) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        let items: Vec<_> = (results.iter())
            .map(|r| {
                json!({"name": r.name, "error": error_name(r),
                       "error_message": r.error_message, "topic_id": hex(&r.topic_id)})
            })
            .collect();
        chronik_cli::print_json(&items)?;
    }
    let failed: Vec<&ItemResult> = results.iter().filter(|r| r.error != 0).collect();
    if output == OutputFormat::Table {
        for r in results.iter().filter(|r| r.error == 0) {
            println!("{verb} topic '{}'", r.name);
        }
    }
    if let Some(first) = failed.first() {
        bail!(
            "topic '{}': {} ({})",
            first.name,
            first.error_message,
            error_name(first)
        );
    }
    Ok(())
}

/// The refusal's kind as the proto names it (`ERROR_KIND_...`), or its number when this build
/// does not know it; empty on success.
fn error_name(r: &ItemResult) -> String {
    match ErrorKind::try_from(r.error) {
        Ok(ErrorKind::None) => String::new(),
        Ok(kind) => kind.as_str_name().to_owned(),
        Err(_) => format!("error kind {}", r.error),
    }
}

pub async fn describe(
    meta: &MetaArgs,
    names: Vec<String>,
) -> anyhow::Result<Vec<TopicDescription>> {
    let request = DescribeTopicsRequest { names };
    let response = meta
        .client()?
        .call(|mut c| {
            let request = request.clone();
            async move { c.describe_topics(request).await }
        })
        .await
        .context("cannot describe topics")?;
    Ok(response.topics)
}

pub async fn topics(cmd: TopicsCommand, output: OutputFormat) -> anyhow::Result<()> {
    match cmd {
        TopicsCommand::Create {
            meta,
            name,
            partitions,
            replication_factor,
            configs,
        } => {
            let mut parsed = BTreeMap::new();
            for entry in configs {
                let Some((key, value)) = entry.split_once('=') else {
                    bail!("config '{entry}' is not KEY=VALUE");
                };
                parsed.insert(key.to_owned(), value.to_owned());
            }
            let request = CreateTopicsRequest {
                topics: vec![TopicSpec {
                    name,
                    partitions,
                    replication_factor: i32::from(replication_factor),
                    configs: parsed,
                    assignment: Vec::new(),
                }],
            };
            let response = meta
                .client()?
                .call(|mut c| {
                    let request = request.clone();
                    async move { c.create_topics(request).await }
                })
                .await
                .context("cannot create the topic")?;
            report(&response.results, "created", output)
        }
        TopicsCommand::Delete { meta, name } => {
            let request = DeleteTopicsRequest { names: vec![name] };
            let response = meta
                .client()?
                .call(|mut c| {
                    let request = request.clone();
                    async move { c.delete_topics(request).await }
                })
                .await
                .context("cannot delete the topic")?;
            report(&response.results, "deleted", output)
        }
        TopicsCommand::List { meta } => {
            let topics = describe(&meta, Vec::new()).await?;
            match output {
                OutputFormat::Json => {
                    let items: Vec<_> = (topics.iter())
                        .map(|t| json!({"name": t.name, "topic_id": hex(&t.topic_id), "partitions": t.partitions.len()}))
                        .collect();
                    chronik_cli::print_json(&items)?;
                }
                OutputFormat::Table => {
                    let mut table = chronik_cli::table(["topic", "id", "partitions"]);
                    for t in &topics {
                        table.add_row(vec![
                            t.name.clone(),
                            hex(&t.topic_id),
                            t.partitions.len().to_string(),
                        ]);
                    }
                    println!("{table}");
                }
            }
            Ok(())
        }
        TopicsCommand::Describe { meta, names } => {
            let wanted = names.clone();
            let topics = describe(&meta, names).await?;
            if let Some(missing) = wanted
                .iter()
                .find(|n| !topics.iter().any(|t| t.name == **n))
            {
                bail!("unknown topic '{missing}'");
            }
            match output {
                OutputFormat::Json => {
                    let items: Vec<_> = (topics.iter())
                        .map(|t| {
                            let partitions: Vec<_> = (t.partitions.iter())
                                .map(|p| json!({"partition": p.partition, "leader": p.leader, "replicas": p.replicas, "isr": p.isr}))
                                .collect();
                            json!({"name": t.name, "topic_id": hex(&t.topic_id), "configs": t.configs, "partitions": partitions})
                        })
                        .collect();
                    chronik_cli::print_json(&items)?;
                }
                OutputFormat::Table => {
                    let mut table =
                        chronik_cli::table(["topic", "partition", "leader", "replicas", "isr"]);
                    for t in &topics {
                        for p in &t.partitions {
                            table.add_row(vec![
                                t.name.clone(),
                                p.partition.to_string(),
                                p.leader.to_string(),
                                format!("{:?}", p.replicas),
                                format!("{:?}", p.isr),
                            ]);
                        }
                    }
                    println!("{table}");
                }
            }
            Ok(())
        }
    }
}

pub async fn members(cmd: MembersCommand, output: OutputFormat) -> anyhow::Result<()> {
    let (voters, what) = match cmd {
        MembersCommand::Add { meta, id, address } => {
            let request = AddVoterRequest { id, address };
            let response = meta
                .client()?
                .call(|mut c| {
                    let request = request.clone();
                    async move { c.add_voter(request).await }
                })
                .await
                .with_context(|| format!("cannot add voter {id}"))?;
            (response.voters, format!("added voter {id}"))
        }
        MembersCommand::Remove { meta, id } => {
            let request = RemoveVoterRequest { id };
            let response = meta
                .client()?
                .call(|mut c| async move { c.remove_voter(request).await })
                .await
                .with_context(|| format!("cannot remove voter {id}"))?;
            (response.voters, format!("removed voter {id}"))
        }
    };
    match output {
        OutputFormat::Json => chronik_cli::print_json(&json!({ "voters": voters }))?,
        OutputFormat::Table => println!("{what}; voters now {voters:?}"),
    }
    Ok(())
}
