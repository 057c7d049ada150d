//! Layered settings for the long-running binaries: command-line flag > `CHRONIK_*` variable >
//! `--config FILE` (TOML) > built-in default.
//!
//! The file's keys are the long flag names (`listen = "0.0.0.0:9092"`, `fsync = "interval=5"`,
//! `auto-create-topics = false`; `snake_case` works too). A value in the file applies only where
//! neither the command line nor a variable set one. [`parse`] does the layering for any clap
//! command whose (sub)command has a `--config` flag; [`Layered::settings`] says where every
//! effective value came from, for `config show`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

use crate::{EXIT_ERROR, OutputFormat};

/// Flags that never come from the file.
const NOT_FROM_FILE: &[&str] = &["config", "help", "version", "output"];

/// Why the settings could not be assembled. Every message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Bad flags, or `--help`/`--version` (clap prints those and picks the exit code).
    #[error(transparent)]
    Usage(#[from] clap::Error),
    #[error("cannot read the config file {}: {source}; check the path given to --config", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not valid TOML: {message}; fix the file", path.display())]
    Toml { path: PathBuf, message: String },
    #[error("{}: unknown setting '{key}'; settings are the long flag names: {known}", path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        known: String,
    },
    #[error("{}: '{key}' cannot be a {kind}; give a string, number, boolean or array of strings", path.display())]
    BadType {
        path: PathBuf,
        key: String,
        kind: &'static str,
    },
    #[error("{}: bad value for '{key}': {message}", path.display())]
    BadValue {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// Prints the error and exits: clap's own exit code for usage errors and `--help` (0),
    /// 2 for everything else.
    pub fn exit(self) -> ! {
        match self {
            ConfigError::Usage(e) => e.exit(),
            other => {
                eprintln!("error: {other}");
                std::process::exit(EXIT_ERROR)
            }
        }
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::File => "file",
            Source::Default => "default",
        })
    }
}

/// One effective setting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// The long flag name, which is also the file's key.
    pub key: String,
    /// `None` when the setting is unset and has no default.
    pub value: Option<String>,
    pub source: Source,
    /// The `CHRONIK_*` variable that sets it, if any.
    pub env: Option<String>,
}

/// Parsed arguments with the config file's values layered in.
#[derive(Debug)]
pub struct Layered {
    pub matches: ArgMatches,
    /// The `--config` file, if one was given.
    pub file: Option<PathBuf>,
    /// Ids of the arguments whose value came from the file.
    from_file: BTreeSet<String>,
}

/// Parses `argv` against `command`, adding the `--config` file's settings (of the subcommand
/// that was invoked) for whatever the flags and environment left at the default.
pub fn parse(mut command: Command, mut argv: Vec<OsString>) -> Result<Layered, ConfigError> {
    command.build();
    // The first pass must not insist on required flags: the file may supply them.
    let relaxed = relax(command.clone());
    let first = match relaxed.try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(_) => command.clone().try_get_matches_from(&argv)?,
    };
    let (leaf_cmd, leaf) = leaf(&command, &first);
    let mut from_file = BTreeSet::new();
    let file = leaf_cmd
        .get_arguments()
        .any(|a| a.get_id() == "config")
        .then(|| leaf.get_one::<PathBuf>("config").cloned())
        .flatten();
    if let Some(path) = &file {
        argv.extend(args_from_file(path, leaf, leaf_cmd, &mut from_file)?);
    }
    let matches = command
        .clone()
        .try_get_matches_from(&argv)
        .map_err(|e| match bad_file_value(&e, &command, &first, &from_file) {
            Some((key, message)) => ConfigError::BadValue {
                path: file.clone().unwrap_or_default(),
                key,
                message,
            },
            None => ConfigError::Usage(e),
        })?;
    Ok(Layered {
        matches,
        file,
        from_file,
    })
}

impl Layered {
    /// Every setting of the invoked (sub)command, with its effective value and source.
    pub fn settings(&self, command: &Command) -> Vec<Setting> {
        let mut command = command.clone();
        command.build();
        let (leaf_cmd, leaf) = leaf(&command, &self.matches);
        settable(leaf_cmd)
            .map(|arg| {
                let id = arg.get_id().as_str();
                let value = leaf.get_raw(id).map(|values| {
                    values
                        .map(|v| v.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(",")
                });
                let source = match leaf.value_source(id) {
                    Some(ValueSource::CommandLine) if self.from_file.contains(id) => Source::File,
                    Some(ValueSource::CommandLine) => Source::Flag,
                    Some(ValueSource::EnvVariable) => Source::Env,
                    _ => Source::Default,
                };
                Setting {
                    key: arg.get_long().unwrap_or(id).to_owned(),
                    value,
                    source,
                    env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                }
            })
            .collect()
    }
}

/// Prints `settings` as a table or one JSON document (`{"config_file": .., "settings": [..]}`).
pub fn print_settings(
    file: Option<&Path>,
    settings: &[Setting],
    format: OutputFormat,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => crate::print_json(&serde_json::json!({
            "config_file": file.map(|f| f.display().to_string()),
            "settings": settings,
        })),
        OutputFormat::Table => {
            use std::io::Write as _;
            let mut table = crate::table(["setting", "value", "source", "variable"]);
            for s in settings {
                table.add_row(vec![
                    s.key.clone(),
                    s.value.clone().unwrap_or_else(|| "(unset)".into()),
                    s.source.to_string(),
                    s.env.clone().unwrap_or_default(),
                ]);
            }
            let mut out = std::io::stdout().lock();
            match file {
                Some(f) => writeln!(out, "config file: {}", f.display())?,
                None => writeln!(out, "config file: none (pass --config FILE)")?,
            }
            writeln!(out, "{table}")?;
            out.flush()
        }
    }
}

/// The arguments a file may set: those with a long name, minus `NOT_FROM_FILE`.
fn settable(command: &Command) -> impl Iterator<Item = &clap::Arg> {
    command
        .get_arguments()
        .filter(|a| a.get_long().is_some() && !NOT_FROM_FILE.contains(&a.get_id().as_str()))
}

fn relax(command: Command) -> Command {
    command
        .mut_args(|a| a.required(false))
        .mut_subcommands(relax)
}

/// The invoked subcommand (deepest) and its matches.
fn leaf<'a>(command: &'a Command, matches: &'a ArgMatches) -> (&'a Command, &'a ArgMatches) {
    match matches.subcommand() {
        Some((name, sub)) => match command.find_subcommand(name) {
            Some(cmd) => leaf(cmd, sub),
            None => (command, matches),
        },
        None => (command, matches),
    }
}

/// The command-line arguments (`--flag=value`) the file contributes, given the matches of
/// the arguments and environment alone; records the ids it sets in `from_file`.
fn args_from_file(
    path: &Path,
    matches: &ArgMatches,
    command: &Command,
    from_file: &mut BTreeSet<String>,
) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Toml {
            path: path.to_owned(),
            message: e.to_string().trim().to_owned(),
        })?;
    let mut args = Vec::new();
    for (key, value) in table {
        let flag = key.replace('_', "-");
        let Some(arg) = settable(command).find(|a| a.get_long() == Some(flag.as_str())) else {
            return Err(ConfigError::UnknownKey {
                path: path.to_owned(),
                known: (settable(command).filter_map(|a| a.get_long()))
                    .collect::<Vec<_>>()
                    .join(", "),
                key,
            });
        };
        let id = arg.get_id().as_str();
        if !matches!(
            matches.value_source(id),
            Some(ValueSource::DefaultValue) | None
        ) {
            continue;
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => (items.iter())
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(ConfigError::BadType {
                    path: path.to_owned(),
                    key,
                    kind: other.type_str(),
                });
            }
        };
        from_file.insert(id.to_owned());
        if arg.get_action().takes_values() {
            args.push(OsString::from(format!("--{flag}={text}")));
        } else if text == "true" {
            args.push(OsString::from(format!("--{flag}")));
        } else if text != "false" {
            return Err(ConfigError::BadValue {
                path: path.to_owned(),
                key,
                message: format!("expected true or false, got '{text}'"),
            });
        }
    }
    Ok(args)
}

/// When the second parse failed on a value the file supplied: that key and clap's message.
fn bad_file_value(
    error: &clap::Error,
    command: &Command,
    first: &ArgMatches,
    from_file: &BTreeSet<String>,
) -> Option<(String, String)> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(invalid)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let (leaf_cmd, _) = leaf(command, first);
    let arg = settable(leaf_cmd).find(|a| {
        let long = format!("--{}", a.get_long().unwrap_or_default());
        invalid == &long
            || invalid.starts_with(&format!("{long} "))
            || invalid.starts_with(&format!("{long}="))
    })?;
    if !from_file.contains(arg.get_id().as_str()) {
        return None;
    }
    let message = error.to_string();
    let message = message.lines().next().unwrap_or_default();
    let message = message.trim_start_matches("error: ").to_owned();
    Some((arg.get_long().unwrap_or_default().to_owned(), message))
}

#[cfg(test)]
#[path = "config_file_tests.rs"]
mod tests;
