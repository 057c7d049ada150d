//! `chronik-bench`: parses the command line and turns failures into exit codes; the
//! benchmarks live in the library.

use std::process::ExitCode;

use chronik_bench::Cli;
use chronik_cli::{EXIT_ERROR, EXIT_OK};
use clap::Parser;

/// Producing to 1,000 partitions, glibc's allocator took about a fifth of the bench's CPU (arena
/// locks, chunk bookkeeping), CPU the broker under test then lacked on a small machine.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    chronik_cli::init_tracing(&cli.log_level, cli.log_format);
    let code = match chronik_bench::run(&cli) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            chronik_cli::report_error(&chronik_cli::error_line(e.as_ref()));
            EXIT_ERROR
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
