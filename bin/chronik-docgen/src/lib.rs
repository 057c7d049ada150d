//! Generates the files derived from the binaries' clap definitions:
//!
//! - `completions/`: bash (`NAME.bash`), zsh (`_NAME`) and fish (`NAME.fish`) completions;
//! - `man/`: `NAME.1` per binary, holding every subcommand too, plus `NAME-SUB.1` per subcommand
//!   (the pages the SUBCOMMANDS section refers to);
//! - `docs/configuration.md`: every setting of `chronik-broker` and `chronik-meta run`.
//!
//! `cargo run -p chronik-docgen` rewrites them; `cargo run -p chronik-docgen -- --check` (and
//! `cargo test -p chronik-docgen`) fails when the checked-in files are stale.

mod configuration;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Command, CommandFactory};
use clap_complete::Shell;

/// The directories docgen owns entirely: a file there that it does not generate is stale.
pub const OWNED_DIRS: &[&str] = &["completions", "man"];

/// The command-line definition of every binary whose docs are generated.
pub fn commands() -> Vec<Command> {
    vec![
        chronik_broker_bin::cli::Cli::command(),
        chronik_meta::cli::Cli::command(),
        chronik_walctl::cli::Cli::command(),
        chronik_bench::Cli::command(),
    ]
}

/// Every generated file: path relative to the workspace root, and contents.
pub fn generate() -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for command in commands() {
        // Never bake the generating shell's CHRONIK_* values into the output.
        let base = hide_env_values(command);
        let mut command = base.clone();
        command.build();
        let name = command.get_name().to_owned();
        for (shell, file) in [
            (Shell::Bash, format!("{name}.bash")),
            (Shell::Zsh, format!("_{name}")),
            (Shell::Fish, format!("{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command.clone(), &name, &mut out);
            files.insert(Path::new("completions").join(file), out);
        }
        let mut pages = no_help_subcommand(base);
        pages.build();
        man_pages(&pages, &mut files)?;
    }
    let commands: Vec<Command> = commands().into_iter().map(hide_env_values).collect();
    files.insert(
        PathBuf::from("docs/configuration.md"),
        configuration::render(&commands).into_bytes(),
    );
    Ok(files)
}

/// Writes every generated file under `root`; returns the paths written.
pub fn write(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files = generate()?;
    for dir in OWNED_DIRS {
        let dir = root.join(dir);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
    }
    let mut written = Vec::new();
    for (path, contents) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The generated files that differ from, are missing from, or are extra in `root`.
pub fn stale(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files = generate()?;
    let mut stale: Vec<PathBuf> = (files.iter())
        .filter(|(path, contents)| std::fs::read(root.join(path)).ok().as_ref() != Some(contents))
        .map(|(path, _)| path.clone())
        .collect();
    for dir in OWNED_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let entry =
                entry.with_context(|| format!("cannot list {}", root.join(dir).display()))?;
            let path = Path::new(dir).join(entry.file_name());
            if !files.contains_key(&path) {
                stale.push(path);
            }
        }
    }
    stale.sort();
    Ok(stale)
}

/// Man pages describe `--help`; a `help` subcommand page per level would be noise.
fn no_help_subcommand(command: Command) -> Command {
    command
        .disable_help_subcommand(true)
        .mut_subcommands(no_help_subcommand)
}

fn hide_env_values(command: Command) -> Command {
    command
        .mut_args(|a| a.hide_env_values(true))
        .mut_subcommands(hide_env_values)
}

/// `NAME.1` with every subcommand appended, and `NAME-SUB.1` per subcommand.
fn man_pages(command: &Command, files: &mut BTreeMap<PathBuf, Vec<u8>>) -> anyhow::Result<()> {
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render(&mut page).context("cannot render a man page")?;
    append_subcommands(command, &mut page)?;
    files.insert(Path::new("man").join(man.get_filename()), page);
    separate_pages(command, files)
}

fn visible(command: &Command) -> impl Iterator<Item = &Command> {
    command.get_subcommands().filter(|s| !s.is_hide_set())
}

/// One `.SH` section per subcommand (recursively): description, synopsis and options.
fn append_subcommands(command: &Command, page: &mut Vec<u8>) -> anyhow::Result<()> {
    for sub in visible(command) {
        let full = sub.get_bin_name().unwrap_or(sub.get_name()).to_owned();
        page.extend_from_slice(format!(".SH \"{}\"\n", full.to_uppercase()).as_bytes());
        let man = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_description_section(&mut part)?;
        man.render_synopsis_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut part)?;
        }
        let part = String::from_utf8_lossy(&part)
            .lines()
            // Nested under the subcommand's own section header.
            .filter(|l| !l.starts_with(".SH DESCRIPTION"))
            .map(|l| match l.strip_prefix(".SH ") {
                Some(rest) => format!(".SS {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect::<String>();
        page.extend_from_slice(part.as_bytes());
        append_subcommands(sub, page)?;
    }
    Ok(())
}

fn separate_pages(command: &Command, files: &mut BTreeMap<PathBuf, Vec<u8>>) -> anyhow::Result<()> {
    for sub in visible(command) {
        let man = clap_mangen::Man::new(sub.clone());
        let mut page = Vec::new();
        man.render(&mut page).context("cannot render a man page")?;
        files.insert(Path::new("man").join(man.get_filename()), page);
        separate_pages(sub, files)?;
    }
    Ok(())
}
