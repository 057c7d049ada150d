//! The `chronik-broker` binary's command-line definition, as a library so that the
//! documentation generator (`chronik-docgen`) builds completions, man pages and
//! `docs/configuration.md` from the same clap definitions the binary parses.

pub mod cli;
pub mod remote_args;
pub mod security_args;
