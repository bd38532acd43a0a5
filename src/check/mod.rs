//! What a check is: a probe that looks at one thing and returns an `Outcome`
//! (a status, a message and named readings). A failing target is data (a
//! CRITICAL outcome); `Err` means the probe itself could not look (UNKNOWN).
//!
//! Adding a check type: write `check/<type>.rs` with a `KIND` (its keys, its
//! readings and a `build` function that turns the raw config into a `Probe`),
//! then list it in `KINDS` below. Nothing else needs to know about it.

pub mod command;
pub mod cpu;
pub mod disk;
pub mod docker;
pub mod file;
pub mod http;
pub mod journal;
pub mod json;
pub mod log;
pub mod memory;
pub mod process;
pub mod sql;
pub mod systemd;
pub mod tcp;
pub mod timestamp;
pub mod tls;
pub mod verifier;
pub mod windows_service;

use std::time::{Duration, Instant};

use crate::config::{Builder, RawCheck};
use crate::model::{Outcome, Status, Unit};

/// Every check type, by its `type = "..."` name.
pub const KINDS: &[&Kind] = &[
    &file::KIND,
    &log::KIND,
    &process::KIND,
    &disk::KIND,
    &memory::KIND,
    &cpu::KIND,
    &http::KIND,
    &tcp::KIND,
    &tls::KIND,
    &command::KIND,
    &systemd::KIND,
    &docker::KIND,
    &sql::KIND,
    &json::KIND,
    &windows_service::KIND,
];

/// For kinds whose judged reading is simply their first.
pub fn by_order(_raw: &RawCheck) -> Option<&str> {
    None
}

pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// A check type: its name, the keys it accepts beyond the common ones, the
/// readings it produces (the first is the one thresholds judge by default)
/// and how to build a probe from a validated raw config.
pub struct Kind {
    pub name: &'static str,
    pub keys: &'static [&'static str],
    /// Empty when the readings are only known at run time (command perfdata).
    pub readings: &'static [(&'static str, Unit)],
    /// The reading the thresholds judge when the check names none, chosen
    /// by the check's mode (`expect = "age"`, `per = "1h"`); `by_order`
    /// leaves it to the order of `readings`.
    pub primary: fn(&RawCheck) -> Option<&str>,
    pub build: fn(&RawCheck, &mut Builder) -> Option<Box<dyn Probe>>,
}

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

/// Build the first check of a config and probe it once (for unit tests).
#[cfg(test)]
pub fn probe_first(toml: &str, timeout: Duration) -> Outcome {
    let config = crate::config::load_str("t.toml", toml).unwrap_or_else(|e| panic!("{e}"));
    let ctx = ProbeContext {
        now: jiff::Timestamp::now(),
        deadline: Instant::now() + timeout,
        memory: None,
        processes: Default::default(),
    };
    let outcome = config.checks[0].probe.probe(&ctx).unwrap();
    if outcome.timed_out {
        // As the runner words it.
        return crate::runner::no_answer(&config.checks[0], timeout);
    }
    outcome
}
