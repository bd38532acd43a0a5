//! The compiled config the rest of the program reads: each table checked,
//! parsed and resolved by the loader (`config`), held here as plain data
//! with small accessors. The traits a spec holds (a check's `Probe`, an
//! alert's `Channel`) are defined here too, so that what reads a spec
//! never depends on what builds it.

pub mod alert;
pub mod channel;
pub mod escalate;
pub mod page;
pub mod ping;
pub mod probe;
pub mod service;
pub mod summary;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{Status, Thresholds};
use crate::schedule::Schedule;
use alert::{AlertSpec, Alerting};
use escalate::Recovery;
use page::PageSpec;
use ping::PingSpec;
use probe::Probe;
pub use service::{Manager, ServiceSpec, WhenStopped};
use summary::SummarySpec;

/// A validated config, ready to run.
pub struct Config {
    /// Where it came from: a path, or "(embedded default)".
    pub origin: String,
    pub settings: Settings,
    pub services: Vec<ServiceSpec>,
    pub checks: Vec<CheckSpec>,
    pub alerting: Alerting,
    pub alerts: Vec<AlertSpec>,
    pub schedules: Vec<Schedule>,
    /// The dead man's switch, if any.
    pub ping: Option<PingSpec>,
    /// `[summary]`: the daily digest, if any.
    pub summary: Option<SummarySpec>,
    /// `[page]`: the status page, if any.
    pub page: Option<PageSpec>,
    /// Allowed but worth saying: `validate` and `-v` show them.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|s| s.name == name)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }
    pub fn check(&self, name: &str) -> Option<&CheckSpec> {
        self.checks.iter().find(|c| c.name == name)
    }
}

pub struct Settings {
    pub state_dir: PathBuf,
    pub timeout: Duration,
    pub deadline: Duration,
    pub hostname: String,
    pub reports: usize,
    pub expected_interval: Option<Duration>,
    /// Where to write the node_exporter textfile, if anywhere.
    pub prometheus_file: Option<PathBuf>,
    /// argv prefixes of the service managers' command lines.
    pub systemctl: Vec<String>,
    pub docker: Vec<String>,
    pub compose: Vec<String>,
    /// `sc.exe`, for `windows_service` checks and restarts.
    pub sc: Vec<String>,
    /// argv prefix of `journalctl` (the `journal` source of log and file checks).
    pub journalctl: Vec<String>,
}

/// One check, compiled.
pub struct CheckSpec {
    pub name: String,
    pub kind: &'static str,
    pub timeout: Duration,
    /// The status when the target does not answer within `timeout`.
    pub on_timeout: Status,
    /// Consecutive non-OK runs before a problem counts as confirmed.
    pub after: u32,
    pub hint: Option<String>,
    /// `severity = "warning"` caps the status at WARNING.
    pub cap: Option<Status>,
    /// The reading the thresholds judge, and the thresholds.
    pub judged: Option<String>,
    pub thresholds: Thresholds,
    /// The service to restart when this check is confirmed CRITICAL.
    pub restart: Option<String>,
    /// That service says `when_stopped = "leave"`: a target stopped on
    /// purpose is a WARNING, not restarted.
    pub leave_stopped: bool,
    /// A recovery command run when this check is confirmed CRITICAL.
    pub run: Option<Vec<String>>,
    /// Its `escalate` ladder, where its commands run, and their budget.
    pub recovery: Recovery,
    /// Checks whose trouble holds this check's actions back.
    pub depends_on: Vec<String>,
    /// A schedule: outside it the check is skipped.
    pub when: Option<String>,
    /// Shown on the status page (`page = false` leaves it off).
    pub on_page: bool,
    pub probe: Arc<dyn Probe>,
}

/// "no [[service]] named `bot` (services: a, b)", or "(there are none)".
pub fn no_such_service(name: &str, services: &[ServiceSpec]) -> String {
    let known: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    if known.is_empty() {
        format!("no [[service]] named `{name}` (there are none)")
    } else {
        format!(
            "no [[service]] named `{name}` (services: {})",
            known.join(", ")
        )
    }
}

/// Configs built in code for the rule tests; last in the file, so that
/// the architecture test reads every line above it.
#[cfg(test)]
mod testing;
