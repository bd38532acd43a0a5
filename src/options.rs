//! The command line and the environment, read once into what the commands
//! need (ripgrep's low-level args -> high-level args): where the config
//! comes from and the one path that loads it, what stdout carries, and for
//! a run what it may do (write state, restart, send alerts). No command
//! looks at the parsed `Cli` itself.

use std::path::PathBuf;

use crate::Log;
use crate::cli::{Cli, Format, RunArgs};
use crate::config::{self, Needs};
use crate::decide::Mode;
use crate::model::Exit;
use crate::spec::Config;
use crate::vocab::ConfigErrors;

/// What every command shares.
pub struct Options {
    /// `-c FILE`; else discovery ($HEALTHCHECK_CONFIG, ./healthcheck.toml, ...).
    pub config: Option<PathBuf>,
    pub format: Format,
    pub log: Log,
}

/// A config that loaded, and the file it came from (none: the embedded default).
pub struct Loaded {
    pub config: Config,
    pub path: Option<PathBuf>,
}

/// A config file that did not load.
pub struct Invalid {
    pub path: PathBuf,
    pub errors: ConfigErrors,
}

impl Invalid {
    /// Print every error, then `summary` if any, on stderr; the exit code (3).
    pub fn print(&self, summary: Option<String>) -> Exit {
        eprintln!("{}", self.errors);
        if let Some(line) = summary {
            eprintln!("{line}");
        }
        Exit::UNKNOWN
    }
}

impl Options {
    /// The options before the subcommand, and those after it (which win).
    pub fn new(cli: &Cli) -> Options {
        let common = match cli.command.as_ref().and_then(|c| c.common()) {
            Some(after) => cli.common.and(&after),
            None => cli.common.clone(),
        };
        Options {
            config: common.config,
            format: common.format.unwrap_or(Format::Text),
            log: Log {
                verbosity: common.verbose,
            },
        }
    }

    /// The config file, or the embedded default when none is found: the
    /// one way every command reads its config, with what it `needs`.
    pub fn load_config(&self, needs: Needs) -> Result<Loaded, Invalid> {
        match config::discover(self.config.as_deref()) {
            Some(path) => match config::load_for(&path, needs) {
                Ok(config) => Ok(Loaded {
                    config,
                    path: Some(path),
                }),
                Err(errors) => Err(Invalid { path, errors }),
            },
            None => Ok(Loaded {
                config: config::embedded(),
                path: None,
            }),
        }
    }
}

/// What one run is asked to do, decided once from its flags.
pub struct RunOptions {
    /// `--only`: the checks to run; all when empty.
    pub only: Vec<String>,
    /// `-q`: text output of problems and actions only.
    pub quiet: bool,
    /// `--dry-run` and `--no-restart` are diagnoses: they read the state
    /// and never write it (nor ping the dead man's switch).
    pub read_only: bool,
    /// Why alerts are decided and reported but not sent; `None`: they are sent.
    /// Alerts need the state to remember what was sent, so the read-only
    /// diagnoses send none.
    pub alerts_held: Option<&'static str>,
    /// What `decide` is told about the run.
    pub mode: Mode,
}

impl RunOptions {
    pub fn new(args: &RunArgs) -> RunOptions {
        let read_only = args.dry_run || args.no_restart;
        let alerts_held = if args.no_alert {
            Some("--no-alert")
        } else if args.dry_run {
            Some("--dry-run")
        } else if args.no_restart {
            Some("--no-restart is a diagnosis")
        } else {
            None
        };
        RunOptions {
            only: args.only.clone(),
            quiet: args.quiet,
            read_only,
            alerts_held,
            mode: Mode {
                all_ran: args.only.is_empty(),
                no_restart: args.no_restart,
                dry_run: args.dry_run,
                no_alert: alerts_held.is_some(),
            },
        }
    }

    pub fn sends_alerts(&self) -> bool {
        self.alerts_held.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut RunArgs)) -> RunOptions {
        let mut a = RunArgs::default();
        f(&mut a);
        RunOptions::new(&a)
    }

    #[test]
    fn a_plain_run_writes_state_and_sends_alerts() {
        let o = args(|_| {});
        assert!(!o.read_only && o.sends_alerts() && o.mode.all_ran);
    }

    #[test]
    fn the_diagnoses_are_read_only_and_send_nothing() {
        for o in [args(|a| a.dry_run = true), args(|a| a.no_restart = true)] {
            assert!(o.read_only);
            assert!(!o.sends_alerts() && o.mode.no_alert);
        }
        assert_eq!(
            args(|a| a.no_restart = true).alerts_held,
            Some("--no-restart is a diagnosis")
        );
    }

    #[test]
    fn no_alert_still_writes_state() {
        let o = args(|a| a.no_alert = true);
        assert!(!o.read_only);
        assert_eq!(o.alerts_held, Some("--no-alert"));
    }

    #[test]
    fn only_means_not_all_ran() {
        assert!(!args(|a| a.only = vec!["x".into()]).mode.all_ran);
    }
}
