//! The adapter between the process and the library: parse arguments, run,
//! and turn every ending into a Nagios exit code. Usage errors and panics
//! exit 3 (UNKNOWN), not clap's 2 or Rust's 101.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use healthcheck::model::Exit;

fn main() -> ExitCode {
    // Two rustls crypto providers are linked (ring, and aws-lc through
    // tiberius); with no process default the first TLS connection panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match healthcheck::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let exit = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::OK,
                _ => Exit::UNKNOWN,
            };
            return exit.into();
        }
    };
    match std::panic::catch_unwind(|| healthcheck::run(cli)) {
        Ok(exit) => exit.into(),
        Err(_) => Exit::UNKNOWN.into(),
    }
}
