//! The rules, as pure functions of the config, this run's outcomes, the
//! previous state and the clock, in families: `judge` (thresholds and the
//! severity cap turn an outcome into a status), `history` (statuses become
//! confirmed problems, recoveries, reminders and flapping notices),
//! `actions`, `ladder` and `budget` (what to restart or run, within its
//! budget, step by step up an `escalate` ladder).
//! Nothing here reads the clock, a file or the network, so every rule is
//! unit-tested with a fixed `now`.

mod actions;
mod budget;
mod history;
mod judge;
mod ladder;
pub mod summary;

use std::collections::HashSet;

use crate::model::{Action, Event, NextStep, Note, Reading, Status, Thresholds, Unit};
use crate::spec::{CheckSpec, Config};
use crate::state::State;
pub use history::{check_events, rejudge, update_check};
pub use judge::judge;

/// A check's outcome after its thresholds and severity cap.
#[derive(Debug, Clone)]
pub struct Judged {
    pub status: Status,
    pub message: String,
    pub readings: Vec<(Reading, Option<Thresholds>)>,
    pub memory: Option<serde_json::Value>,
    /// Stopped on purpose, and its service says to leave it so: no restart.
    pub left_alone: bool,
}

/// Per check: how long its problem has lasted and whether it is confirmed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub consecutive: u32,
    pub confirmed: bool,
}

/// How the run was asked to act.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Every configured check ran (not `--only`): state entries of checks
    /// no longer configured are dropped.
    pub all_ran: bool,
    pub no_restart: bool,
    pub dry_run: bool,
    /// Alerts are decided and reported but not sent: what was announced
    /// stays as it was.
    pub no_alert: bool,
}

/// What the run should do and remember.
#[derive(Debug)]
pub struct Plan {
    pub verdicts: Vec<Verdict>,
    /// Per check that ran: muted by a silence.
    pub silenced: Vec<Option<jiff::Timestamp>>,
    pub actions: Vec<Action>,
    /// What the checks have to tell (problems, reminders, recoveries, flapping).
    pub events: Vec<Event>,
    pub next_state: State,
    pub notes: Vec<Note>,
    /// Per check that ran, under `--dry-run`: its ladder's next step.
    pub next_steps: Vec<Option<NextStep>>,
}

/// Decide from the checks that ran (`ran[i]` judged as `judged[i]`), the
/// previous state and the clock.
pub fn decide(
    config: &Config,
    ran: &[&CheckSpec],
    judged: &[Judged],
    prev: &State,
    now: jiff::Timestamp,
    mode: Mode,
) -> Plan {
    let run = Run {
        config,
        ran,
        judged,
        prev,
        now,
        mode,
    };
    let mut next = prev.clone();
    if mode.all_ran {
        let names: HashSet<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
        next.checks.retain(|name, _| names.contains(name.as_str()));
        next.services
            .retain(|name, _| config.service(name).is_some());
    }
    next.silences.retain(|_, s| s.until > now);
    let mut notes: Vec<Note> = missed_runs(&run).into_iter().collect();
    let looked = history::look(&run, &mut next);
    summary::log(&run, &looked.verdicts, &mut next);
    next.last_run = Some(now);
    let acting = actions::acting(&run, &looked);
    let dues = ladder::due(&run, &acting);
    let (actions, suspended) = actions::decide(&run, &looked, &acting, &dues, &mut next);
    notes.extend(suspended);
    let (told, next_steps) = ladder::tell(&run, &acting, &dues, &actions, &mut next);
    let mut events = looked.events;
    events.extend(told);
    summary::manual(&events, &mut next, now);
    Plan {
        verdicts: looked.verdicts,
        silenced: looked.silenced,
        actions,
        events,
        next_state: next,
        notes,
        next_steps,
    }
}

/// What every rule is decided from.
struct Run<'a, 'c> {
    config: &'c Config,
    ran: &'a [&'c CheckSpec],
    judged: &'a [Judged],
    prev: &'a State,
    now: jiff::Timestamp,
    mode: Mode,
}

/// healthcheck itself did not run for three expected intervals.
fn missed_runs(run: &Run) -> Option<Note> {
    let interval = run.config.settings.expected_interval?;
    let last = run.prev.last_run?.min(run.now);
    let gap = run.now.duration_since(last).unsigned_abs();
    (gap > interval * 3).then(|| {
        Note::new(
            Status::Warning,
            format!(
                "healthcheck did not run for {} (expected every {})",
                Unit::Seconds.show(gap.as_secs_f64()),
                Unit::Seconds.show(interval.as_secs_f64())
            ),
        )
    })
}

#[cfg(test)]
mod ladder_tests;
#[cfg(test)]
mod tests;
