//! The command line. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run every check once, restart what must be restarted, alert, report and
/// exit with a Nagios status code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
#[derive(Parser, Debug)]
#[command(name = "healthcheck", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub common: Common,
}

/// The options of every command that reads a config: before or after the
/// subcommand (`healthcheck -c x.toml history`, `healthcheck history -c x.toml`).
#[derive(Args, Debug, Default, Clone)]
pub struct Common {
    #[cfg_attr(
        not(windows),
        doc = "Config file (else $HEALTHCHECK_CONFIG, ./healthcheck.toml, the XDG config dir, /etc/healthcheck/)"
    )]
    #[cfg_attr(
        windows,
        doc = "Config file (else %HEALTHCHECK_CONFIG%, .\\healthcheck.toml, %ProgramData%\\healthcheck\\)"
    )]
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What stdout carries
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// More detail on stderr (repeatable)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Common {
    /// These options, with those given after the subcommand (`more`) winning.
    pub fn and(&self, more: &Common) -> Common {
        Common {
            config: more.config.clone().or_else(|| self.config.clone()),
            format: more.format.or(self.format),
            verbose: self.verbose.saturating_add(more.verbose),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run all checks once (the default command)
    #[command(alias = "check")]
    Run {
        #[command(flatten)]
        args: RunArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Parse and validate the config; print every error; run nothing
    Validate(Common),
    /// Write a commented starter config
    Init(InitArgs),
    /// Restart history, budgets, check states and silences
    History(Common),
    /// Each check's last status, since when and its message; services and
    /// missed runs; from the state alone (exit code: the worst status)
    Status(Common),
    /// Clear a service's restart history and suspension
    Reset {
        #[command(flatten)]
        target: ServiceTarget,
        #[command(flatten)]
        common: Common,
    },
    /// Uptime per check and per day, incidents, restarts and alerts over a
    /// period, from the history alone
    Report(ReportArgs),
    /// Mute alerts and restarts for a check (or all) for a while
    Silence(SilenceArgs),
    /// Remove a silence
    Unsilence {
        #[command(flatten)]
        target: CheckTarget,
        #[command(flatten)]
        common: Common,
    },
    /// Send a test message through each alert channel (or one)
    TestAlert {
        /// Only this channel (its `name`)
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page healthcheck(1), generated from this command
    /// line (roff, for packages: `healthcheck man > healthcheck.1`)
    #[command(hide = true)]
    Man,
}

#[derive(Args, Debug, Default, Clone)]
pub struct RunArgs {
    /// Diagnose only: no restarts, no recovery commands, no alerts, no state writes
    #[arg(long)]
    pub no_restart: bool,
    /// Send no alerts (they are still decided and reported)
    #[arg(long)]
    pub no_alert: bool,
    /// Neither restarts nor alerts nor state writes; print every decision
    #[arg(long)]
    pub dry_run: bool,
    /// Run only this check (repeatable); the state of other checks is untouched
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Text output: print only problems and actions
    #[arg(short, long)]
    pub quiet: bool,
}

impl RunArgs {
    /// The first flag that is set, as written on the command line.
    pub fn first_set(&self) -> Option<&'static str> {
        [
            (self.no_restart, "--no-restart"),
            (self.no_alert, "--no-alert"),
            (self.dry_run, "--dry-run"),
            (!self.only.is_empty(), "--only"),
            (self.quiet, "--quiet"),
        ]
        .into_iter()
        .find_map(|(set, flag)| set.then_some(flag))
    }

    /// These flags and `more` together (`healthcheck --dry-run run -q`).
    pub fn and(&self, more: &RunArgs) -> RunArgs {
        RunArgs {
            no_restart: self.no_restart || more.no_restart,
            no_alert: self.no_alert || more.no_alert,
            dry_run: self.dry_run || more.dry_run,
            only: self.only.iter().chain(&more.only).cloned().collect(),
            quiet: self.quiet || more.quiet,
        }
    }
}

impl Command {
    /// The name the user typed for it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run { .. } => "run",
            Command::Validate(_) => "validate",
            Command::Init(_) => "init",
            Command::History(_) => "history",
            Command::Status(_) => "status",
            Command::Report(_) => "report",
            Command::Reset { .. } => "reset",
            Command::Silence(_) => "silence",
            Command::Unsilence { .. } => "unsilence",
            Command::TestAlert { .. } => "test-alert",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
        }
    }

    /// The config options given after it, for the commands that read a config.
    pub fn common(&self) -> Option<Common> {
        match self {
            Command::Run { common, .. }
            | Command::Validate(common)
            | Command::History(common)
            | Command::Status(common)
            | Command::Reset { common, .. }
            | Command::Unsilence { common, .. }
            | Command::TestAlert { common, .. } => Some(common.clone()),
            Command::Silence(args) => Some(args.common.clone()),
            Command::Report(args) => Some(Common {
                config: args.common.config.clone(),
                format: None,
                verbose: args.common.verbose,
            }),
            Command::Init(_) | Command::Completions { .. } | Command::Man => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Starter to write: default, python-process, systemd-bot, docker-collector, sql-pipeline or windows-python-bot
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub preset: String,
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
    /// Where to write it
    #[arg(default_value = "healthcheck.toml")]
    pub path: PathBuf,
}

/// A service, or `--all`.
#[derive(Args, Debug)]
pub struct ServiceTarget {
    /// The service (its `name` in [[service]])
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// All services
    #[arg(long)]
    pub all: bool,
}

/// A check, or `--all`.
#[derive(Args, Debug)]
pub struct CheckTarget {
    /// The check (its `name` in [[check]])
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// All checks
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct SilenceArgs {
    #[command(flatten)]
    pub target: CheckTarget,
    /// How long: "2h", "30m"
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: String,
    /// Why, shown in history
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// How far back: "30d", "7d", "24h"
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub since: String,
    /// text, json or csv (one row per check and day); default: text, or
    /// json after a `--format json` given before `report`
    #[arg(
        long = "format",
        id = "report_format",
        value_name = "FORMAT",
        value_enum
    )]
    pub format: Option<ReportFormat>,
    #[command(flatten)]
    pub common: ReportCommon,
}

/// `-c` and `-v` of `report` (its `--format` has a format of its own: csv).
#[derive(Args, Debug, Default, Clone)]
pub struct ReportCommon {
    /// Config file (found as for the other commands when not given)
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More detail on stderr (repeatable)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    Csv,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Nagios,
}
