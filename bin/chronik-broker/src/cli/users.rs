//! `chronik-broker users ...`: the SCRAM users of a stopped broker's embedded metadata.

use std::path::PathBuf;

use chronik_auth::ScramMechanism;
use chronik_auth::scram::{DEFAULT_ITERATIONS, MAX_ITERATIONS, MIN_ITERATIONS};
use chronik_cli::OutputFormat;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Set a user's SCRAM credential, replacing the one it has for the same mechanism. The
    /// password is read from stdin (one line); only a random salt and the keys SCRAM derives
    /// from it are stored.
    #[command(
        after_help = "Examples:\n  printf '%s\\n' \"$ADMIN_PASSWORD\" | chronik-broker users add admin \\\n    \
        --mechanism SCRAM-SHA-512 --password-stdin --data-dir /var/lib/chronik"
    )]
    Add(UserAddArgs),
    /// Delete a user's SCRAM credential for one mechanism.
    Delete(UserDeleteArgs),
    /// List the users with their mechanisms and iteration counts (never salts or keys).
    List(DataDirArgs),
}

/// Where the broker's data is; the broker must be stopped (it locks the dir).
#[derive(Args, Debug)]
pub struct DataDirArgs {
    /// The broker's data dir (its embedded metadata lives in DATA_DIR/meta).
    #[arg(long, env = "CHRONIK_DATA_DIR", default_value = "./chronik-data")]
    pub data_dir: PathBuf,
    /// The broker id, used only when the data dir holds no metadata yet (as `run --id`).
    #[arg(long, env = "CHRONIK_ID", default_value_t = 1)]
    pub id: i32,
    /// How to print results.
    #[arg(long, env = "CHRONIK_OUTPUT", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct UserAddArgs {
    /// The user name (1 to 256 bytes).
    pub name: String,
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    #[arg(long, value_parser = parse_mechanism)]
    pub mechanism: ScramMechanism,
    /// Read the password from stdin: one line, its trailing newline removed. Required: the
    /// password is never taken from an argument, which other users could see.
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// PBKDF2 iterations.
    #[arg(
        long,
        default_value_t = DEFAULT_ITERATIONS,
        value_parser = clap::value_parser!(u32).range(i64::from(MIN_ITERATIONS)..=i64::from(MAX_ITERATIONS))
    )]
    pub iterations: u32,
    #[command(flatten)]
    pub dir: DataDirArgs,
}

#[derive(Args, Debug)]
pub struct UserDeleteArgs {
    /// The user name.
    pub name: String,
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    #[arg(long, value_parser = parse_mechanism)]
    pub mechanism: ScramMechanism,
    #[command(flatten)]
    pub dir: DataDirArgs,
}

/// A SCRAM mechanism by its SASL name.
pub fn parse_mechanism(name: &str) -> Result<ScramMechanism, String> {
    ScramMechanism::from_name(name).ok_or_else(|| {
        format!("unknown SCRAM mechanism '{name}': use SCRAM-SHA-256 or SCRAM-SHA-512")
    })
}
