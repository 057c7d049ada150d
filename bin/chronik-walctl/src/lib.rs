//! The `chronik-walctl` binary's command-line definition, as a library so that the
//! documentation generator (`chronik-docgen`) builds completions and man pages from the same
//! clap definitions the binary parses.

pub mod cli;
