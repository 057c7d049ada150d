//! `chronik-meta`: runs one voter of the metadata quorum, and administers a running quorum.
//!
//! `main` parses arguments, runs one command and turns its outcome into an exit code: 0 success
//! (a healthy cluster for `status`), 1 degraded cluster, 2 failure or no quorum.

mod admin;
mod brokers;
mod reassign;
mod run;
mod status;
mod users;

use std::process::ExitCode;

use chronik_cli::config_file::Layered;
use chronik_cli::{EXIT_ERROR, EXIT_OK};
use chronik_meta::cli;
use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command, ConfigCommand};

fn main() -> ExitCode {
    // `run` (and `config show`) settings: flag > CHRONIK_* variable > --config file > default.
    let layered = chronik_cli::config_file::parse(Cli::command(), std::env::args_os().collect())
        .unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches(&layered.matches).unwrap_or_else(|e| e.exit());
    chronik_cli::init_tracing(&cli.log_level, cli.log_format);
    if let Command::Config(ConfigCommand::Show(args)) = &cli.command {
        return ExitCode::from(config_show(&layered, args, cli.output) as u8);
    }
    let code = match tokio::runtime::Runtime::new() {
        Ok(runtime) => match runtime.block_on(dispatch(cli)) {
            Ok(code) => code,
            Err(e) => {
                chronik_cli::report_error(&chronik_cli::error_line(e.as_ref()));
                EXIT_ERROR
            }
        },
        Err(e) => {
            chronik_cli::report_error(&format!("cannot start the async runtime: {e}"));
            EXIT_ERROR
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}

async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let output = cli.output;
    match cli.command {
        Command::Run(args) => run::run(args).await.map(|()| EXIT_OK),
        Command::Status(args) => status::run(&args, output).await,
        Command::Topics(cmd) => admin::topics(cmd, output).await.map(|()| EXIT_OK),
        Command::Partitions(cmd) => reassign::partitions(cmd, output).await.map(|()| EXIT_OK),
        Command::Members(cmd) => admin::members(cmd, output).await.map(|()| EXIT_OK),
        Command::Brokers(cmd) => brokers::brokers(cmd, output).await.map(|()| EXIT_OK),
        Command::Users(cmd) => users::users(cmd, output).await.map(|()| EXIT_OK),
        Command::Config(ConfigCommand::Show(_)) => Ok(EXIT_OK),
    }
}

/// Prints the effective `run` settings after checking them as `run` would.
fn config_show(layered: &Layered, args: &cli::RunArgs, output: chronik_cli::OutputFormat) -> i32 {
    if let Err(e) = run::node_config(args) {
        eprintln!("error: {}", chronik_cli::error_line(e.as_ref()));
        return EXIT_ERROR;
    }
    let settings = layered.settings(&Cli::command());
    match chronik_cli::config_file::print_settings(layered.file.as_deref(), &settings, output) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write the settings: {e}");
            EXIT_ERROR
        }
    }
}
