//! healthcheck: run every check once, decide, report, exit with a Nagios
//! status code. Data flows one way:
//! config -> runner (checks) -> decide (pure) -> state / report -> exit code.

// Unsafe code lives in `sys` only, behind safe functions.
#![deny(unsafe_code)]

pub mod act; // restarts and recovery commands
pub mod check; // one file per check type behind the `Probe` trait
pub mod cli; // the command line
pub mod commands; // validate, init, completions
pub mod config; // the loader: TOML -> the specs, the one module that names every check type and channel
pub mod decide; // the rules, pure
pub mod files; // what a path is before it is trusted
pub mod history; // hourly uptime rollups for 90 days; `healthcheck report`
pub mod http; // sending one HTTP request within a budget: alert channels, the ping
pub mod manage; // history, reset, silence, unsilence
pub mod model; // the shared words: Status, Outcome, Event, Action
pub mod notify; // alert digests, channels, delivery
pub mod options; // the command line and environment, read once
pub mod out; // stdout that a closed pipe ends quietly
pub mod page; // the status page, status.json, badges and feed each run writes
pub mod ping; // the dead man's switch
pub mod proc; // child processes (own process group or Job object, timeout), the process table
pub mod report; // text, JSON, Nagios
pub mod run; // the `run` pipeline
pub mod runner; // threads, timeouts, deadline
pub mod schedule; // time windows: `when`, quiet hours
pub mod secret; // secret values and their redaction
pub mod spec; // the compiled config the rest reads: Config, CheckSpec, AlertSpec, ...
pub mod state; // state.json, lock, atomic save
pub mod status; // `healthcheck status`: the last run's view, from the state
#[allow(unsafe_code)]
pub mod sys; // the operating system, behind safe functions
pub mod vocab; // what every table is read with: Builder, errors, values, platforms

use cli::{Cli, Command};
use model::Exit;

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Exit {
    let opts = options::Options::new(&cli);
    if let Some(command) = cli
        .command
        .as_ref()
        .filter(|c| !matches!(c, Command::Run { .. }))
        && let Some(flag) = cli.run.first_set()
    {
        eprintln!(
            "error: {flag} goes with a run (`healthcheck {flag}` or `healthcheck run {flag}`), not with `{}`",
            command.name()
        );
        return Exit::UNKNOWN;
    }
    let code = match &cli.command {
        None => run::run(&opts, &options::RunOptions::new(&cli.run)),
        Some(Command::Run { args, .. }) => {
            run::run(&opts, &options::RunOptions::new(&cli.run.and(args)))
        }
        Some(Command::Validate(_)) => commands::validate(&opts),
        Some(Command::Init(args)) => commands::init(args),
        Some(Command::Completions { shell }) => commands::completions(*shell),
        Some(Command::Man) => commands::man(),
        Some(Command::History(_)) => manage::history(&opts),
        Some(Command::Status(_)) => status::status(&opts),
        Some(Command::Report(args)) => {
            let format = args.format.unwrap_or(match opts.format {
                cli::Format::Json => cli::ReportFormat::Json,
                cli::Format::Text | cli::Format::Nagios => cli::ReportFormat::Text,
            });
            history::report::command(&opts, &args.since, format)
        }
        Some(Command::TestAlert { channel, .. }) => commands::test_alert(&opts, channel.as_deref()),
        Some(Command::Reset { target, .. }) => manage::reset(&opts, target.name.as_deref()),
        Some(Command::Silence(args)) => manage::silence(&opts, args),
        Some(Command::Unsilence { target, .. }) => manage::unsilence(&opts, target.name.as_deref()),
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
            eprintln!("healthcheck: {}", crate::secret::redact(message.as_ref()));
        }
    }
}
