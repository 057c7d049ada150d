//! Layering of flags, file and defaults (the environment layer is covered by the binaries'
//! tests, which give each child process its own variables).

use std::ffi::OsString;
use std::io::Write as _;

use clap::{Arg, ArgAction, Command};

use super::*;

fn command() -> Command {
    let run = Command::new("run")
        .arg(
            Arg::new("id")
                .long("id")
                .required(true)
                .value_parser(clap::value_parser!(u64)),
        )
        .arg(
            Arg::new("listen")
                .long("listen")
                .default_value("127.0.0.1:1"),
        )
        .arg(Arg::new("peers").long("peers").value_delimiter(','))
        .arg(
            Arg::new("verbose")
                .long("verbose")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_parser(clap::value_parser!(PathBuf)),
        );
    Command::new("tool")
        .arg(
            Arg::new("output")
                .long("output")
                .global(true)
                .default_value("table"),
        )
        .subcommand(run)
        .subcommand(Command::new("other"))
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

fn argv(args: &[&str]) -> Vec<OsString> {
    std::iter::once("tool")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect()
}

fn setting<'a>(settings: &'a [Setting], key: &str) -> &'a Setting {
    settings
        .iter()
        .find(|s| s.key == key)
        .expect("setting listed")
}

#[test]
fn flag_beats_file_beats_default_and_sources_are_named() {
    let f = file("id = 4\nlisten = \"0.0.0.0:9\"\npeers = [\"a:1\", \"b:2\"]\nverbose = true\n");
    let path = f.path().to_str().expect("utf-8");
    let layered = parse(command(), argv(&["run", "--config", path, "--id", "7"])).expect("parse");
    let run = layered.matches.subcommand_matches("run").expect("run");
    assert_eq!(run.get_one::<u64>("id"), Some(&7));
    assert_eq!(
        run.get_one::<String>("listen").map(String::as_str),
        Some("0.0.0.0:9")
    );
    assert!(run.get_flag("verbose"));
    let settings = layered.settings(&command());
    assert_eq!(setting(&settings, "id").source, Source::Flag);
    assert_eq!(setting(&settings, "listen").source, Source::File);
    assert_eq!(
        setting(&settings, "peers").value.as_deref(),
        Some("a:1,b:2")
    );
    assert_eq!(setting(&settings, "peers").source, Source::File);
    assert!(
        settings
            .iter()
            .all(|s| s.key != "config" && s.key != "output")
    );

    let layered = parse(command(), argv(&["run", "--id", "1"])).expect("parse");
    let settings = layered.settings(&command());
    assert_eq!(setting(&settings, "listen").source, Source::Default);
    assert_eq!(setting(&settings, "peers").value, None);
    assert_eq!(layered.file, None);
}

#[test]
fn a_required_flag_may_come_from_the_file() {
    let f = file("id = 3\n");
    let path = f.path().to_str().expect("utf-8");
    let layered = parse(command(), argv(&["run", "--config", path])).expect("parse");
    let run = layered.matches.subcommand_matches("run").expect("run");
    assert_eq!(run.get_one::<u64>("id"), Some(&3));
    // Still required when nobody gives it.
    let err = parse(command(), argv(&["run"])).expect_err("id missing");
    assert!(matches!(err, ConfigError::Usage(_)), "{err}");
}

#[test]
fn errors_name_the_file_and_key() {
    let cases = [
        ("idd = 3\n", "unknown setting 'idd'"),
        ("id = \"three\"\n", "bad value for 'id'"),
        ("id = 1\nverbose = \"maybe\"\n", "bad value for 'verbose'"),
        ("id = 1\nlisten = { a = 1 }\n", "'listen' cannot be a table"),
        ("id = = 1\n", "is not valid TOML"),
    ];
    for (text, expected) in cases {
        let f = file(text);
        let path = f.path().to_str().expect("utf-8");
        let err = parse(command(), argv(&["run", "--config", path])).expect_err(text);
        let message = err.to_string();
        assert!(message.contains(expected), "{text}: {message}");
        assert!(message.contains(path), "{text}: {message}");
    }
    let err = parse(
        command(),
        argv(&["run", "--id", "1", "--config", "/nonexistent/x.toml"]),
    )
    .expect_err("missing file");
    assert!(
        err.to_string().contains("cannot read the config file"),
        "{err}"
    );
}

#[test]
fn commands_without_config_parse_plainly() {
    let layered = parse(command(), argv(&["other"])).expect("parse");
    assert_eq!(layered.matches.subcommand_name(), Some("other"));
    assert!(layered.settings(&command()).is_empty());
}
