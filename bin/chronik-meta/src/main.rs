//! `chronik-meta`: runs one voter of the metadata quorum, and administers a running quorum.
//!
//! `main` parses arguments, runs one command and turns its outcome into an exit code: 0 success
//! (a healthy cluster for `status`), 1 degraded cluster, 2 failure or no quorum.

mod admin;
mod cli;
mod run;
mod status;

use std::process::ExitCode;

use chronik_cli::{EXIT_ERROR, EXIT_OK};
use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    chronik_cli::init_tracing(&cli.log_level);
    let code = match tokio::runtime::Runtime::new() {
        Ok(runtime) => match runtime.block_on(dispatch(cli)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                EXIT_ERROR
            }
        },
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
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
        Command::Members(cmd) => admin::members(cmd, output).await.map(|()| EXIT_OK),
    }
}
