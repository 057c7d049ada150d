//! `chronik-broker`: a Kafka-compatible broker with an embedded metadata node.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::cli::{Cli, Command, RunArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Run(args)) => args,
        None => cli.run,
    };
    chronik_cli::init_tracing(&args.log_level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(chronik_cli::EXIT_ERROR as u8);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::from(chronik_cli::EXIT_ERROR as u8)
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = args.into_config()?;
    let data_dir = config.data_dir.clone();
    let broker = chronik_broker::Broker::start(config)
        .await
        .with_context(|| format!("cannot start the broker in {}", data_dir.display()))?;
    broker.serve(wait_for_signal()).await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (or at once if they cannot be watched, so the broker never
/// runs unstoppable).
async fn wait_for_signal() {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    let Ok(mut term) = term else {
        tracing::error!("cannot watch SIGTERM; stopping");
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = term.recv() => tracing::info!("SIGTERM received"),
    }
}
