//! `chronik-meta brokers decommission`: asks the controller to retire a broker and, with
//! `--wait-s`, follows its progress through the status call until it holds no replica and
//! is fenced.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chronik_cli::OutputFormat;
use chronik_metadata::grpc::MetaClient;
use chronik_metadata::grpc::pb::{BrokerInfo, DecommissionBrokerRequest, StatusRequest};
use serde_json::json;

use crate::cli::BrokersCommand;

/// How often the progress is read while waiting.
const POLL: Duration = Duration::from_millis(500);

pub async fn brokers(cmd: BrokersCommand, output: OutputFormat) -> anyhow::Result<()> {
    let BrokersCommand::Decommission {
        meta,
        id,
        cancel,
        wait_s,
    } = cmd;
    let mut client = meta.client()?;
    let req = DecommissionBrokerRequest {
        broker_id: id,
        cancel,
    };
    client
        .call(|mut c| async move { c.decommission_broker(req).await })
        .await
        .with_context(|| format!("cannot change the decommissioning of broker {id}"))?;
    let deadline = Instant::now() + Duration::from_secs(wait_s);
    let mut broker = broker_info(&mut client, id).await?;
    while !cancel && wait_s > 0 && !(broker.fenced && broker.replicas == 0) {
        if Instant::now() >= deadline {
            bail!(
                "broker {id} still holds {} replicas after {wait_s} s; the moves go on \
                 (chronik-meta status shows them), or a partition has no other broker to go to",
                broker.replicas
            );
        }
        tokio::time::sleep(POLL).await;
        broker = broker_info(&mut client, id).await?;
    }
    match output {
        OutputFormat::Json => chronik_cli::print_json(&json!({
            "broker": id, "decommissioning": broker.decommissioning,
            "replicas": broker.replicas, "fenced": broker.fenced,
        }))?,
        OutputFormat::Table => println!("{}", describe(id, &broker)),
    }
    Ok(())
}

async fn broker_info(client: &mut MetaClient, id: i32) -> anyhow::Result<BrokerInfo> {
    let status = (client.call(|mut c| async move { c.status(StatusRequest {}).await }))
        .await
        .context("cannot read the cluster status")?;
    (status.brokers.into_iter())
        .find(|b| b.id == id)
        .with_context(|| format!("broker {id} is not registered"))
}

fn describe(id: i32, b: &BrokerInfo) -> String {
    match (b.decommissioning, b.replicas, b.fenced) {
        (false, _, _) => format!("broker {id} is not being decommissioned"),
        (true, 0, true) => {
            format!("broker {id} is decommissioned: no replicas left, fenced; stop it")
        }
        (true, n, _) => format!(
            "broker {id} is being decommissioned: {n} replicas left to move (chronik-meta status shows the progress)"
        ),
    }
}
