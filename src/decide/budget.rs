//! Budgets: how often an action may happen (a restart per service, a
//! recovery command per check), and why it is held or suspended.

use std::time::Duration;

use super::Mode;
use crate::model::{Decision, Unit};
use crate::schedule::hhmm;
use crate::spec::escalate::RunLimits;

use crate::model::timer::passed;

/// A check's recovery commands (`run`, `escalate` run steps) share one
/// budget: `run_max` per `run_window`, `run_cooldown` apart.
pub(super) fn run_budget(limits: &RunLimits) -> Budget {
    Budget {
        max: limits.max,
        window: limits.window,
        cooldown: limits.cooldown,
        grace: Duration::ZERO,
    }
}

/// How often an action may happen: `max` per sliding `window`, `cooldown`
/// apart, and not within `grace` of the last one.
pub(super) struct Budget {
    pub max: u32,
    pub window: Duration,
    pub cooldown: Duration,
    pub grace: Duration,
}

impl Budget {
    /// The times inside the window; times in the future (a clock stepped
    /// back) count as now, never stretching the window.
    pub fn recent(
        &self,
        history: &[jiff::Timestamp],
        now: jiff::Timestamp,
    ) -> Vec<jiff::Timestamp> {
        history
            .iter()
            .map(|t| (*t).min(now))
            .filter(|t| !passed(self.window, *t, now))
            .collect()
    }

    pub fn used(&self, history: &[jiff::Timestamp], now: jiff::Timestamp) -> u32 {
        self.recent(history, now).len() as u32
    }

    pub fn decide(
        &self,
        history: &[jiff::Timestamp],
        upstream_down: Option<String>,
        reset_at: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
        mode: Mode,
        what: &str,
    ) -> (Decision, String) {
        let recent = self.recent(history, now);
        let window = Unit::Seconds.show(self.window.as_secs_f64());
        let ago = |t: jiff::Timestamp| Unit::Seconds.show(now.duration_since(t).as_secs_f64());
        if recent.len() as u32 >= self.max {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            let until = oldest + self.window;
            return (
                Decision::Suspended,
                format!(
                    "{what} suspended until {}: {} of {} used in the last {window}",
                    hhmm(until),
                    recent.len(),
                    self.max
                ),
            );
        }
        if mode.no_restart {
            return (Decision::Held, format!("{what} held: --no-restart"));
        }
        if let Some(upstream) = upstream_down {
            return (
                Decision::Held,
                format!("{what} held: upstream {upstream} is down"),
            );
        }
        if let Some(reset) = reset_at.map(|t| t.min(now))
            && !passed(self.window, reset, now)
        {
            return (
                Decision::Held,
                format!(
                    "{what} held until {}: the state file was reset at {}",
                    hhmm(reset + self.window),
                    hhmm(reset)
                ),
            );
        }
        if let Some(last) = recent.iter().max().copied() {
            if !passed(self.grace, last, now) {
                return (
                    Decision::Held,
                    format!("{what} held: in grace, the last one was {} ago", ago(last)),
                );
            }
            if !passed(self.cooldown, last, now) {
                return (
                    Decision::Held,
                    format!(
                        "{what} held: cooling down, the last one was {} ago",
                        ago(last)
                    ),
                );
            }
        }
        let count = format!("{} of {} in the last {window}", recent.len() + 1, self.max);
        if mode.dry_run {
            (Decision::DryRun, format!("would {what} ({count})"))
        } else {
            (Decision::Go, format!("{what} ({count})"))
        }
    }
}
