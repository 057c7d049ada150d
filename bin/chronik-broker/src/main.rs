//! `chronik-broker`: a Kafka-compatible broker with an embedded metadata node.

mod cli;
mod config_file;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, RunArgs};

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(chronik_cli::EXIT_ERROR as u8);
        }
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

/// Parses flags and environment, then adds the `--config` file's settings for whatever they
/// left at its default. Bad flags print clap's message and exit 2.
fn parse_args(mut argv: Vec<OsString>) -> anyhow::Result<RunArgs> {
    let command = Cli::command();
    let matches = command.clone().get_matches_from(&argv);
    let run_matches = matches.subcommand_matches("run").unwrap_or(&matches);
    if let Some(path) = run_matches.get_one::<std::path::PathBuf>("config") {
        let run_command = command.find_subcommand("run").unwrap_or(&command);
        argv.extend(config_file::args_from_file(path, run_matches, run_command)?);
    }
    let matches = command.get_matches_from(&argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    Ok(match cli.command {
        Some(Command::Run(args)) => args,
        None => cli.run,
    })
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    if let Some(addr) = args.metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        tracing::info!(%addr, "serving Prometheus metrics");
    }
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
