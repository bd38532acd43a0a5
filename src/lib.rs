//! healthcheck: run every check once, decide, report, exit with a Nagios
//! status code. Data flows one way:
//! config -> runner (checks) -> decide (pure) -> state / report -> exit code.

pub mod act; // restarts and recovery commands
pub mod check; // one file per check type behind the `Probe` trait
pub mod cli; // the command line
pub mod commands; // validate, init, completions
pub mod config; // TOML -> validated Config; secrets
pub mod decide; // the rules, pure
pub mod manage; // history, reset, silence, unsilence
pub mod notify; // alert digests, channels, delivery
pub mod out; // stdout that a closed pipe ends quietly
pub mod ping; // the dead man's switch
pub mod proc; // child processes (own process group or Job object, timeout), the process table
pub mod report; // text, JSON, Nagios
pub mod run; // the `run` pipeline
pub mod runner; // threads, timeouts, deadline
pub mod schedule; // time windows: `when`, quiet hours
pub mod state; // state.json, lock, atomic save
pub mod status; // Status, worst-of, exit codes

use cli::{Cli, Command};

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let log = Log {
        verbosity: cli.verbose,
    };
    let code = match &cli.command {
        None => run::run(&cli, &cli.run, &log),
        Some(Command::Run(args)) => run::run(&cli, args, &log),
        Some(Command::Validate) => commands::validate(&cli),
        Some(Command::Init(args)) => commands::init(args),
        Some(Command::Completions { shell }) => commands::completions(*shell),
        Some(Command::History) => manage::history(&cli),
        Some(Command::TestAlert { channel }) => commands::test_alert(&cli, channel.as_deref()),
        Some(Command::Reset(target)) => manage::reset(&cli, target),
        Some(Command::Silence(args)) => manage::silence(&cli, args),
        Some(Command::Unsilence(target)) => manage::unsilence(&cli, target),
    };
    out::exit_code(code)
}

/// `-v` logging to stderr, redacted like everything else.
pub struct Log {
    pub verbosity: u8,
}

impl Log {
    pub fn info(&self, message: impl AsRef<str>) {
        if self.verbosity >= 1 {
            eprintln!("healthcheck: {}", config::secret::redact(message.as_ref()));
        }
    }
}
