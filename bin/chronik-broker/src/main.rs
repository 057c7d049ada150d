//! `chronik-broker`: a Kafka-compatible broker with an embedded metadata node.
//!
//! `main` parses arguments (flags > `CHRONIK_*` variables > `--config` file > defaults), runs
//! one command and turns its outcome into an exit code: 0 success (a healthy cluster for
//! `status`), 1 an unhealthy cluster, 2 failure (bad settings, unreachable cluster).

mod open_files;
mod status;
mod status_tier;
mod users;

use std::process::ExitCode;

use anyhow::Context;
use chronik_broker_bin::cli::{self, Cli, Command, ConfigCommand, RunArgs};
use chronik_cli::{EXIT_ERROR, EXIT_OK};
use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let layered = chronik_cli::config_file::parse(Cli::command(), std::env::args_os().collect())
        .unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches(&layered.matches).unwrap_or_else(|e| e.exit());
    let code = match cli.command {
        None => run_broker(cli.run),
        Some(Command::Run(args)) => run_broker(args),
        Some(Command::Config(ConfigCommand::Show(args))) => config_show(&layered, args),
        Some(Command::Status(args)) => {
            chronik_cli::init_tracing("warn", chronik_cli::LogFormat::Text);
            block_on(status::run(&args))
        }
        Some(Command::Users(cmd)) => {
            chronik_cli::init_tracing("warn", chronik_cli::LogFormat::Text);
            block_on(async move {
                match users::run(cmd).await {
                    Ok(()) => EXIT_OK,
                    Err(e) => {
                        chronik_cli::report_error(&chronik_cli::error_line(e.as_ref()));
                        EXIT_ERROR
                    }
                }
            })
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}

/// Prints the effective settings after checking them as `run` would.
fn config_show(layered: &chronik_cli::config_file::Layered, args: cli::ShowArgs) -> i32 {
    let settings = layered.settings(&Cli::command());
    if let Err(e) = args.run.into_config() {
        eprintln!("error: {}", chronik_cli::error_line(e.as_ref()));
        return EXIT_ERROR;
    }
    match chronik_cli::config_file::print_settings(layered.file.as_deref(), &settings, args.output)
    {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write the settings: {e}");
            EXIT_ERROR
        }
    }
}

fn run_broker(args: RunArgs) -> i32 {
    chronik_cli::init_tracing(&args.log_level, args.log_format);
    block_on(async move {
        match run(args).await {
            Ok(()) => EXIT_OK,
            Err(e) => {
                chronik_cli::report_error(&chronik_cli::error_line(e.as_ref()));
                EXIT_ERROR
            }
        }
    })
}

fn block_on(future: impl Future<Output = i32>) -> i32 {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => {
            chronik_cli::report_error(&format!("cannot start the async runtime: {e}"));
            EXIT_ERROR
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    open_files::raise_limit();
    let metrics_addr = args.metrics_addr;
    let config = args.into_config()?;
    if let Some(addr) = metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                chronik_cli::LATENCY_BUCKETS_SECONDS,
            )
            .context("invalid latency histogram buckets")?
            .install()
            .with_context(|| format!("cannot serve metrics on {addr}; is the port in use?"))?;
        tracing::info!(%addr, "serving Prometheus metrics");
    }
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
