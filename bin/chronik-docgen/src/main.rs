//! `chronik-docgen`: regenerates completions/, man/ and docs/configuration.md from the
//! binaries' clap definitions, or with `--check` exits 1 when the checked-in files are stale.
//!
//! Usage: `cargo run -p chronik-docgen [-- [--check] [ROOT]]` (ROOT: the workspace root).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!(
                    "Regenerates completions/, man/ and docs/configuration.md from the clap \
                     definitions.\n\nUsage: chronik-docgen [--check] [ROOT]\n\n  --check  \
                     change nothing; exit 1 when a generated file is stale\n  ROOT     the \
                     workspace root (default: this source tree)"
                );
                return ExitCode::SUCCESS;
            }
            other if other.starts_with('-') => {
                eprintln!("error: unknown option '{other}'; see --help");
                return ExitCode::from(2);
            }
            other => root = PathBuf::from(other),
        }
    }
    let outcome = if check {
        chronik_docgen::stale(&root).map(|stale| {
            if stale.is_empty() {
                println!("generated files are up to date");
                ExitCode::SUCCESS
            } else {
                for path in stale {
                    eprintln!("stale: {}", path.display());
                }
                eprintln!("run `cargo run -p chronik-docgen` and commit the result");
                ExitCode::from(1)
            }
        })
    } else {
        chronik_docgen::write(&root).map(|written| {
            println!("wrote {} files under {}", written.len(), root.display());
            ExitCode::SUCCESS
        })
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}
