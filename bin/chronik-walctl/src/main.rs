//! `chronik-walctl`: offline inspection and repair of a Chronik broker's data dir.
//!
//! `main` only parses arguments, runs one command and turns its outcome into an exit code:
//! 0 success, 1 corruption found (`verify`), 2 the command could not do its job.

mod data;
mod dump;
mod list;
mod output;
mod records;
mod recover;
mod remote;
mod render;
mod stats;
mod txns;
mod verify;

use std::process::ExitCode;

use chronik_cli::{EXIT_ERROR, EXIT_OK};
use chronik_walctl::cli;
use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    chronik_cli::init_tracing(&cli.log_level, cli.log_format);
    let code = match run(&cli) {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => EXIT_OK,
        Err(e) => {
            chronik_cli::report_error(&chronik_cli::error_line(e.as_ref()));
            EXIT_ERROR
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}

fn run(cli: &Cli) -> anyhow::Result<i32> {
    let format = cli.output;
    match &cli.command {
        Command::List {
            dir,
            segments,
            remote_storage,
        } => list::run(&dir.dir, *segments, remote_storage.as_deref(), format),
        Command::Dump(args) => dump::run(args, format),
        Command::Verify { dir } => verify::run(&dir.dir, format),
        Command::Recover { dir, dry_run } => recover::run(&dir.dir, *dry_run, format),
        Command::Stats { dir } => stats::run(&dir.dir, format),
    }
}
