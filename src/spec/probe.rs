//! What a check is to the rest of the program: a probe that looks at one
//! thing once and returns an `Outcome`, and what it may know of the run.

use std::time::{Duration, Instant};

use crate::model::{Outcome, Status};

/// Looks at one thing once. Runs on a thread of the runner's; must not block past
/// `ctx.deadline` where it can avoid it (the runner abandons it then).
pub trait Probe: Send + Sync {
    fn probe(&self, ctx: &ProbeContext) -> anyhow::Result<Outcome>;

    /// What `validate` can learn beyond the config's text, only reading
    /// (a SQLite query that would write): the problem, if any.
    fn validate(&self) -> Option<String> {
        None
    }

    /// Whether the probe only asks the kernel for its own counters (memory,
    /// CPU), which answers at once whatever state the machine is in: such
    /// a probe runs on the run's own thread and spares a thread of its own.
    /// Anything that touches a file system, a process or the network can
    /// hang, and runs on a thread of the runner's under its timeout.
    fn cannot_hang(&self) -> bool {
        false
    }

    /// The unit, container or process this check looks at, where a
    /// service's manager can restart it: after such a restart the check is
    /// run again, whichever service it asks to restart, so that it does not
    /// report the instance that was replaced.
    fn watches(&self) -> Option<Watched> {
        None
    }

    /// What the probe waits on, as configured ("GET http://host/health",
    /// "127.0.0.1:8080"), for the message of a check that timed out.
    fn target(&self) -> Option<String> {
        None
    }

    /// The status of a check whose target did not answer within its
    /// timeout, unless the check says (`on_timeout`): UNKNOWN, as a plugin
    /// that outlives its timeout is; network checks say CRITICAL (the
    /// target was asked and gave no answer).
    fn on_timeout(&self) -> Status {
        Status::Unknown
    }
}

/// Something a check looks at and a service's manager restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// A systemd unit, by name.
    Unit(String),
    /// A container, by name.
    Container(String),
    /// Processes, by the pattern their command line matches.
    Process(String),
}

/// What a probe gets to know about the run.
pub struct ProbeContext {
    /// Wall clock of the run's start.
    pub now: jiff::Timestamp,
    /// When this probe's time is up (its timeout, or the run's deadline if sooner).
    pub deadline: Instant,
    /// What this check remembered from its previous run (counters, samples).
    pub memory: Option<serde_json::Value>,
    /// The process table's scan, shared by the run's checks.
    pub processes: std::sync::Arc<crate::proc::table::Scan>,
}

impl ProbeContext {
    /// Time left before `deadline`, at least one millisecond.
    pub fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }
}
