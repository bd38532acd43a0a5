//! A check's recovery, compiled: a recovery command (`run`), a restart
//! (`restart`) or an `escalate` ladder of such steps, each later step
//! `after` the one before; where its commands run and how often. Read by
//! `decide::ladder` and `act`.

use std::path::PathBuf;
use std::time::Duration;

/// Recovery commands' budget per check when the config says nothing: 3
/// per hour, 2 minutes apart.
pub const DEFAULT_RUN_MAX: u32 = 3;
pub const DEFAULT_RUN_WINDOW: Duration = Duration::from_secs(3600);
pub const DEFAULT_RUN_COOLDOWN: Duration = Duration::from_secs(120);

/// A command to run: argv, its working directory and extra environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

/// What one step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepAction {
    Run(Command),
    Restart(String),
}

impl StepAction {
    /// "restart soltrader", "run /opt/bot/recover --soft".
    pub fn describe(&self) -> String {
        match self {
            StepAction::Run(c) => format!("run {}", c.argv.join(" ")),
            StepAction::Restart(s) => format!("restart {s}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: StepAction,
    /// How long after the step before it (zero for the first).
    pub after: Duration,
}

/// How often a check's recovery commands may run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunLimits {
    pub max: u32,
    pub window: Duration,
    pub cooldown: Duration,
}

impl Default for RunLimits {
    fn default() -> RunLimits {
        RunLimits {
            max: DEFAULT_RUN_MAX,
            window: DEFAULT_RUN_WINDOW,
            cooldown: DEFAULT_RUN_COOLDOWN,
        }
    }
}

/// A check's recovery: its ladder (empty without `escalate`), the
/// directory and environment of its commands, and their budget.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recovery {
    pub steps: Vec<Step>,
    /// The check's `cwd` and `env`: its `run`, its `escalate` steps (a
    /// step's own `cwd` replaces it, its `env` adds to it) and a `command`
    /// check's command.
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub limits: RunLimits,
}

impl Recovery {
    /// The check's plain `run`, with the check's directory and environment.
    pub fn command(&self, argv: &[String]) -> Command {
        Command {
            argv: argv.to_vec(),
            cwd: self.cwd.clone(),
            env: self.env.clone(),
        }
    }
}
