//! The command line (SPEC 2). The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run every check once, restart what must be restarted, alert, report and
/// exit with a Nagios status code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
#[derive(Parser, Debug)]
#[command(name = "healthcheck", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,

    /// Config file (else $HEALTHCHECK_CONFIG, ./healthcheck.toml, the XDG config dir, /etc/healthcheck/)
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What stdout carries
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// More detail on stderr (repeatable)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run all checks once (the default command)
    #[command(alias = "check")]
    Run(RunArgs),
    /// Parse and validate the config; print every error; run nothing
    Validate,
    /// Write a commented starter config
    Init(InitArgs),
    /// Restart history, budgets, check states and silences
    History,
    /// Clear a service's restart history and suspension
    Reset(TargetArgs),
    /// Mute alerts and restarts for a check (or all) for a while
    Silence(SilenceArgs),
    /// Remove a silence
    Unsilence(TargetArgs),
    /// Send a test message through each alert channel (or one)
    TestAlert {
        /// Only this channel (its `name`)
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug, Default, Clone)]
pub struct RunArgs {
    /// Diagnose only: no restarts, no recovery commands
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

/// A name, or `--all`.
#[derive(Args, Debug)]
pub struct TargetArgs {
    /// The service (reset) or check (unsilence)
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// All of them
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct SilenceArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long: "2h", "30m"
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: String,
    /// Why, shown in history
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Nagios,
}
