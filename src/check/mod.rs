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

use crate::config::RawCheck;

use crate::model::Unit;
use crate::spec::probe::Probe;
use crate::vocab::Builder;

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

/// Build the first check of a config and probe it once (for unit tests).
#[cfg(test)]
pub fn probe_first(toml: &str, timeout: std::time::Duration) -> crate::model::Outcome {
    let config = crate::config::load_str("t.toml", toml).unwrap_or_else(|e| panic!("{e}"));
    let ctx = crate::spec::probe::ProbeContext {
        now: jiff::Timestamp::now(),
        deadline: std::time::Instant::now() + timeout,
        memory: None,
    };
    let outcome = config.checks[0].probe.probe(&ctx).unwrap();
    if outcome.timed_out {
        // As the runner words it.
        return crate::runner::no_answer(&config.checks[0], timeout);
    }
    outcome
}
