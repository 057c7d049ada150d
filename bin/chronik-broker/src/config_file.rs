//! `--config FILE`: a TOML file whose keys are the long flag names (`listen = "0.0.0.0:9092"`,
//! `fsync = "interval=5"`, `auto-create-topics = false`; `snake_case` works too). A value in
//! the file applies only where neither the command line nor a `CHRONIK_*` variable set one.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;

/// Flags that cannot come from the file.
const NOT_FROM_FILE: &[&str] = &["config", "help", "version"];

/// The command-line arguments (`--flag=value`) the file contributes, given the matches of
/// the arguments and environment alone.
pub fn args_from_file(
    path: &Path,
    matches: &ArgMatches,
    command: &clap::Command,
) -> anyhow::Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let known: Vec<String> = (command.get_arguments())
        .filter_map(|a| a.get_long().map(str::to_owned))
        .filter(|long| !NOT_FROM_FILE.contains(&long.as_str()))
        .collect();
    let mut args = Vec::new();
    for (key, value) in table {
        let flag = key.replace('_', "-");
        if !known.contains(&flag) {
            bail!(
                "{}: unknown setting '{key}'; settings are the long flags: {}",
                path.display(),
                known.join(", ")
            );
        }
        let id = flag.replace('-', "_");
        if !matches!(
            matches.value_source(&id),
            Some(ValueSource::DefaultValue) | None
        ) {
            continue;
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => (items.iter())
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            other => bail!(
                "{}: '{key}' cannot be a {}",
                path.display(),
                other.type_str()
            ),
        };
        args.push(OsString::from(format!("--{flag}={value}")));
    }
    Ok(args)
}
