//! The adapter between the process and the library: parse arguments, run,
//! and turn every ending into a Nagios exit code. Usage errors and panics
//! exit 3 (UNKNOWN), not clap's 2 or Rust's 101.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    // A run's threads live for milliseconds and allocate little: one malloc
    // arena for all of them spares each its own (a 64 MiB mapping, its
    // mprotect calls and first-touch page faults; benches/README.md).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of glibc's allocator, before any
    // thread is started.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    // SAFETY: no thread runs yet and SQLite has not been used.
    unsafe {
        healthcheck::check::sql::lean_sqlite_start();
    }
    // Two rustls crypto providers are linked (ring, and aws-lc through
    // tiberius); with no process default the first TLS connection panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match healthcheck::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => 3,
            };
            return ExitCode::from(code);
        }
    };
    match std::panic::catch_unwind(|| healthcheck::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(_) => ExitCode::from(3),
    }
}
